package batcher

import (
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func TestWindow(t *testing.T) {
	b := newBatcher(3)
	mustAdd(t, b, 1, t0, part(zoneA, file("https://h.com/a")))
	mustAdd(t, b, 2, t0.Add(400*time.Millisecond), part(zoneA, file("https://h.com/b")))

	if due, ok := b.Due(anyChunk); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("Due = %v, %v, want t0+1s (window after the oldest key)", due, ok)
	}
	noNext(t, b, t0, anyChunk)
	noNext(t, b, t0.Add(999*time.Millisecond), anyChunk)
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	want := []intent.Key{file("https://h.com/a"), file("https://h.com/b")}
	if !slices.Equal(c.Keys, want) || c.ZoneID != zoneA || c.Mode != intent.ModePurge || c.Kind != intent.KindFile {
		t.Errorf("chunk = %+v, want files %v of zone A", c, want)
	}
	if _, ok := b.Due(anyChunk); ok {
		t.Error("Due reports work with every key in flight")
	}
}

// A full group waits for its window like any other, so that duplicates and
// coverers later in a burst join it; at the window groups go oldest first.
func TestFullGroupWaitsForItsWindow(t *testing.T) {
	b := newBatcher(3)
	mustAdd(t, b, 1, t0, part(zoneA, tag("old")))
	for i, u := range []string{"a", "b", "c", "d"} {
		mustAdd(t, b, Handle(10+i), t0.Add(time.Duration(i+1)*time.Millisecond), part(zoneA, file("https://h.com/"+u)))
	}
	if due, ok := b.Due(anyChunk); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("Due = %v, %v, want t0+1s although the files group is full", due.Sub(t0), ok)
	}
	noNext(t, b, t0.Add(999*time.Millisecond), anyChunk)
	now := t0.Add(2 * time.Second)
	if c := mustNext(t, b, now, anyChunk); c.Kind != intent.KindTag {
		t.Errorf("chunk = %+v, want the older tag group first", c)
	}
	c := mustNext(t, b, now, anyChunk)
	if c.Kind != intent.KindFile || len(c.Keys) != 3 || c.Keys[0] != file("https://h.com/a") {
		t.Fatalf("chunk = %+v, want the 3 oldest files", c)
	}
	if c := mustNext(t, b, now, anyChunk); !slices.Equal(c.Keys, []intent.Key{file("https://h.com/d")}) {
		t.Errorf("chunk = %+v, want the last file", c)
	}
}

// A purge_everything waits for its window too: the keys it covers that
// arrive meanwhile ride along instead of costing calls.
func TestEverythingWaitsForItsWindow(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, all))
	noNext(t, b, t0.Add(999*time.Millisecond), anyChunk)
	mustAdd(t, b, 2, t0.Add(500*time.Millisecond), part(zoneA, tag("t"), file("https://h.com/a")))
	c := mustNext(t, b, t0.Add(time.Second), Filter{Flex: true})
	if c.Kind != intent.KindEverything || !slices.Equal(c.Keys, []intent.Key{all}) {
		t.Errorf("chunk = %+v, want purge_everything alone", c)
	}
	if res := b.Succeed(c.ID, t0.Add(time.Second)); !slices.Equal(sortedHandles(res.Acked), handles(1, 2)) {
		t.Errorf("acked %v, want both", res.Acked)
	}
}

func TestEverythingKeyIsNormalised(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, intent.Key{Kind: intent.KindEverything, Value: "x"}))
	mustAdd(t, b, 2, t0, part(zoneA, all))
	if c := mustNext(t, b, t0.Add(time.Second), anyChunk); !slices.Equal(c.Keys, []intent.Key{all}) {
		t.Errorf("chunk = %+v, want one purge_everything", c)
	}
}

// A capped worker receives nothing more until it settles something: full
// groups go at once, full first; partial ones only when nothing is full and
// nothing is in flight, the oldest first.
func TestCappedSendsFullGroupsThenTheOldest(t *testing.T) {
	b := newBatcher(2)
	capped := Filter{Flex: true, Files: true, Capped: true}
	mustAdd(t, b, 1, t0, part(zoneA, tag("t")))
	mustAdd(t, b, 2, t0.Add(time.Millisecond), part(zoneA, file("https://h.com/a"), file("https://h.com/b"), file("https://h.com/c")))
	mustAdd(t, b, 3, t0.Add(2*time.Millisecond), part(zoneB, tag("u")))
	now := t0.Add(3 * time.Millisecond)
	if due, ok := b.Due(capped); !ok || due.After(now) {
		t.Fatalf("Due(capped) = %v, %v, want now with a full group", due.Sub(t0), ok)
	}
	full := mustNext(t, b, now, capped)
	if full.Kind != intent.KindFile || len(full.Keys) != 2 {
		t.Fatalf("chunk = %+v, want the full files group first", full)
	}
	// A chunk in flight will free messages: partial groups wait.
	noNext(t, b, now, capped)
	if due, _ := b.Due(capped); !due.Equal(t0.Add(time.Second)) {
		t.Errorf("Due(capped) with a chunk in flight = %v, want the window", due.Sub(t0))
	}
	b.Succeed(full.ID, now)
	// Nothing full, nothing in flight: the oldest group, then wait again.
	if c := mustNext(t, b, now, capped); c.ZoneID != zoneA || c.Kind != intent.KindTag {
		t.Fatalf("chunk = %+v, want zone A's tag, the oldest", c)
	}
	noNext(t, b, now, capped)
	// Without the cap, windows apply.
	noNext(t, b, now, anyChunk)
}

// After a cap, full groups stay due while the worker is relieving; partial
// ones wait for their window, since messages can arrive again.
func TestRelievingSendsFullGroupsOnly(t *testing.T) {
	b := newBatcher(2)
	mustAdd(t, b, 1, t0, part(zoneA, tag("a"), tag("b"), tag("c")))
	relieving := Filter{Flex: true, Files: true, Relieving: true}
	now := t0.Add(time.Millisecond)
	c := mustNext(t, b, now, relieving)
	if len(c.Keys) != 2 {
		t.Fatalf("chunk = %v, want the full pair", c.Keys)
	}
	b.Succeed(c.ID, now)
	noNext(t, b, now, relieving)
	if due, _ := b.Due(relieving); !due.Equal(t0.Add(time.Second)) {
		t.Errorf("Due(relieving) = %v with only a partial group, want its window", due.Sub(t0))
	}
}

// While the worker still pulls a backlog, no window ends before HoldUntil.
func TestHoldUntilExtendsTheWindow(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, tag("t")))
	hold := Filter{Flex: true, Files: true, HoldUntil: t0.Add(3 * time.Second)}
	if due, ok := b.Due(hold); !ok || !due.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("Due = %v, %v, want HoldUntil", due.Sub(t0), ok)
	}
	noNext(t, b, t0.Add(2*time.Second), hold)
	mustNext(t, b, t0.Add(3*time.Second), hold)
}

func TestForce(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, tag("a")))
	noNext(t, b, t0, anyChunk)
	force := Filter{Flex: true, Files: true, Force: true}
	if due, ok := b.Due(force); !ok || !due.Equal(t0) {
		t.Errorf("Due(force) = %v, %v, want t0", due, ok)
	}
	mustNext(t, b, t0, force)
}

func TestFilter(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, file("https://h.com/a"), tag("a")), part(zoneB, tag("b")))
	now := t0.Add(time.Second)
	onlyB := func(z string) bool { return z == zoneB }

	noNext(t, b, now, Filter{})
	noNext(t, b, now, Filter{Files: true, Zone: onlyB})
	if _, ok := b.Due(Filter{Files: true, Zone: onlyB}); ok {
		t.Error("Due reports files in zone B")
	}
	c := mustNext(t, b, now, Filter{Flex: true, Zone: onlyB})
	if c.ZoneID != zoneB || c.Kind != intent.KindTag {
		t.Errorf("chunk = %+v, want zone B's tag", c)
	}
	c = mustNext(t, b, now, Filter{Files: true})
	if c.ZoneID != zoneA || c.Kind != intent.KindFile {
		t.Errorf("chunk = %+v, want zone A's file", c)
	}
	c = mustNext(t, b, now, Filter{Flex: true})
	if c.ZoneID != zoneA || c.Kind != intent.KindTag {
		t.Errorf("chunk = %+v, want zone A's tag", c)
	}
}

func TestChunksOldestFirst(t *testing.T) {
	b := newBatcher(2)
	// Received out of order: the chunk still takes the oldest.
	mustAdd(t, b, 1, t0.Add(30*time.Millisecond), part(zoneA, tag("c")))
	mustAdd(t, b, 2, t0.Add(10*time.Millisecond), part(zoneA, tag("a")))
	mustAdd(t, b, 3, t0.Add(20*time.Millisecond), part(zoneA, tag("b")))
	c := mustNext(t, b, t0.Add(2*time.Second), anyChunk)
	if !slices.Equal(c.Keys, []intent.Key{tag("a"), tag("b")}) {
		t.Errorf("chunk keys = %v, want a, b", c.Keys)
	}
	if got := b.Stats().Oldest; !got.Equal(t0.Add(30 * time.Millisecond)) {
		t.Errorf("Oldest = %v, want t0+30ms", got.Sub(t0))
	}
}

// A key folded under a later coverer keeps its place in time: the coverer
// goes when the key's window ends.
func TestCovererInheritsOldestTime(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, file("https://h.com/a")))
	mustAdd(t, b, 2, t0.Add(900*time.Millisecond), part(zoneA, host("h.com")))
	if due, _ := b.Due(anyChunk); !due.Equal(t0.Add(time.Second)) {
		t.Errorf("Due = %v, want t0+1s", due.Sub(t0))
	}
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	if !slices.Equal(c.Keys, []intent.Key{host("h.com")}) {
		t.Errorf("chunk = %v, want the host", c.Keys)
	}
}
