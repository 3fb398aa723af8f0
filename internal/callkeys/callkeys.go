// Package callkeys reads back the keys of a purge call that the fake
// Cloudflare API (cftest) recorded, in the form the intent package
// normalises them to. Tests and cmd/purge-bench use it to ask whether a
// call covered a published key.
package callkeys

import (
	"strings"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

// Of turns a call cftest recorded back into keys in the form intent
// normalises them (the worker sends keys normalised), so that a caller can
// ask whether a call covered an intent's key with [intent.Covers]. Tests
// that judge the worker use testutil's Coverage instead, which shares no
// code with intent. It is not part of cftest, because the fake must not share the code it checks.
func Of(c cftest.Call) []intent.Key {
	var kind intent.Kind
	switch c.Kind {
	case "files":
		kind = intent.KindFile
	case "tags":
		kind = intent.KindTag
	case "hosts":
		kind = intent.KindHost
	case "prefixes":
		kind = intent.KindPrefix
	case "purge_everything":
		return []intent.Key{{Kind: intent.KindEverything}}
	default:
		return nil
	}
	out := make([]intent.Key, 0, len(c.Keys))
	for _, s := range c.Keys {
		k := intent.Key{Kind: kind, Value: s}
		switch kind {
		case intent.KindFile:
			// cftest appends "; "-joined headers after a space; intent
			// joins them with "\n".
			if url, h, ok := strings.Cut(s, " "); ok {
				k.Value, k.Headers = url, strings.ReplaceAll(h, "; ", "\n")
			}
		case intent.KindTag:
			k.Value = strings.ToLower(s)
		}
		out = append(out, k)
	}
	return out
}
