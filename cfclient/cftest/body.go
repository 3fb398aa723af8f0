package cftest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// selectors are the body fields Cloudflare accepts, in its order.
var selectors = []string{"files", "tags", "hosts", "prefixes", "purge_everything"}

// fileKey is one files entry.
type fileKey struct {
	url     string
	headers map[string]string
}

// purgeBody is a decoded request body. fail is set when its shape is
// refused (before looking at the keys themselves).
type purgeBody struct {
	kind       string
	keys       []string
	files      []fileKey
	list       []string // tags, hosts or prefixes
	everything bool
	fail       *failure
}

// parseBody decodes a body the way Cloudflare's purge endpoint reads it:
// one JSON object holding exactly one selector field.
func parseBody(data []byte) purgeBody {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return purgeBody{kind: "invalid", fail: fail(http.StatusBadRequest, OutcomeInvalid, codeMalformedJSON, "Malformed JSON in request body")}
	}
	var present, unknown []string
	for _, k := range selectors {
		if _, ok := raw[k]; ok {
			present = append(present, k)
		}
	}
	for k := range raw {
		if !slices.Contains(selectors, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)

	var b purgeBody
	for _, k := range present {
		if f := b.decodeField(k, raw[k]); f != nil {
			return purgeBody{kind: "invalid", keys: b.keys, fail: f}
		}
	}
	b.fail = b.shape(present, unknown)
	return b
}

// decodeField decodes one selector field and appends its keys.
func (b *purgeBody) decodeField(name string, v json.RawMessage) *failure {
	switch name {
	case "purge_everything":
		if json.Unmarshal(v, &b.everything) != nil {
			return fail(http.StatusBadRequest, OutcomeInvalid, codeEverythingNotTrue, "'purge_everything' must be true")
		}
		if b.everything {
			b.keys = append(b.keys, "purge_everything")
		}
		return nil
	case "files":
		files, f := decodeFiles(v)
		if f != nil {
			return f
		}
		b.files = files
		for _, fk := range files {
			b.keys = append(b.keys, fileKeyString(fk))
		}
		return nil
	}
	var list []string
	if json.Unmarshal(v, &list) != nil {
		return failf(http.StatusBadRequest, OutcomeInvalid, codeNotArray, "%q must be an array of strings", name)
	}
	b.list = append(b.list, list...)
	b.keys = append(b.keys, list...)
	return nil
}

// shape applies the one-selector rule and names the body's kind.
func (b *purgeBody) shape(present, unknown []string) *failure {
	switch {
	case len(present) > 1:
		b.kind = "mixed"
		if slices.Contains(present, "purge_everything") {
			return fail(http.StatusBadRequest, OutcomeInvalid, codeEverythingMixed,
				`Request cannot contain "purge_everything" and any of "files", "tags", "hosts" or "prefixes"`)
		}
		return failf(http.StatusBadRequest, OutcomeInvalid, codeMissingSelector,
			`Request must contain exactly one of "purge_everything", "files", "tags", "hosts" or "prefixes", got %s`, strings.Join(present, ", "))
	case len(present) == 0:
		b.kind = "empty"
		if len(unknown) > 0 {
			b.kind = "invalid"
		}
		return fail(http.StatusBadRequest, OutcomeInvalid, codeMissingSelector,
			`Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"`)
	}
	b.kind = present[0]
	switch {
	case len(unknown) > 0:
		return failf(http.StatusBadRequest, OutcomeInvalid, codeMissingSelector, "Unknown field %q in request body", unknown[0])
	case b.kind == "purge_everything" && !b.everything:
		return fail(http.StatusBadRequest, OutcomeInvalid, codeEverythingNotTrue, "'purge_everything' must be true")
	case b.kind != "purge_everything" && len(b.keys) == 0:
		b.kind = "empty"
		return failf(http.StatusBadRequest, OutcomeInvalid, codeMissingSelector, "%q must not be empty", present[0])
	}
	return nil
}

// decodeFiles reads a files array of URL strings and/or {"url", "headers"}
// objects (mixing both is accepted, as an old documented example did).
func decodeFiles(v json.RawMessage) ([]fileKey, *failure) {
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return nil, fail(http.StatusBadRequest, OutcomeInvalid, codeNotArray, `"files" must be an array`)
	}
	out := make([]fileKey, 0, len(items))
	for i, it := range items {
		var u string
		if json.Unmarshal(it, &u) == nil {
			out = append(out, fileKey{url: u})
			continue
		}
		var obj struct {
			URL     *string           `json:"url"`
			Headers map[string]string `json:"headers"`
		}
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.DisallowUnknownFields()
		if dec.Decode(&obj) != nil || obj.URL == nil {
			return nil, failf(http.StatusBadRequest, OutcomeInvalid, codeMissingSelector,
				`"files" entry %d must be a URL string or an object {"url": string, "headers": {string: string}}`, i)
		}
		out = append(out, fileKey{url: *obj.URL, headers: obj.Headers})
	}
	return out, nil
}

// fileKeyString renders a files entry for Call.Keys: the URL, then the
// headers as sorted "Name: value" pairs in canonical case.
func fileKeyString(f fileKey) string {
	if len(f.headers) == 0 {
		return f.url
	}
	pairs := make([]string, 0, len(f.headers))
	for k, v := range f.headers {
		pairs = append(pairs, canonicalHeader(k)+": "+v)
	}
	sort.Strings(pairs)
	return f.url + " " + strings.Join(pairs, "; ")
}

// canonicalHeader upper-cases the first letter and each letter after a
// hyphen, lower-cases the rest.
func canonicalHeader(s string) string {
	b := []byte(strings.ToLower(s))
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
}
