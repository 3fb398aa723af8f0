package batcher

import (
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// TestCoalesce adds each case's messages inside one window, drains, and
// checks which keys went out in which chunks and what was counted.
func TestCoalesce(t *testing.T) {
	mobile := map[string]string{"CF-Device-Type": "mobile"}
	tests := []struct {
		name       string
		adds       [][]intent.Part // one message each
		want       [][]intent.Key  // chunks, keys in order
		dups, covs uint64
	}{
		{
			name: "same file twice is one key",
			adds: [][]intent.Part{{part(zoneA, file("https://h.com/a"))}, {part(zoneA, file("https://h.com/a"))}},
			want: [][]intent.Key{{file("https://h.com/a")}},
			dups: 1,
		},
		{
			name: "a key listed twice in one message counts once",
			adds: [][]intent.Part{{part(zoneA, file("https://h.com/a"), file("https://h.com/a"))}},
			want: [][]intent.Key{{file("https://h.com/a")}},
		},
		{
			name: "http and https are different keys",
			adds: [][]intent.Part{{part(zoneA, file("https://h.com/a"))}, {part(zoneA, file("http://h.com/a"))}},
			want: [][]intent.Key{{file("https://h.com/a"), file("http://h.com/a")}},
		},
		{
			name: "headers are part of a file key",
			adds: [][]intent.Part{
				{part(zoneA, file("https://h.com/a"))},
				{part(zoneA, fileH("https://h.com/a", mobile))},
				{part(zoneA, fileH("https://h.com/a", map[string]string{"cf-device-type": "mobile"}))},
			},
			want: [][]intent.Key{{file("https://h.com/a"), fileH("https://h.com/a", mobile)}},
			dups: 1,
		},
		{
			name: "tags are case-insensitive",
			adds: [][]intent.Part{{part(zoneA, tag("Post-42"))}, {part(zoneA, tag("post-42"))}, {part(zoneA, tag("POST-42"))}},
			want: [][]intent.Key{{tag("post-42")}},
			dups: 2,
		},
		{
			name: "zones are kept apart",
			adds: [][]intent.Part{{part(zoneA, tag("a"))}, {part(zoneB, tag("a"))}},
			want: [][]intent.Key{{tag("a")}, {tag("a")}},
		},
		{
			name: "modes are kept apart",
			adds: [][]intent.Part{{part(zoneA, tag("a"))}, {inval(zoneA, tag("a"))}, {inval(zoneA, host("h.com"))}},
			want: [][]intent.Key{{tag("a")}, {tag("a")}, {host("h.com")}},
		},
		{
			name: "kinds are kept apart",
			adds: [][]intent.Part{{part(zoneA, tag("a"), file("https://h.com/a"), host("g.com"), prefix("g.com/x"))}},
			want: [][]intent.Key{{file("https://h.com/a")}, {tag("a")}, {host("g.com")}},
			covs: 1,
		},
		{
			name: "host arriving after the file covers it",
			adds: [][]intent.Part{{part(zoneA, file("https://h.com/a"), file("http://h.com/b"))}, {part(zoneA, host("h.com"))}},
			want: [][]intent.Key{{host("h.com")}},
			covs: 2,
		},
		{
			name: "file arriving after the host is covered",
			adds: [][]intent.Part{{part(zoneA, host("h.com"))}, {part(zoneA, file("https://h.com/a"), fileH("https://h.com/b", mobile))}},
			want: [][]intent.Key{{host("h.com")}},
			covs: 2,
		},
		{
			name: "host covers prefixes and their files",
			adds: [][]intent.Part{
				{part(zoneA, prefix("h.com/blog"))},
				{part(zoneA, file("https://h.com/blog/1"))},
				{part(zoneA, host("h.com"))},
				{part(zoneA, file("https://h.com/blog/1"))},
			},
			want: [][]intent.Key{{host("h.com")}},
			covs: 2, dups: 1,
		},
		{
			name: "host does not cover other hosts or tags",
			adds: [][]intent.Part{{part(zoneA, host("h.com"), file("https://www.h.com/a"), tag("h.com"), prefix("g.com/x"))}},
			want: [][]intent.Key{{file("https://www.h.com/a")}, {tag("h.com")}, {host("h.com")}, {prefix("g.com/x")}},
		},
		{
			name: "prefix covers files below and at it",
			adds: [][]intent.Part{
				{part(zoneA, prefix("h.com/foo"))},
				{part(zoneA, file("https://h.com/foo"), file("https://h.com/foo/a"), file("http://h.com/foo?x=1"))},
			},
			want: [][]intent.Key{{prefix("h.com/foo")}},
			covs: 3,
		},
		{
			name: "/foo does not cover /foobar",
			adds: [][]intent.Part{
				{part(zoneA, prefix("h.com/foo"))},
				{part(zoneA, file("https://h.com/foobar"), prefix("h.com/foobaz"))},
			},
			want: [][]intent.Key{{file("https://h.com/foobar")}, {prefix("h.com/foo"), prefix("h.com/foobaz")}},
		},
		{
			name: "shorter prefix arriving later takes the longer one and its files",
			adds: [][]intent.Part{
				{part(zoneA, file("https://h.com/foo/bar/x"))},
				{part(zoneA, prefix("h.com/foo/bar"))},
				{part(zoneA, prefix("h.com/foo"))},
			},
			want: [][]intent.Key{{prefix("h.com/foo")}},
			covs: 2,
		},
		{
			name: "longer prefix arriving later is covered",
			adds: [][]intent.Part{{part(zoneA, prefix("h.com/foo"))}, {part(zoneA, prefix("h.com/foo/bar"))}},
			want: [][]intent.Key{{prefix("h.com/foo")}},
			covs: 1,
		},
		{
			name: "everything arriving last covers the zone and mode",
			adds: [][]intent.Part{
				{part(zoneA, tag("a"), file("https://h.com/a"), host("g.com"), prefix("h.com/x"))},
				{part(zoneA, all)},
				{inval(zoneA, tag("a"))},
				{part(zoneB, tag("a"))},
			},
			want: [][]intent.Key{{all}, {tag("a")}, {tag("a")}},
			covs: 4,
		},
		{
			name: "everything arriving first covers what follows",
			adds: [][]intent.Part{{part(zoneA, all)}, {part(zoneA, tag("a"), file("https://h.com/a"), host("g.com"))}, {part(zoneA, all)}},
			want: [][]intent.Key{{all}},
			covs: 3, dups: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBatcher(100)
			for i, parts := range tt.adds {
				mustAdd(t, b, Handle(i+1), t0.Add(time.Duration(i)*time.Millisecond), parts...)
			}
			s := b.Stats()
			if s.Duplicates != tt.dups || s.Covered != tt.covs {
				t.Errorf("Duplicates, Covered = %d, %d, want %d, %d", s.Duplicates, s.Covered, tt.dups, tt.covs)
			}
			chunks, acked := drain(t, b, t0.Add(time.Second))
			var got [][]intent.Key
			for _, c := range chunks {
				got = append(got, c.Keys)
			}
			if !equalChunks(got, tt.want) {
				t.Errorf("chunks = %v, want %v", got, tt.want)
			}
			if len(acked) != len(tt.adds) {
				t.Errorf("acked %v, want all %d handles", acked, len(tt.adds))
			}
			if s := b.Stats(); s != (Stats{Duplicates: tt.dups, Covered: tt.covs, Chunks: uint64(len(chunks))}) {
				t.Errorf("Stats after drain = %+v", s)
			}
		})
	}
}

// equalChunks compares chunk lists ignoring the order of the chunks (groups
// of equal age go in creation order, which the cases do not pin).
func equalChunks(got, want [][]intent.Key) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(want))
next:
	for _, g := range got {
		for i, w := range want {
			if !used[i] && slices.Equal(g, w) {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

func TestAddEmpty(t *testing.T) {
	b := newBatcher(100)
	if b.Add(1, 1, t0, nil) {
		t.Error("Add with no parts = true, want false")
	}
	if b.Add(2, 2, t0, []intent.Part{part(zoneA), inval(zoneB)}) {
		t.Error("Add with empty parts = true, want false")
	}
	if s := b.Stats(); s.Handles != 0 || s.PendingKeys != 0 {
		t.Errorf("Stats = %+v, want nothing held", s)
	}
	if _, ok := b.Due(Filter{Flex: true, Files: true, Force: true}); ok {
		t.Error("Due reports work after empty adds")
	}
}

func TestAddSameHandleTwicePanics(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, tag("a")))
	defer func() {
		if recover() == nil {
			t.Error("second Add of handle 1 did not panic")
		}
	}()
	b.Add(1, 1, t0, []intent.Part{part(zoneA, tag("b"))})
}

func TestAddUnknownKindPanicsWithoutChange(t *testing.T) {
	b := newBatcher(100)
	defer func() {
		if recover() == nil {
			t.Error("Add of an unknown kind did not panic")
		}
		if s := b.Stats(); s.Handles != 0 || s.PendingKeys != 0 {
			t.Errorf("Stats = %+v after a refused Add", s)
		}
	}()
	b.Add(1, 1, t0, []intent.Part{part(zoneA, tag("a"), intent.Key{Kind: 9, Value: "x"})})
}

func TestNewDefaults(t *testing.T) {
	b := New(Config{Window: -time.Second})
	for i := range 150 {
		mustAdd(t, b, Handle(i+1), t0, part(zoneA, tag(string(rune('a'+i%26))+string(rune('a'+i/26)))))
	}
	// A negative window counts as zero, and nil MaxKeys as DefaultMaxKeys.
	c := mustNext(t, b, t0, anyChunk)
	if len(c.Keys) != DefaultMaxKeys {
		t.Errorf("first chunk has %d keys, want %d", len(c.Keys), DefaultMaxKeys)
	}
	b.Succeed(c.ID, t0)
	c = mustNext(t, b, t0, anyChunk)
	if len(c.Keys) != 50 {
		t.Errorf("second chunk has %d keys, want 50", len(c.Keys))
	}
}

func TestMaxKeysBelowOneIsOne(t *testing.T) {
	b := New(Config{Window: time.Second, MaxKeys: func(string, intent.Kind) int { return 0 }})
	mustAdd(t, b, 1, t0, part(zoneA, tag("a"), tag("b")))
	if c := mustNext(t, b, t0.Add(time.Second), anyChunk); len(c.Keys) != 1 {
		t.Errorf("chunk has %d keys, want 1", len(c.Keys))
	}
}
