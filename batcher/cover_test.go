package batcher

import (
	"slices"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
	"pgregory.net/rapid"
)

func TestCovers(t *testing.T) {
	mobile := map[string]string{"CF-Device-Type": "mobile"}
	tests := []struct {
		name          string
		broad, narrow intent.Key
		want          bool
	}{
		{"everything covers a file", all, file("https://www.example.com/a.css"), true},
		{"everything covers a tag", all, tag("post-42"), true},
		{"everything covers a host", all, host("www.example.com"), true},
		{"everything covers a prefix", all, prefix("www.example.com/blog"), true},
		{"everything is not covered by itself", all, all, false},
		{"host covers https file", host("www.example.com"), file("https://www.example.com/a.css"), true},
		{"host covers http file", host("www.example.com"), file("http://www.example.com/a.css"), true},
		{"host covers file with headers", host("www.example.com"), fileH("https://www.example.com/a", mobile), true},
		{"host covers file with query", host("www.example.com"), file("https://www.example.com?x=1"), true},
		{"host covers file on a port", host("www.example.com"), file("https://www.example.com:8443/a"), true},
		{"host covers prefix", host("www.example.com"), prefix("www.example.com/blog"), true},
		{"host does not cover another host's file", host("www.example.com"), file("https://img.example.com/a"), false},
		{"host does not cover a subdomain", host("example.com"), file("https://www.example.com/a"), false},
		{"host does not cover its parent", host("www.example.com"), file("https://example.com/a"), false},
		{"host does not cover a host", host("www.example.com"), host("example.com"), false},
		{"host does not cover a tag", host("www.example.com"), tag("www.example.com"), false},
		{"host does not cover everything", host("www.example.com"), all, false},
		{"equal hosts are duplicates", host("www.example.com"), host("www.example.com"), false},
		{"prefix covers file at the prefix", prefix("h.com/foo"), file("https://h.com/foo"), true},
		{"prefix covers file below", prefix("h.com/foo"), file("https://h.com/foo/bar.css"), true},
		{"prefix covers file with query", prefix("h.com/foo"), file("https://h.com/foo?v=2"), true},
		{"prefix covers http file", prefix("h.com/foo"), file("http://h.com/foo/x"), true},
		{"prefix covers file with headers", prefix("h.com/foo"), fileH("https://h.com/foo/x", mobile), true},
		{"prefix covers longer prefix", prefix("h.com/foo"), prefix("h.com/foo/bar"), true},
		{"bare host prefix covers files on it", prefix("h.com"), file("https://h.com/a"), true},
		{"prefix /foo does not cover /foobar", prefix("h.com/foo"), file("https://h.com/foobar"), false},
		{"prefix /foo does not cover prefix /foobar", prefix("h.com/foo"), prefix("h.com/foobar"), false},
		{"prefix does not cover a shorter prefix", prefix("h.com/foo/bar"), prefix("h.com/foo"), false},
		{"prefix path is case-sensitive", prefix("h.com/foo"), file("https://h.com/Foo/a"), false},
		{"prefix does not cover another host", prefix("h.com/foo"), file("https://g.com/foo"), false},
		{"prefix does not cover a ported file", prefix("h.com/foo"), file("https://h.com:8443/foo"), false},
		{"prefix with trailing slash needs a boundary", prefix("h.com/foo/"), file("https://h.com/foo/a"), false},
		{"prefix does not cover a host", prefix("h.com"), host("h.com"), false},
		{"prefix does not cover a tag", prefix("h.com/foo"), tag("h.com/foo"), false},
		{"equal prefixes are duplicates", prefix("h.com/foo"), prefix("h.com/foo"), false},
		{"a file covers nothing", file("https://h.com/"), file("https://h.com/a"), false},
		{"equal files are duplicates", file("https://h.com/a"), file("https://h.com/a"), false},
		{"a tag covers nothing", tag("a"), tag("a-b"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := covers(tt.broad, tt.narrow); got != tt.want {
				t.Errorf("covers(%v, %v) = %v, want %v", tt.broad, tt.narrow, got, tt.want)
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct {
		k    intent.Key
		want string
	}{
		{file("https://www.example.com/a.css"), "www.example.com"},
		{file("http://www.example.com"), "www.example.com"},
		{file("https://www.example.com?x=1"), "www.example.com"},
		{file("https://www.example.com:8443/a"), "www.example.com"},
		{prefix("www.example.com/blog"), "www.example.com"},
		{prefix("www.example.com"), "www.example.com"},
		{host("img.example.com"), "img.example.com"},
		{tag("post-42"), ""},
		{all, ""},
	}
	for _, tt := range tests {
		if got := hostOf(tt.k); got != tt.want {
			t.Errorf("hostOf(%v) = %q, want %q", tt.k, got, tt.want)
		}
	}
}

// TestPrefixCandidatesComplete checks the index's premise: every prefix that
// covers a key is among the strings prefixCandidates offers for it, so a
// lookup by candidate finds every pending prefix coverer.
func TestPrefixCandidatesComplete(t *testing.T) {
	seg := rapid.SampledFrom([]string{"", "a", "ab", "b", "a?x=1", "a/b", "?q"})
	rapid.Check(t, func(t *rapid.T) {
		path := rapid.SliceOfN(seg, 0, 4).Draw(t, "path")
		loc := "h.com"
		for _, s := range path {
			loc += "/" + s
		}
		var k intent.Key
		if rapid.Bool().Draw(t, "file") {
			k = file(rapid.SampledFrom([]string{"https://", "http://"}).Draw(t, "scheme") + loc)
		} else {
			k = prefix(loc)
		}
		var cands []string
		prefixCandidates(k, func(p string) bool { cands = append(cands, p); return false })
		// Every cut of the locator without a query is a possible prefix
		// value (prefixes carry no query).
		for i := 0; i <= len(loc) && !strings.Contains(loc[:i], "?"); i++ {
			p := prefix(loc[:i])
			if covers(p, k) && !slices.Contains(cands, p.Value) {
				t.Fatalf("%v covers %v but is not among the candidates %q", p, k, cands)
			}
		}
	})
}
