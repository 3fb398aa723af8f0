package intent

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Limits of one intent. A publisher with more items must split them over
// several intents (purgectl does); the worker dead-letters bigger ones.
const (
	// MaxBodySize is the largest message body Decode accepts, in bytes;
	// it matches the NATS server's default max_payload.
	MaxBodySize = 1 << 20
	// MaxItems bounds files+tags+hosts+prefixes+purge_everything in one
	// intent, so one message cannot hold more keys than the worker can
	// track cheaply; Decode stops reading at the first item over it.
	MaxItems = 1000
	// MaxIDLength bounds the id, which becomes the Nats-Msg-Id header.
	MaxIDLength = 128
	// MaxSourceLength bounds the free-form source label.
	MaxSourceLength = 128
)

// Intent is the JSON message body: the purge a user would send to
// Cloudflare, plus a zone. See the package documentation for the accepted
// JSON and docs/design.md for the contract.
type Intent struct {
	// Zone is a configured zone name or 32-hex zone id. It may be empty
	// when every item has a hostname; Bind then routes each item to its
	// zone.
	Zone string `json:"zone,omitempty"`
	// Files are URLs to purge, each optionally with the request headers
	// its cache key includes.
	Files []File `json:"files,omitempty"`
	// Tags are Cache-Tag values to purge; they need Zone.
	Tags []string `json:"tags,omitempty"`
	// Hosts are hostnames whose whole cache is purged.
	Hosts []string `json:"hosts,omitempty"`
	// Prefixes are "host/path" URL prefixes to purge.
	Prefixes []string `json:"prefixes,omitempty"`
	// PurgeEverything purges the whole zone; it needs Zone.
	PurgeEverything bool `json:"purge_everything,omitempty"`
	// Mode is "purge" (the default when empty) or "invalidate".
	Mode string `json:"mode,omitempty"`
	// Priority is "high", "normal" (the default when empty) or "low": when
	// the account's rate tokens cannot pay for everything pending, higher
	// priority keys are sent first.
	Priority string `json:"priority,omitempty"`
	// ID identifies the intent; publishers set it as Nats-Msg-Id, so it
	// must be unique per intent, never a hash of the content.
	ID string `json:"id,omitempty"`
	// Source names the publisher, for logs.
	Source string `json:"source,omitempty"`
}

// Items returns the number of items: files, tags, hosts and prefixes, plus
// one for purge_everything.
func (in *Intent) Items() int {
	n := len(in.Files) + len(in.Tags) + len(in.Hosts) + len(in.Prefixes)
	if in.PurgeEverything {
		n++
	}
	return n
}

// UnmarshalJSON decodes one intent with the same strict rules as [Decode],
// so that decoding a JSON array of intents with encoding/json is as strict
// as decoding one. A JSON null leaves the intent unchanged, as encoding/json
// does for other types.
func (in *Intent) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	x, err := Decode(data)
	if err != nil {
		return err
	}
	*in = *x
	return nil
}

// File is one files entry: a URL, optionally with the request headers its
// cache key includes. In JSON it is either a string or an object
// {"url": "...", "headers": {"Name": "value"}}.
type File struct {
	// URL is the absolute http or https URL to purge.
	URL string
	// Headers are the request headers the cached object was stored under;
	// a header left out counts as an empty value to Cloudflare, not as a
	// wildcard.
	Headers map[string]string
}

// fileObject is the object form of a File.
type fileObject struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// MarshalJSON emits the string form when there are no headers and the
// object form otherwise.
func (f File) MarshalJSON() ([]byte, error) {
	if len(f.Headers) == 0 {
		return marshal(f.URL)
	}
	return marshal(fileObject{URL: f.URL, Headers: f.Headers})
}

// UnmarshalJSON accepts the string and the object form, with the same
// strict rules as [Decode]: no unknown or repeated fields, no null url.
func (f *File) UnmarshalJSON(data []byte) error {
	if !utf8.Valid(data) {
		return fieldError("file", "not valid UTF-8")
	}
	d := newDecoder(data)
	t, err := d.token()
	if err != nil {
		return err
	}
	x, err := d.file("file", -1, t)
	if err != nil {
		return err
	}
	*f = x
	return nil
}

// marshal is json.Marshal without HTML escaping: bodies are read by people
// (dead-letter queue, logs), and "&" in a query reads better than "\u0026".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
