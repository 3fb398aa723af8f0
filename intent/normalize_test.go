package intent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

// normCase is one row of a normalisation table: want is the normalised
// value, or, when errPart is set, a part of the expected error.
type normCase struct {
	in, want, errPart string
}

func runNormTable(t *testing.T, norm func(string) (string, error), cases []normCase) {
	t.Helper()
	for _, c := range cases {
		got, err := norm(c.in)
		if c.errPart != "" {
			if err == nil {
				t.Errorf("%.60q: got %q, want error containing %q", c.in, got, c.errPart)
				continue
			}
			if !errors.Is(err, intent.ErrInvalid) || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("%.60q: error %q, want one wrapping ErrInvalid containing %q", c.in, err, c.errPart)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%.60q: got %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		// Normalising is idempotent.
		if again, err := norm(got); err != nil || again != got {
			t.Errorf("%.60q: normalising %q again gave %q, %v", c.in, got, again, err)
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	runNormTable(t, intent.NormalizeURL, []normCase{
		// Scheme and host are case-insensitive; path and query are not.
		{in: "https://www.example.com/a.css", want: "https://www.example.com/a.css"},
		{in: "HTTPS://WWW.Example.COM/Path/A.CSS?Q=Up", want: "https://www.example.com/Path/A.CSS?Q=Up"},
		{in: "https://example.com/helloHI", want: "https://example.com/helloHI"},
		// http and https stay apart.
		{in: "http://example.com/a", want: "http://example.com/a"},
		// Default ports are dropped, others kept, leading zeros removed.
		{in: "https://example.com:443/a", want: "https://example.com/a"},
		{in: "http://example.com:80/a", want: "http://example.com/a"},
		{in: "http://example.com:443/a", want: "http://example.com:443/a"},
		{in: "https://example.com:80/a", want: "https://example.com:80/a"},
		{in: "https://example.com:8443/a", want: "https://example.com:8443/a"},
		{in: "https://example.com:08443/a", want: "https://example.com:8443/a"},
		{in: "https://example.com:/a", want: "https://example.com/a"},
		// The fragment is dropped, an empty path becomes "/".
		{in: "https://example.com/a?x=1#top", want: "https://example.com/a?x=1"},
		{in: "https://example.com#top", want: "https://example.com/"},
		{in: "https://example.com", want: "https://example.com/"},
		{in: "https://example.com?x=1", want: "https://example.com/?x=1"},
		{in: "https://example.com.:443", want: "https://example.com/"},
		// Path and query are byte for byte: no decoding, no cleaning.
		{in: "https://example.com/a/../b/./c//d", want: "https://example.com/a/../b/./c//d"},
		{in: "https://example.com/%7e%7E%2F?a=%41&b", want: "https://example.com/%7e%7E%2F?a=%41&b"},
		{in: "https://example.com/a?", want: "https://example.com/a?"},
		{in: "https://example.com/100%", want: "https://example.com/100%"},
		{in: "https://under_score.example.com/", want: "https://under_score.example.com/"},
		{in: "https://xn--bcher-kva.example/", want: "https://xn--bcher-kva.example/"},
		{in: "https://example.com/" + strings.Repeat("a", 4096-20), want: "https://example.com/" + strings.Repeat("a", 4096-20)},

		{in: "", errPart: "URL is empty"},
		{in: "ftp://example.com/a", errPart: "scheme must be http or https"},
		{in: "example.com/a", errPart: "not an absolute URL"},
		{in: "//example.com/a", errPart: "not an absolute URL"},
		{in: "/a://b", errPart: "scheme must be http or https"},
		{in: "https://user:pw@example.com/a", errPart: "userinfo"},
		{in: "https:///a", errPart: "host is empty"},
		{in: "https://bücher.de/", errPart: "punycode"},
		{in: "https://\u212Aelvin.com/", errPart: "punycode"}, // Kelvin sign lowercases to ASCII 'k'
		{in: "https://exa mple.com/", errPart: "host contains ' '"},
		{in: "https://[::1]/", errPart: "IP address hosts are not supported"},
		{in: "https://[::1/", errPart: "IP address hosts are not supported"},
		{in: "https://a..com/", errPart: "empty label"},
		{in: "https://" + strings.Repeat("a", 64) + ".com/", errPart: "label longer than 63"},
		{in: "https://example.com:0/", errPart: "invalid port"},
		{in: "https://example.com:65536/", errPart: "invalid port"},
		{in: "https://example.com:99999999999999999999/", errPart: "invalid port"},
		{in: "https://example.com:8x/", errPart: "invalid port"},
		{in: "https://example.com/a b", errPart: "percent-encode"},
		{in: "https://example.com/caf\u00e9", errPart: "percent-encode"},
		{in: "https://example.com/a\x00", errPart: "percent-encode"},
		{in: "https://example.com/a\xff", errPart: "percent-encode"},    // invalid UTF-8
		{in: "https://exa\xffmple.com/", errPart: "punycode"},           // invalid UTF-8
		{in: "https://example.com/\xc3\xa9", errPart: "percent-encode"}, // valid UTF-8, still not ASCII
		{in: "https://example.com/a?\n", errPart: "percent-encode"},
		{in: "https://example.com/" + strings.Repeat("a", 4096), errPart: "longer than 4096"},
		{in: "https://example.com?" + strings.Repeat("a", 4096-len("https://example.com?")), errPart: "longer than 4096"},
	})
}

func TestNormalizeURLDoesNotAllocateWhenCanonical(t *testing.T) {
	u := "https://www.example.com/a/b.css?v=3"
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := intent.NormalizeURL(u); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("NormalizeURL of a canonical URL: %v allocations, want 0", allocs)
	}
}

func TestNormalizeTag(t *testing.T) {
	runNormTable(t, intent.NormalizeTag, []normCase{
		{in: "post-42", want: "post-42"},
		{in: "Post-42", want: "post-42"},
		{in: "!#$%&'()*+-./:;<=>?@[\\]^_`{|}~", want: "!#$%&'()*+-./:;<=>?@[\\]^_`{|}~"},
		{in: strings.Repeat("A", 1024), want: strings.Repeat("a", 1024)},

		{in: "", errPart: "tag is empty"},
		{in: strings.Repeat("a", 1025), errPart: "tag longer than 1024 characters"},
		{in: "post 42", errPart: "tag contains a space"},
		{in: " post", errPart: "tag contains a space"},
		{in: "a,b", errPart: "tag contains a comma"},
		{in: "a\tb", errPart: "control or non-ASCII"},
		{in: "a\x7f", errPart: "control or non-ASCII"},
		{in: "tag-\u00e9", errPart: "control or non-ASCII"},
		{in: "\u212A", errPart: "control or non-ASCII"}, // no Unicode case folding into ASCII
		{in: "a\xffb", errPart: "control or non-ASCII"},
	})
}

func TestNormalizeHost(t *testing.T) {
	runNormTable(t, intent.NormalizeHost, []normCase{
		{in: "www.example.com", want: "www.example.com"},
		{in: "WWW.Example.COM", want: "www.example.com"},
		{in: "www.example.com.", want: "www.example.com"},
		{in: "_acme.example.com", want: "_acme.example.com"},
		{in: "localhost", want: "localhost"},
		{in: strings.Repeat("a.", 99) + "ab", want: strings.Repeat("a.", 99) + "ab"}, // 200 bytes

		{in: "", errPart: "host is empty"},
		{in: ".", errPart: "host is empty"},
		{in: "https://www.example.com", errPart: "no scheme"},
		{in: "www.example.com/blog", errPart: "no path"},
		{in: "www.example.com:8080", errPart: "no port"},
		{in: "a..b", errPart: "empty label"},
		{in: ".a.b", errPart: "empty label"},
		{in: "a.b..", errPart: "empty label"},
		{in: "*.example.com", errPart: "host contains '*'"},
		{in: "bücher.de", errPart: "punycode"},
		{in: "a\xff.com", errPart: "punycode"},
		{in: strings.Repeat("a.", 100) + "a", errPart: "longer than 200"},
		{in: strings.Repeat("a", 64) + ".com", errPart: "label longer than 63"},
	})
}

func TestNormalizePrefix(t *testing.T) {
	slashes := func(n int) string { return "www.example.com" + strings.Repeat("/a", n) }
	runNormTable(t, intent.NormalizePrefix, []normCase{
		{in: "www.example.com/blog", want: "www.example.com/blog"},
		{in: "www.example.com/blog/", want: "www.example.com/blog/"},
		{in: "www.example.com/", want: "www.example.com/"},
		{in: "WWW.Example.com/Blog", want: "www.example.com/Blog"},
		{in: "https://www.example.com/blog", want: "www.example.com/blog"},
		{in: "HTTP://WWW.EXAMPLE.COM/Blog", want: "www.example.com/Blog"},
		{in: "https://www.example.com./a", want: "www.example.com/a"},
		{in: "www.example.com/a://b", want: "www.example.com/a://b"},
		{in: "www.example.com//a/%2F", want: "www.example.com//a/%2F"},
		{in: slashes(31), want: slashes(31)},

		{in: "", errPart: "prefix is empty"},
		{in: "www.example.com", errPart: "use hosts"},
		{in: "https://www.example.com", errPart: "use hosts"},
		{in: "www.example.com/blog?page=2", errPart: "query string"},
		{in: "https://www.example.com/blog?page=2", errPart: "query string"},
		{in: "www.example.com/blog#top", errPart: "fragment"},
		{in: slashes(32), errPart: "more than 31 '/'"},
		{in: "ftp://www.example.com/a", errPart: "scheme must be http or https"},
		{in: "www.example.com:8080/a", errPart: "no port"},
		{in: "user@www.example.com/a", errPart: "no port or userinfo"},
		{in: "/a", errPart: "host is empty"},
		{in: "www.example.com/a b", errPart: "percent-encode"},
		{in: "bücher.de/a", errPart: "punycode"},
		{in: "a.com/\xff", errPart: "percent-encode"},
		{in: "www.example.com/" + strings.Repeat("a", 4096), errPart: "longer than 4096"},
	})
}

func TestNormalizeHeaders(t *testing.T) {
	// Names are case-insensitive, values are not: equal sets give equal
	// encodings whatever the case or order of the names.
	a, err := intent.NormalizeHeaders(map[string]string{"cf-device-type": "Mobile", "CF-IPCountry": "ES"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := intent.NormalizeHeaders(map[string]string{"CF-IPCOUNTRY": "ES", "Cf-Device-Type": "Mobile"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "Cf-Device-Type: Mobile\nCf-Ipcountry: ES"
	if ea, eb := intent.EncodeHeaders(a), intent.EncodeHeaders(b); ea != want || eb != want {
		t.Errorf("EncodeHeaders = %q and %q, want both %q", ea, eb, want)
	}
	c, _ := intent.NormalizeHeaders(map[string]string{"cf-device-type": "mobile", "CF-IPCountry": "ES"})
	if intent.EncodeHeaders(c) == want {
		t.Errorf("header values must stay case-sensitive, got %q", intent.EncodeHeaders(c))
	}
	if h, err := intent.NormalizeHeaders(map[string]string{}); h != nil || err != nil {
		t.Errorf("empty headers: got %v, %v; want nil, nil", h, err)
	}

	many := map[string]string{}
	for i := range 21 {
		many["X-H"+strings.Repeat("a", i)] = "v"
	}
	for _, c := range []struct {
		h       map[string]string
		errPart string
	}{
		{map[string]string{"A": "1", "a": "2"}, `"a": header given twice (names are case-insensitive)`},
		{map[string]string{"Bad Name": "1"}, `"Bad Name": header name contains ' '`},
		{map[string]string{"": "1"}, "header name is empty"},
		{map[string]string{"X-A": "a\r\nX-Evil: 1"}, `X-A: "a\r\nX-Evil: 1": header value contains CR, LF or NUL`},
		{map[string]string{"X-A": "a\x00"}, "CR, LF or NUL"},
		{map[string]string{"X-A": "caf\u00e9"}, "non-ASCII"},
		{map[string]string{"X-A": strings.Repeat("v", 4097)}, "longer than 4096"},
		{map[string]string{strings.Repeat("n", 257): "v"}, "longer than 256"},
		{many, "more than 20 headers"},
	} {
		_, err := intent.NormalizeHeaders(c.h)
		if err == nil || !errors.Is(err, intent.ErrInvalid) || !strings.Contains(err.Error(), c.errPart) {
			t.Errorf("NormalizeHeaders(%q): error %v, want one containing %q", c.h, err, c.errPart)
		}
	}
	// Tabs and the full printable range are fine in values.
	if _, err := intent.NormalizeHeaders(map[string]string{"Origin": "https://a.com:8443", "X-T": "a\tb ~"}); err != nil {
		t.Errorf("valid headers refused: %v", err)
	}
}
