package batcher

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func prio(p intent.Priority, pt intent.Part) intent.Part {
	pt.Priority = p
	return pt
}

func tags(prefix string, n int) []intent.Key {
	out := make([]intent.Key, n)
	for i := range out {
		out[i] = tag(fmt.Sprint(prefix, i))
	}
	return out
}

// A high key that arrives after a low backlog goes in the next chunk, and
// fills it before the older low keys do.
func TestHighPriorityKeysGoFirst(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, prio(intent.PriorityLow, part(zoneA, tags("low-", 300)...)))
	later := t0.Add(time.Minute)
	mustAdd(t, b, 2, later, prio(intent.PriorityHigh, part(zoneA, tag("breaking"))))
	mustAdd(t, b, 3, later, part(zoneA, tag("normal")))
	c := mustNext(t, b, later, anyChunk)
	if len(c.Keys) != 100 || c.Keys[0] != tag("breaking") || c.Keys[1] != tag("normal") || c.Keys[2] != tag("low-0") {
		t.Fatalf("first chunk starts %v, want breaking, normal, then the oldest low keys", c.Keys[:3])
	}
	if res := b.Succeed(c.ID, later); !slices.Contains(res.Acked, 2) || !slices.Contains(res.Acked, 3) {
		t.Errorf("the first chunk acked %v, want the high and the normal intent", res.Acked)
	}
}

// Coalescing spans priorities: a high intent naming a pending low key
// makes that key high, and one chunk settles both intents.
func TestHighDuplicateRaisesAPendingLowKey(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, prio(intent.PriorityLow, part(zoneA, tags("low-", 150)...)))
	mustAdd(t, b, 2, t0.Add(time.Second), prio(intent.PriorityHigh, part(zoneA, tag("low-120"))))
	now := t0.Add(time.Minute)
	c := mustNext(t, b, now, anyChunk)
	if c.Keys[0] != tag("low-120") {
		t.Fatalf("first chunk starts with %v, want the raised low-120", c.Keys[0])
	}
	if n := slices.Index(c.Keys[1:], tag("low-120")); n >= 0 {
		t.Errorf("low-120 twice in the chunk")
	}
	if res := b.Succeed(c.ID, now); !slices.Equal(res.Acked, handles(2)) {
		t.Errorf("acked %v, want the high intent only (the low one still needs 50 keys)", res.Acked)
	}
	if s := b.Stats(); s.Duplicates != 1 || s.PendingKeys != 50 {
		t.Errorf("stats %+v, want 1 duplicate and 50 keys pending", s)
	}
}

// A high key covered by a pending low host raises the host: the call that
// purges it goes first.
func TestHighCoveredKeyRaisesItsCoverer(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, prio(intent.PriorityLow, part(zoneA, host("www.example.com"))))
	mustAdd(t, b, 2, t0, prio(intent.PriorityLow, part(zoneA, host("img.example.com"))))
	mustAdd(t, b, 3, t0, prio(intent.PriorityLow, part(zoneA, tags("t", 5)...)))
	mustAdd(t, b, 4, t0.Add(time.Second), prio(intent.PriorityHigh, part(zoneA, file("https://img.example.com/a.png"))))
	now := t0.Add(time.Minute)
	c := mustNext(t, b, now, anyChunk)
	if c.Kind != intent.KindHost || c.Keys[0] != host("img.example.com") {
		t.Fatalf("first chunk %v %v, want the hosts chunk led by img.example.com", c.Kind, c.Keys)
	}
	if res := b.Succeed(c.ID, now); !slices.Contains(res.Acked, 4) {
		t.Errorf("acked %v, want the high intent among them", res.Acked)
	}
}

// Between groups of the same account, the one holding a high key is picked
// first, even when another is older and full.
func TestHighPriorityGroupBeforeAnOlderFullOne(t *testing.T) {
	b := newBatcher(10)
	mustAdd(t, b, 1, t0, prio(intent.PriorityLow, part(zoneA, tags("a", 30)...)))
	mustAdd(t, b, 2, t0.Add(time.Second), prio(intent.PriorityHigh, part(zoneB, tag("b"))))
	now := t0.Add(time.Minute)
	if c := mustNext(t, b, now, anyChunk); c.ZoneID != zoneB {
		t.Fatalf("first chunk for zone %s, want zone B's high key", c.ZoneID)
	}
	// Not before its window, though: priority orders what is ready.
	b2 := newBatcher(10)
	mustAdd(t, b2, 1, t0, prio(intent.PriorityLow, part(zoneA, tags("a", 30)...)))
	mustAdd(t, b2, 2, now, prio(intent.PriorityHigh, part(zoneB, tag("b"))))
	if c := mustNext(t, b2, now, anyChunk); c.ZoneID != zoneA {
		t.Fatalf("first chunk for zone %s, want zone A: B's window has not passed", c.ZoneID)
	}
}
