package intent_test

import (
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/purge-worker/purge-worker/intent"
)

func TestKindString(t *testing.T) {
	want := []string{"files", "tags", "hosts", "prefixes", "purge_everything"}
	for i, k := range intent.Kinds {
		if k.String() != want[i] {
			t.Errorf("Kinds[%d].String() = %q, want %q", i, k, want[i])
		}
		if k.Flex() != (k != intent.KindFile) {
			t.Errorf("%v.Flex() = %v", k, k.Flex())
		}
	}
	if s := intent.Kind(99).String(); s != "unknown" {
		t.Errorf("Kind(99).String() = %q", s)
	}
}

func TestParseMode(t *testing.T) {
	for _, c := range []struct {
		s    string
		want intent.Mode
		ok   bool
	}{
		{"", intent.ModePurge, true},
		{"purge", intent.ModePurge, true},
		{"invalidate", intent.ModeInvalidate, true},
		{"Invalidate", intent.ModePurge, false},
		{"evict", intent.ModePurge, false},
	} {
		m, ok := intent.ParseMode(c.s)
		if m != c.want || ok != c.ok {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, %v", c.s, m, ok, c.want, c.ok)
		}
		if ok && c.s != "" && m.String() != c.s {
			t.Errorf("%v.String() = %q, want %q", m, m.String(), c.s)
		}
	}
}

func TestKeyString(t *testing.T) {
	for _, c := range []struct {
		k    intent.Key
		want string
	}{
		{file("https://a.com/x"), "https://a.com/x"},
		{fileH("https://a.com/x", "Accept-Language: zh-CN\nCf-Ipcountry: ES"), "https://a.com/x Accept-Language: zh-CN; Cf-Ipcountry: ES"},
		{tag("post-42"), "post-42"},
		{everything, "purge_everything"},
	} {
		if got := c.k.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestEncodeHeaders(t *testing.T) {
	if got := intent.EncodeHeaders(nil); got != "" {
		t.Errorf("EncodeHeaders(nil) = %q", got)
	}
	if got := intent.DecodeHeaders(""); got != nil {
		t.Errorf("DecodeHeaders(\"\") = %v", got)
	}
	h := map[string]string{"cf-ipcountry": "ES", "accept-language": "zh-CN", "Origin": "https://a.com: x"}
	const want = "Accept-Language: zh-CN\nCf-Ipcountry: ES\nOrigin: https://a.com: x"
	if got := intent.EncodeHeaders(h); got != want {
		t.Errorf("EncodeHeaders = %q, want %q", got, want)
	}
	if k := (intent.Key{Kind: intent.KindFile, Value: "https://a.com/", Headers: want}); !reflect.DeepEqual(k.HeaderMap(),
		map[string]string{"Accept-Language": "zh-CN", "Cf-Ipcountry": "ES", "Origin": "https://a.com: x"}) {
		t.Errorf("HeaderMap() = %v", k.HeaderMap())
	}
}

// TestHeadersRoundTrip checks, for any valid header set, that the encoding
// is stable (independent of name case) and that DecodeHeaders inverts it.
func TestHeadersRoundTrip(t *testing.T) {
	name := rapid.StringMatching(`[A-Za-z0-9!#$%&'*+.^_|~-]{1,12}`)
	value := rapid.StringMatching("[\t -~]{0,20}")
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.MapOfN(name, value, 0, intent.MaxHeaders).Draw(t, "headers")
		h, err := intent.NormalizeHeaders(raw)
		if err != nil {
			if strings.Contains(err.Error(), "given twice") {
				return // names equal but for case: refused, correctly
			}
			t.Fatalf("NormalizeHeaders(%q): %v", raw, err)
		}
		enc := intent.EncodeHeaders(h)
		if enc != intent.EncodeHeaders(raw) {
			t.Fatalf("encoding depends on name case: %q vs %q", enc, intent.EncodeHeaders(raw))
		}
		flipped := map[string]string{}
		for n, v := range h {
			flipped[strings.ToUpper(n)] = v
		}
		if got := intent.EncodeHeaders(flipped); got != enc {
			t.Fatalf("upper-cased names encode to %q, want %q", got, enc)
		}
		if back := intent.DecodeHeaders(enc); len(h) > 0 && !reflect.DeepEqual(back, h) {
			t.Fatalf("DecodeHeaders(%q) = %q, want %q", enc, back, h)
		}
	})
}
