package status_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/purge-worker/purge-worker/status"
)

func TestKeyExamples(t *testing.T) {
	for id, want := range map[string]string{
		"0f3a9c":        "0f3a9c",
		"cms-7f3a_2":    "cms-7f3a_2",
		"deploy.42":     "=ZGVwbG95LjQy",
		"a/b":           "=YS9i",
		"=YS9i":         "=PVlTOWk",
		"x?y":           "=eD95",
		"trailing-dot.": "=dHJhaWxpbmctZG90Lg",
	} {
		if got := status.Key(id); got != want {
			t.Errorf("Key(%q) = %q, want %q", id, got, want)
		}
	}
}

// Every id maps to a valid KV key, distinct ids to distinct keys, and ID
// gives the id back.
func TestKeyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.StringN(1, 128, -1).Draw(t, "a")
		b := rapid.StringN(1, 128, -1).Draw(t, "b")
		ka, kb := status.Key(a), status.Key(b)
		if !validKey(ka) {
			t.Fatalf("Key(%q) = %q is no valid KV key", a, ka)
		}
		if (a == b) != (ka == kb) {
			t.Fatalf("Key(%q) = %q, Key(%q) = %q", a, ka, b, kb)
		}
		got, err := status.ID(ka)
		if err != nil || got != a {
			t.Fatalf("ID(%q) = %q, %v; want %q", ka, got, err, a)
		}
	})
}

func TestIDRefusesForeignKeys(t *testing.T) {
	for _, k := range []string{"", "a.b", "=!!", "="} {
		if id, err := status.ID(k); err == nil {
			t.Errorf("ID(%q) = %q, want an error", k, id)
		}
	}
}

// validKey is the KV key rule of nats.go.
func validKey(k string) bool {
	if k == "" || k[0] == '.' || k[len(k)-1] == '.' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '/' || c == '_' || c == '=' || c == '.'
		if !ok || (c == '.' && k[i-1] == '.') {
			return false
		}
	}
	return true
}
