package intent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; `go test` runs them as
// regression tests and `go test -fuzz` starts from them.

// FuzzDecode checks that Decode and Bind never panic, that every error is
// an ErrInvalid with a header-safe message, and that an accepted intent
// re-encodes (as Publish encodes it) to a body that decodes and binds to
// the same parts.
func FuzzDecode(f *testing.F) {
	z := testZones(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := intent.Decode(data)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		parts, err := in.Bind(z)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("Bind accepted %q but Validate refuses it: %v", data, err)
		}
		for _, p := range parts {
			for _, k := range p.Keys {
				checkNormalised(t, k)
			}
		}
		body := encode(t, in)
		in2, err := intent.Decode(body)
		if err != nil {
			t.Fatalf("re-encoded intent %s does not decode: %v", body, err)
		}
		parts2, err := in2.Bind(z)
		if err != nil {
			t.Fatalf("re-encoded intent %s does not bind: %v", body, err)
		}
		if !reflect.DeepEqual(parts, parts2) {
			t.Fatalf("parts changed through re-encoding %s:\n%+v\n%+v", body, parts, parts2)
		}
	})
}

// encode marshals like Publish does: no HTML escaping.
func encode(t *testing.T, in *intent.Intent) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkInvalid checks the contract of every refusal: it wraps ErrInvalid,
// is a *FieldError, and its message is one short line of printable ASCII.
func checkInvalid(t *testing.T, err error) {
	t.Helper()
	var fe *intent.FieldError
	if !errors.Is(err, intent.ErrInvalid) || !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) is not an ErrInvalid *FieldError", err, err)
	}
	msg := err.Error()
	if len(msg) > 2000 {
		t.Fatalf("error message is %d bytes long", len(msg))
	}
	for i := 0; i < len(msg); i++ {
		if msg[i] < 0x20 || msg[i] > 0x7e {
			t.Fatalf("error %q holds byte 0x%02x", msg, msg[i])
		}
	}
}

// checkNormalised checks that a key Bind produced is a fixed point of its
// normaliser.
func checkNormalised(t *testing.T, k intent.Key) {
	t.Helper()
	var norm func(string) (string, error)
	switch k.Kind {
	case intent.KindFile:
		norm = intent.NormalizeURL
		if h := k.HeaderMap(); intent.EncodeHeaders(h) != k.Headers {
			t.Fatalf("headers %q do not round-trip", k.Headers)
		}
	case intent.KindTag:
		norm = intent.NormalizeTag
	case intent.KindHost:
		norm = intent.NormalizeHost
	case intent.KindPrefix:
		norm = intent.NormalizePrefix
	default:
		return
	}
	if got, err := norm(k.Value); err != nil || got != k.Value {
		t.Fatalf("%v key %q is not normalised: %q, %v", k.Kind, k.Value, got, err)
	}
}

// FuzzNormalizeURL checks that normalising is idempotent and that its
// output has the documented shape.
func FuzzNormalizeURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		u, err := intent.NormalizeURL(s)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if again, err := intent.NormalizeURL(u); err != nil || again != u {
			t.Fatalf("NormalizeURL(%q) = %q, but NormalizeURL(%q) = %q, %v", s, u, u, again, err)
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			t.Fatalf("NormalizeURL(%q) = %q: no http(s) scheme", s, u)
		}
		if len(u) > intent.MaxURLLength || strings.ContainsAny(u, "# ") {
			t.Fatalf("NormalizeURL(%q) = %q: too long, or holds '#' or ' '", s, u)
		}
		k := intent.Key{Kind: intent.KindFile, Value: u}
		h := intent.HostOf(k)
		if hn, _, _ := strings.Cut(h, ":"); strings.ToLower(hn) != hn || hn == "" {
			t.Fatalf("NormalizeURL(%q) = %q: host %q not lowercase", s, u, h)
		}
		for _, p := range intent.CoverPaths(k) {
			if !intent.Covers(intent.Key{Kind: intent.KindPrefix, Value: p}, k) {
				t.Fatalf("CoverPaths(%q) holds %q, which does not cover it", u, p)
			}
			if n, err := intent.NormalizePrefix(p); err != nil || n != p {
				t.Fatalf("CoverPaths(%q) holds %q, not a normalised prefix: %q, %v", u, p, n, err)
			}
		}
	})
}

// FuzzNormalizePrefix checks idempotence and the shape of a prefix.
func FuzzNormalizePrefix(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := intent.NormalizePrefix(s)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if again, err := intent.NormalizePrefix(p); err != nil || again != p {
			t.Fatalf("NormalizePrefix(%q) = %q, but NormalizePrefix(%q) = %q, %v", s, p, p, again, err)
		}
		host, _, ok := strings.Cut(p, "/")
		if !ok || host == "" || strings.ToLower(host) != host || strings.ContainsAny(p, "?# ") ||
			strings.Count(p, "/") > intent.MaxPrefixSlashes {
			t.Fatalf("NormalizePrefix(%q) = %q: not host/path", s, p)
		}
		k := intent.Key{Kind: intent.KindPrefix, Value: p}
		for _, c := range intent.CoverPaths(k) {
			if !intent.Covers(intent.Key{Kind: intent.KindPrefix, Value: c}, k) {
				t.Fatalf("CoverPaths(%q) holds %q, which does not cover it", p, c)
			}
		}
	})
}

// FuzzNormalizeTag checks idempotence and the shape of a tag.
func FuzzNormalizeTag(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := intent.NormalizeTag(s)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		if again, err := intent.NormalizeTag(tag); err != nil || again != tag {
			t.Fatalf("NormalizeTag(%q) = %q, but NormalizeTag(%q) = %q, %v", s, tag, tag, again, err)
		}
		if !strings.EqualFold(tag, s) || strings.ToLower(tag) != tag || tag == "" || len(tag) > intent.MaxTagLength {
			t.Fatalf("NormalizeTag(%q) = %q", s, tag)
		}
		for i := 0; i < len(tag); i++ {
			if c := tag[i]; c <= ' ' || c > '~' || c == ',' {
				t.Fatalf("NormalizeTag(%q) = %q holds byte 0x%02x", s, tag, c)
			}
		}
	})
}
