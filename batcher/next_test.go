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

func TestFullGroupGoesAtOnce(t *testing.T) {
	b := newBatcher(3)
	mustAdd(t, b, 1, t0, part(zoneA, tag("old")))
	for i, u := range []string{"a", "b", "c", "d"} {
		mustAdd(t, b, Handle(10+i), t0.Add(time.Duration(i+1)*time.Millisecond), part(zoneA, file("https://h.com/"+u)))
	}
	now := t0.Add(5 * time.Millisecond)
	if due, ok := b.Due(anyChunk); !ok || due.After(now) {
		t.Fatalf("Due = %v, %v, want at or before now with a full group", due, ok)
	}
	// The full files group goes first although the tag is older.
	c := mustNext(t, b, now, anyChunk)
	if c.Kind != intent.KindFile || len(c.Keys) != 3 || c.Keys[0] != file("https://h.com/a") {
		t.Fatalf("chunk = %+v, want the 3 oldest files", c)
	}
	noNext(t, b, now, anyChunk)
	if due, _ := b.Due(anyChunk); !due.Equal(t0.Add(time.Second)) {
		t.Errorf("Due = %v, want t0+1s for the tag", due.Sub(t0))
	}
	// At the window, the oldest group first.
	c = mustNext(t, b, t0.Add(2*time.Second), anyChunk)
	if c.Kind != intent.KindTag {
		t.Errorf("chunk = %+v, want the older tag group", c)
	}
	c = mustNext(t, b, t0.Add(2*time.Second), anyChunk)
	if !slices.Equal(c.Keys, []intent.Key{file("https://h.com/d")}) {
		t.Errorf("chunk = %+v, want the last file", c)
	}
}

func TestEverythingIsASingleKeyChunkAtOnce(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, all))
	c := mustNext(t, b, t0, Filter{Flex: true})
	if c.Kind != intent.KindEverything || !slices.Equal(c.Keys, []intent.Key{all}) {
		t.Errorf("chunk = %+v, want purge_everything alone", c)
	}
}

func TestEverythingKeyIsNormalised(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, intent.Key{Kind: intent.KindEverything, Value: "x"}))
	mustAdd(t, b, 2, t0, part(zoneA, all))
	if c := mustNext(t, b, t0, anyChunk); !slices.Equal(c.Keys, []intent.Key{all}) {
		t.Errorf("chunk = %+v, want one purge_everything", c)
	}
}

// While the worker still has a backlog to pull, a full group waits for its
// window like any other, so that duplicates further down the backlog join
// it; Force still overrides.
func TestPatientFullGroupWaitsForItsWindow(t *testing.T) {
	b := newBatcher(2)
	mustAdd(t, b, 1, t0, part(zoneA, file("https://h.com/a"), file("https://h.com/b")))
	mustAdd(t, b, 2, t0.Add(10*time.Millisecond), part(zoneA, tag("t")))
	patient := Filter{Flex: true, Files: true, Patient: true}
	if due, ok := b.Due(patient); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("Due(patient) = %v, %v, want t0+1s", due.Sub(t0), ok)
	}
	noNext(t, b, t0.Add(999*time.Millisecond), patient)
	if due, _ := b.Due(anyChunk); !due.Equal(t0) {
		t.Errorf("Due = %v, want t0: without Patient the full group is due", due.Sub(t0))
	}
	if _, ok := b.Next(t0, Filter{Flex: true, Files: true, Patient: true, Force: true}); !ok {
		t.Error("Force did not override Patient")
	}
	// At the window, groups go oldest first: fullness no longer jumps
	// the queue.
	mustAdd(t, b, 3, t0.Add(20*time.Millisecond), part(zoneA, file("https://h.com/c"), file("https://h.com/d")))
	now := t0.Add(2 * time.Second)
	if c := mustNext(t, b, now, patient); c.Kind != intent.KindTag {
		t.Errorf("chunk = %+v, want the older tag first", c)
	}
	if c := mustNext(t, b, now, patient); !slices.Equal(c.Keys, []intent.Key{file("https://h.com/c"), file("https://h.com/d")}) {
		t.Errorf("chunk = %+v, want files c and d", c)
	}
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
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
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
