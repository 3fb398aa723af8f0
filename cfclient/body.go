package cfclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Mode selects the endpoint a purge goes to.
type Mode uint8

// The modes. ModePurge is the zero value.
const (
	// ModePurge evicts content: POST /zones/{id}/purge_cache.
	ModePurge Mode = iota
	// ModeInvalidate marks content stale so that the next request
	// revalidates it: POST /zones/{id}/invalidate_cache. It takes the same
	// bodies and shares the purge rate limits.
	ModeInvalidate
)

// String returns the endpoint name, "purge_cache" or "invalidate_cache"; it
// is also the metric label value. An undefined Mode is "unknown".
func (m Mode) String() string {
	switch m {
	case ModePurge:
		return "purge_cache"
	case ModeInvalidate:
		return "invalidate_cache"
	}
	return "unknown"
}

// File is one entry of a files purge. Headers holds the request headers
// the object was cached with (custom cache keys, e.g. CF-Device-Type); a
// missing header is an empty value to Cloudflare, not a wildcard.
type File struct {
	URL     string
	Headers map[string]string
}

// Request is one purge body. Exactly one selector must be set: Files,
// Tags, Hosts, Prefixes (non-empty) or Everything. Cloudflare refuses
// bodies that mix them, so [Client.Purge] refuses them before sending.
type Request struct {
	Files      []File
	Tags       []string
	Hosts      []string
	Prefixes   []string
	Everything bool
}

// Len returns the number of keys in r; purge_everything counts as 1.
func (r Request) Len() int {
	n := len(r.Files) + len(r.Tags) + len(r.Hosts) + len(r.Prefixes)
	if r.Everything {
		n++
	}
	return n
}

// Type names the selector r uses: "files", "tags", "hosts", "prefixes" or
// "purge_everything"; "mixed" if it sets several and "empty" if none.
func (r Request) Type() string {
	var set []string
	if len(r.Files) > 0 {
		set = append(set, "files")
	}
	if len(r.Tags) > 0 {
		set = append(set, "tags")
	}
	if len(r.Hosts) > 0 {
		set = append(set, "hosts")
	}
	if len(r.Prefixes) > 0 {
		set = append(set, "prefixes")
	}
	if r.Everything {
		set = append(set, "purge_everything")
	}
	switch len(set) {
	case 0:
		return "empty"
	case 1:
		return set[0]
	}
	return "mixed"
}

// wireBody is the JSON body. Only one field is ever set; omitempty drops
// the others.
type wireBody struct {
	Files      []any    `json:"files,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Hosts      []string `json:"hosts,omitempty"`
	Prefixes   []string `json:"prefixes,omitempty"`
	Everything bool     `json:"purge_everything,omitempty"`
}

// wireFile is a files entry in object form.
type wireFile struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// encodeBody checks that r holds exactly one selector and returns its JSON
// body.
func encodeBody(r Request) ([]byte, error) {
	switch t := r.Type(); t {
	case "empty":
		return nil, errors.New("request has no keys: set one of files, tags, hosts, prefixes or purge_everything")
	case "mixed":
		return nil, fmt.Errorf("request mixes selector types (%d files, %d tags, %d hosts, %d prefixes, purge_everything %t): cloudflare accepts one per request",
			len(r.Files), len(r.Tags), len(r.Hosts), len(r.Prefixes), r.Everything)
	}
	b := wireBody{Tags: r.Tags, Hosts: r.Hosts, Prefixes: r.Prefixes, Everything: r.Everything}
	if len(r.Files) > 0 {
		b.Files = encodeFiles(r.Files)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Cloudflare matches keys byte for byte; json.Marshal would turn & < >
	// into \u0026 etc. That is equivalent JSON, but cloudflare-go disables
	// it too "to match their keys for purging", so we do the same.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeFiles sends plain strings unless some entry has headers; then all
// entries go as objects, because the current schema models plain and object
// lists as separate variants and only old examples mix them.
func encodeFiles(files []File) []any {
	objects := false
	for _, f := range files {
		if len(f.Headers) > 0 {
			objects = true
			break
		}
	}
	out := make([]any, len(files))
	for i, f := range files {
		if objects {
			var h map[string]string
			if len(f.Headers) > 0 {
				h = f.Headers
			}
			out[i] = wireFile{URL: f.URL, Headers: h}
		} else {
			out[i] = f.URL
		}
	}
	return out
}
