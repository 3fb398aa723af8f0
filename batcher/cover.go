package batcher

import (
	"strings"

	"github.com/purge-worker/purge-worker/intent"
)

// This file holds the Cloudflare coverage rules for the batcher until package
// intent exports its own (intent.Covers, intent.HostOf); there must be one
// implementation in the end, so keep it free of batcher specifics.

// covers reports whether purging broad also purges narrow. Equal keys are
// duplicates, not coverage, so covers(k, k) is false. Coverage is transitive,
// which the batcher relies on when it folds a coverer and everything under it
// into a broader coverer.
func covers(broad, narrow intent.Key) bool {
	if broad == narrow {
		return false
	}
	switch broad.Kind {
	case intent.KindEverything:
		return true
	case intent.KindHost:
		return (narrow.Kind == intent.KindFile || narrow.Kind == intent.KindPrefix) &&
			hostOf(narrow) == broad.Value
	case intent.KindPrefix:
		s, ok := locator(narrow)
		if !ok || !strings.HasPrefix(s, broad.Value) {
			return false
		}
		if len(s) == len(broad.Value) {
			// A file exactly at the prefix is covered; an equal prefix was
			// handled above.
			return narrow.Kind == intent.KindFile
		}
		c := s[len(broad.Value)]
		return c == '/' || c == '?'
	}
	return false
}

// hostOf returns the host (lowercase, without port) a file, prefix or host
// key belongs to, and "" for tags and purge_everything.
func hostOf(k intent.Key) string {
	if k.Kind == intent.KindHost {
		return k.Value
	}
	s, ok := locator(k)
	if !ok {
		return ""
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return stripPort(s)
}

// locator returns the "host/path?query" form that prefixes are matched
// against: a file URL without its scheme, or a prefix as it is.
func locator(k intent.Key) (string, bool) {
	switch k.Kind {
	case intent.KindFile:
		if _, rest, ok := strings.Cut(k.Value, "://"); ok {
			return rest, true
		}
		return k.Value, true
	case intent.KindPrefix:
		return k.Value, true
	}
	return "", false
}

// stripPort removes a trailing ":digits" from a host.
func stripPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return host
	}
	for _, c := range host[i+1:] {
		if c < '0' || c > '9' {
			return host
		}
	}
	return host[:i]
}

// prefixCandidates calls fn with every string a prefix key would have to
// equal to cover k, shortest first, until fn returns true: the locator cut at
// each '/' (and at the first '?', after which nothing can match because
// prefixes carry no query), and, for a file, the whole locator. It costs
// O(path depth) and allocates nothing.
func prefixCandidates(k intent.Key, fn func(p string) bool) {
	s, ok := locator(k)
	if !ok {
		return
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/':
			if fn(s[:i]) {
				return
			}
		case '?':
			fn(s[:i])
			return
		}
	}
	if k.Kind == intent.KindFile {
		fn(s)
	}
}
