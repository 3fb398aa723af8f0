package batcher

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// TestCoverageRules checks each coverage rule through the batcher, in both
// arrival orders: a covered key is purged by its coverer alone, an uncovered
// one goes out itself (the pairs listed as not covered are covered in
// neither direction). The rules are intent.Covers's; this proves the index
// finds every coverer (and sweeps every covered key) they allow.
func TestCoverageRules(t *testing.T) {
	mobile := map[string]string{"CF-Device-Type": "mobile"}
	tests := []struct {
		broad, narrow intent.Key
		covered       bool
	}{
		{all, file("https://www.example.com/a.css"), true},
		{all, tag("post-42"), true},
		{all, host("www.example.com"), true},
		{all, prefix("www.example.com/blog"), true},
		{host("h.com"), file("https://h.com/a.css"), true},
		{host("h.com"), file("http://h.com/a.css"), true},
		{host("h.com"), fileH("https://h.com/a", mobile), true},
		{host("h.com"), file("https://h.com/?x=1"), true},
		{host("h.com"), prefix("h.com/blog"), true},
		{host("h.com"), prefix("h.com/"), true},
		{host("h.com"), file("https://h.com:8443/a"), false}, // no host key covers another port
		{host("h.com"), file("https://img.h.com/a"), false},
		{host("www.h.com"), file("https://h.com/a"), false},
		{host("h.com"), host("g.com"), false},
		{host("h.com"), tag("h.com"), false},
		{prefix("h.com/foo"), file("https://h.com/foo"), true},
		{prefix("h.com/foo"), file("https://h.com/foo/bar.css"), true},
		{prefix("h.com/foo"), file("https://h.com/foo?v=2"), true},
		{prefix("h.com/foo"), file("http://h.com/foo/x"), true},
		{prefix("h.com/foo"), fileH("https://h.com/foo/x", mobile), true},
		{prefix("h.com/foo"), prefix("h.com/foo/bar"), true},
		{prefix("h.com/foo"), prefix("h.com/foo/"), true},
		{prefix("h.com/foo"), file("https://h.com/foobar"), false},
		{prefix("h.com/foo"), prefix("h.com/foobar"), false},
		{prefix("h.com/foo"), file("https://h.com/Foo/a"), false},
		{prefix("h.com/foo"), file("https://g.com/foo"), false},
		{prefix("h.com/foo"), file("https://h.com:8443/foo"), false},
		{prefix("h.com/foo/"), file("https://h.com/foo/a"), true},
		{prefix("h.com/foo/"), prefix("h.com/foo/bar"), true},
		{prefix("h.com/foo/"), file("https://h.com/foo"), false},
		{prefix("h.com/"), file("https://h.com/a/b?c"), true},
		{prefix("h.com/foo/bar"), prefix("h.com/foo/baz"), false},
		{prefix("h.com/foo"), tag("h.com/foo"), false},
		{file("https://h.com/"), file("https://h.com/a"), false},
		{tag("a"), tag("a-b"), false},
	}
	for _, tt := range tests {
		for _, broadFirst := range []bool{false, true} {
			name := fmt.Sprintf("%v over %v, broad first %v", tt.broad, tt.narrow, broadFirst)
			t.Run(name, func(t *testing.T) {
				b := newBatcher(100)
				first, second := tt.narrow, tt.broad
				if broadFirst {
					first, second = second, first
				}
				mustAdd(t, b, 1, t0, part(zoneA, first))
				mustAdd(t, b, 2, t0.Add(time.Millisecond), part(zoneA, second))
				var wantCovered uint64
				if tt.covered {
					wantCovered = 1
				}
				if s := b.Stats(); s.Covered != wantCovered || s.PendingKeys != 2 {
					t.Errorf("Stats = %+v, want Covered %d and 2 keys pending", s, wantCovered)
				}
				chunks, acked := drain(t, b, t0.Add(time.Second))
				var sent []intent.Key
				for _, c := range chunks {
					sent = append(sent, c.Keys...)
				}
				want := []intent.Key{tt.broad, tt.narrow}
				if tt.covered {
					want = want[:1]
				}
				if !sameKeys(sent, want) {
					t.Errorf("sent %v, want %v", sent, want)
				}
				if !slices.Equal(acked, handles(1, 2)) {
					t.Errorf("acked %v, want [1 2]", acked)
				}
			})
		}
	}
}

// TestCoverageChainsFlatten folds a chain of coverers arriving narrowest
// first: each new one takes the previous one and what it held.
func TestCoverageChainsFlatten(t *testing.T) {
	b := newBatcher(100)
	chain := []intent.Key{
		file("https://h.com/a/b/c.css"),
		prefix("h.com/a/b"),
		prefix("h.com/a/"),
		prefix("h.com/a"),
		host("h.com"),
		all,
	}
	for i, k := range chain {
		mustAdd(t, b, Handle(i+1), t0.Add(time.Duration(i)*time.Millisecond), part(zoneA, k))
	}
	if s := b.Stats(); s.Covered != 5 || s.PendingKeys != 6 || !s.Oldest.Equal(t0) {
		t.Errorf("Stats = %+v, want 5 covered of 6 pending since t0", s)
	}
	chunks, acked := drain(t, b, t0.Add(time.Second))
	if len(chunks) != 1 || !slices.Equal(chunks[0].Keys, []intent.Key{all}) || len(acked) != 6 {
		t.Errorf("drain = %v, %v; want purge_everything alone acking all 6", chunks, acked)
	}
}
