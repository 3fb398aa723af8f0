package intent_test

import (
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/purge-worker/purge-worker/intent"
)

func file(u string) intent.Key { return intent.Key{Kind: intent.KindFile, Value: u} }
func fileH(u, h string) intent.Key {
	return intent.Key{Kind: intent.KindFile, Value: u, Headers: h}
}
func host(h string) intent.Key   { return intent.Key{Kind: intent.KindHost, Value: h} }
func prefix(p string) intent.Key { return intent.Key{Kind: intent.KindPrefix, Value: p} }
func tag(v string) intent.Key    { return intent.Key{Kind: intent.KindTag, Value: v} }

var everything = intent.Key{Kind: intent.KindEverything}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		broad, narrow intent.Key
		want          bool
	}{
		// Everything covers every other key, tags included.
		{everything, file("https://a.com/x"), true},
		{everything, tag("post-42"), true},
		{everything, host("a.com"), true},
		{everything, prefix("a.com/x"), true},
		{everything, everything, false},

		// A host covers files on exactly that host, any scheme, any headers.
		{host("a.com"), file("https://a.com/x"), true},
		{host("a.com"), file("http://a.com/x?y=1"), true},
		{host("a.com"), fileH("https://a.com/x", "Cf-Device-Type: mobile"), true},
		{host("a.com"), prefix("a.com/x"), true},
		{host("a.com"), file("https://www.a.com/x"), false},  // not a subdomain
		{host("a.com"), prefix("www.a.com/x"), false},        // not a subdomain
		{host("www.a.com"), file("https://a.com/x"), false},  // not a parent
		{host("a.com"), file("https://a.com:8443/x"), false}, // not another port
		{host("a.com"), file("https://ba.com/x"), false},
		{host("a.com"), host("www.a.com"), false},
		{host("a.com"), host("a.com"), false},
		{host("a.com"), tag("a.com"), false},

		// A prefix covers at a path boundary: '/', '?' or the end.
		{prefix("a.com/foo"), file("https://a.com/foo"), true},
		{prefix("a.com/foo"), file("http://a.com/foo"), true},
		{prefix("a.com/foo"), file("https://a.com/foo/bar"), true},
		{prefix("a.com/foo"), file("https://a.com/foo?x=1"), true},
		{prefix("a.com/foo"), fileH("https://a.com/foo/bar", "Cf-Ipcountry: ES"), true},
		{prefix("a.com/foo"), file("https://a.com/foobar"), false},
		{prefix("a.com/foo"), file("https://a.com/fo"), false},
		{prefix("a.com/foo"), file("https://a.com/Foo/bar"), false}, // paths are case-sensitive
		{prefix("a.com/foo"), file("https://www.a.com/foo"), false},
		{prefix("a.com/foo"), file("https://a.com:8443/foo"), false},
		{prefix("a.com/foo"), prefix("a.com/foo/bar"), true},
		{prefix("a.com/foo"), prefix("a.com/foo/"), true},
		{prefix("a.com/foo"), prefix("a.com/foobar"), false},
		{prefix("a.com/foo"), prefix("a.com/foo"), false}, // duplicate, not covered
		{prefix("a.com/foo/bar"), prefix("a.com/foo"), false},
		// A prefix ending in '/' is its own boundary.
		{prefix("a.com/foo/"), file("https://a.com/foo/"), true},
		{prefix("a.com/foo/"), file("https://a.com/foo/bar"), true},
		{prefix("a.com/foo/"), file("https://a.com/foo"), false},
		{prefix("a.com/foo/"), prefix("a.com/foo/b"), true},
		{prefix("a.com/"), file("https://a.com/"), true},
		{prefix("a.com/"), file("https://a.com/?x"), true},
		{prefix("a.com/"), host("a.com"), false},
		{prefix("a.com/foo"), tag("a.com/foo"), false},
		{prefix("a.com/foo"), everything, false},

		// Files and tags cover nothing, not even variants of themselves.
		{file("https://a.com/foo"), file("https://a.com/foo?x=1"), false},
		{file("https://a.com/foo"), fileH("https://a.com/foo", "Cf-Ipcountry: ES"), false},
		{fileH("https://a.com/foo", "Cf-Ipcountry: ES"), file("https://a.com/foo"), false},
		{file("https://a.com/foo"), file("https://a.com/foo"), false},
		{tag("a"), tag("a"), false},
		{tag("a.com"), host("a.com"), false},
		{tag("x"), everything, false},
	} {
		if got := intent.Covers(c.broad, c.narrow); got != c.want {
			t.Errorf("Covers(%v %q, %v %q) = %v, want %v", c.broad.Kind, c.broad, c.narrow.Kind, c.narrow, got, c.want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for _, c := range []struct {
		k    intent.Key
		want string
	}{
		{file("https://www.a.com/x?y"), "www.a.com"},
		{fileH("http://www.a.com/", "X: y"), "www.a.com"},
		{file("https://www.a.com:8443/x"), "www.a.com:8443"},
		{host("www.a.com"), "www.a.com"},
		{prefix("www.a.com/x/y"), "www.a.com"},
		{tag("www.a.com"), ""},
		{everything, ""},
	} {
		if got := intent.HostOf(c.k); got != c.want {
			t.Errorf("HostOf(%v %q) = %q, want %q", c.k.Kind, c.k, got, c.want)
		}
	}
}

func TestCoverPaths(t *testing.T) {
	deep := "a.com" + strings.Repeat("/d", 32)
	for _, c := range []struct {
		k    intent.Key
		want []string
	}{
		{file("https://a.com/x/y?q=/z"), []string{"a.com/", "a.com/x", "a.com/x/", "a.com/x/y"}},
		{file("http://a.com/x/"), []string{"a.com/", "a.com/x", "a.com/x/"}},
		{file("https://a.com/"), []string{"a.com/"}},
		{file("https://a.com/?q"), []string{"a.com/"}},
		{file("https://a.com//x"), []string{"a.com/", "a.com//", "a.com//x"}},
		{prefix("a.com/x/y"), []string{"a.com/", "a.com/x", "a.com/x/"}},
		{prefix("a.com/x/"), []string{"a.com/", "a.com/x"}},
		{prefix("a.com/"), nil},
		{file("https://a.com:8443/x"), nil},
		{file("https://" + deep), cutsOf(deep, 31)},
		{host("a.com"), nil},
		{tag("a.com/x"), nil},
		{everything, nil},
	} {
		if got := intent.CoverPaths(c.k); !slices.Equal(got, c.want) {
			t.Errorf("CoverPaths(%v %q) = %q, want %q", c.k.Kind, c.k, got, c.want)
		}
	}
}

// cutsOf lists the candidates for a path of "/d" segments: each boundary
// without and with its '/', up to maxSlashes '/'.
func cutsOf(s string, maxSlashes int) []string {
	var out []string
	n := 0
	for i := range len(s) {
		if s[i] != '/' {
			continue
		}
		if n > 0 {
			out = append(out, s[:i])
		}
		if n++; n > maxSlashes {
			break
		}
		out = append(out, s[:i+1])
	}
	return out
}

// keyGen draws normalised keys of every kind from a small alphabet, so
// that shared prefixes, boundaries and near misses are frequent.
func keyGen() *rapid.Generator[intent.Key] {
	seg := rapid.SampledFrom([]string{"a", "ab", "b", "", "a?x", "a/"})
	return rapid.Custom(func(t *rapid.T) intent.Key {
		h := rapid.SampledFrom([]string{"a.com", "b.a.com", "a.com:8443"}).Draw(t, "host")
		path := "/" + strings.Join(rapid.SliceOfN(seg, 0, 5).Draw(t, "segs"), "/")
		switch rapid.IntRange(0, 5).Draw(t, "kind") {
		case 0:
			return everything
		case 1:
			return tag(strings.TrimPrefix(h+path, "/"))
		case 2:
			return host(strings.TrimSuffix(h, ":8443"))
		case 3:
			// Prefixes have neither port nor query.
			p, err := intent.NormalizePrefix(strings.TrimSuffix(h, ":8443") + strings.ReplaceAll(path, "?", ""))
			if err != nil {
				t.Fatalf("generated prefix refused: %v", err)
			}
			return prefix(p)
		}
		scheme := rapid.SampledFrom([]string{"http://", "https://"}).Draw(t, "scheme")
		u, err := intent.NormalizeURL(scheme + h + path)
		if err != nil {
			t.Fatalf("generated URL refused: %v", err)
		}
		return fileH(u, rapid.SampledFrom([]string{"", "Cf-Ipcountry: ES"}).Draw(t, "headers"))
	})
}

// TestCoverPathsMatchesCovers checks CoverPaths against its definition:
// exactly the valid prefixes P with Covers(prefix(P), k).
func TestCoverPathsMatchesCovers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := keyGen().Draw(t, "k")
		s := k.Value
		if k.Kind == intent.KindFile {
			s = s[strings.Index(s, "://")+3:]
		}
		var want []string
		for i := 1; i <= len(s); i++ {
			p := s[:i]
			if n, err := intent.NormalizePrefix(p); err == nil && n == p && intent.Covers(prefix(p), k) {
				want = append(want, p)
			}
		}
		if got := intent.CoverPaths(k); !slices.Equal(got, want) {
			t.Fatalf("CoverPaths(%q) = %q, want %q", k, got, want)
		}
	})
}

// TestCoversIsAStrictOrder checks that coverage is irreflexive and
// transitive on prefixes and files, which the batcher relies on when it
// drops covered keys in any order.
func TestCoversIsAStrictOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := keyGen().Draw(t, "a"), keyGen().Draw(t, "b"), keyGen().Draw(t, "c")
		if intent.Covers(a, a) {
			t.Fatalf("%q covers itself", a)
		}
		if intent.Covers(a, b) && intent.Covers(b, a) {
			t.Fatalf("%q and %q cover each other", a, b)
		}
		if intent.Covers(a, b) && intent.Covers(b, c) && !intent.Covers(a, c) {
			t.Fatalf("%q covers %q covers %q, but not transitively", a, b, c)
		}
		// A host covers a file or prefix exactly when HostOf binds it there.
		if a.Kind == intent.KindHost && (b.Kind == intent.KindFile || b.Kind == intent.KindPrefix) {
			if got := intent.Covers(a, b); got != (intent.HostOf(b) == a.Value) {
				t.Fatalf("Covers(%q, %q) = %v, HostOf = %q", a, b, got, intent.HostOf(b))
			}
		}
	})
}
