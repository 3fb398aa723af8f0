package batcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func TestEqualKeyInFlightWaitsForNextCall(t *testing.T) {
	b := newBatcher(100)
	f := file("https://h.com/a")
	mustAdd(t, b, 1, t0, part(zoneA, f))
	c1 := mustNext(t, b, t0.Add(time.Second), anyChunk)
	mustAdd(t, b, 2, t0.Add(1100*time.Millisecond), part(zoneA, f))
	if s := b.Stats(); s.Duplicates != 0 || s.PendingKeys != 1 || s.InFlightKeys != 1 {
		t.Errorf("Stats = %+v, want the new key pending on its own", s)
	}
	if res := b.Succeed(c1.ID, t0.Add(1200*time.Millisecond)); !slices.Equal(res.Acked, handles(1)) {
		t.Errorf("Acked = %v, want [1] only", res.Acked)
	}
	_, acked := drain(t, b, t0.Add(3*time.Second))
	if !slices.Equal(acked, handles(2)) {
		t.Errorf("acked after drain = %v, want [2]", acked)
	}
}

func TestCovererInFlightDoesNotTakeNewKeys(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, host("h.com")))
	c1 := mustNext(t, b, t0.Add(time.Second), anyChunk)
	mustAdd(t, b, 2, t0.Add(1100*time.Millisecond), part(zoneA, file("https://h.com/a")))
	mustAdd(t, b, 3, t0.Add(1100*time.Millisecond), part(zoneA, prefix("h.com/x")))
	if s := b.Stats(); s.Covered != 0 || s.PendingKeys != 2 {
		t.Errorf("Stats = %+v, want 2 keys pending uncovered", s)
	}
	if res := b.Succeed(c1.ID, t0.Add(1200*time.Millisecond)); !slices.Equal(res.Acked, handles(1)) {
		t.Errorf("Acked = %v, want [1]", res.Acked)
	}
	chunks, acked := drain(t, b, t0.Add(3*time.Second))
	if len(chunks) != 2 || !slices.Equal(acked, handles(2, 3)) {
		t.Errorf("drain = %v, %v; want a file and a prefix chunk acking 2 and 3", chunks, acked)
	}
}

func TestSuccessAcksOnlyCompleteHandles(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, tag("a"), file("https://h.com/a")))
	mustAdd(t, b, 2, t0, part(zoneA, tag("a")), part(zoneB, tag("b")))
	mustAdd(t, b, 3, t0, part(zoneA, tag("a")))
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, Filter{Flex: true, Zone: func(z string) bool { return z == zoneA }})
	if res := b.Succeed(c.ID, now); !slices.Equal(res.Acked, handles(3)) {
		t.Errorf("Acked = %v, want [3]", res.Acked)
	}
	c = mustNext(t, b, now, Filter{Files: true})
	if res := b.Succeed(c.ID, now); !slices.Equal(res.Acked, handles(1)) {
		t.Errorf("Acked = %v, want [1]", res.Acked)
	}
	c = mustNext(t, b, now, anyChunk)
	if res := b.Succeed(c.ID, now); !slices.Equal(res.Acked, handles(2)) {
		t.Errorf("Acked = %v, want [2]", res.Acked)
	}
	if res := b.Succeed(c.ID, now); len(res.Acked)+len(res.Dead) != 0 {
		t.Errorf("second Succeed of chunk %d = %+v, want nothing", c.ID, res)
	}
}

func TestPermanentFailure(t *testing.T) {
	b := newBatcher(100)
	bad, good := file("https://h.com/bad"), file("https://h.com/good")
	mustAdd(t, b, 1, t0, part(zoneA, bad))
	mustAdd(t, b, 2, t0, part(zoneA, good))
	mustAdd(t, b, 3, t0, part(zoneA, bad, good), part(zoneA, tag("t3")))
	mustAdd(t, b, 4, t0, part(zoneA, tag("t3"), tag("t4")))
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, Filter{Files: true})
	res := b.Resolve(c.ID, now, Outcome{Failed: map[intent.Key]string{bad: "invalid url"}})
	if !slices.Equal(res.Acked, handles(2)) {
		t.Errorf("Acked = %v, want [2]", res.Acked)
	}
	wantDead := []Dead{{1, bad, "invalid url"}, {3, bad, "invalid url"}}
	if !slices.Equal(res.Dead, wantDead) {
		t.Errorf("Dead = %+v, want %+v", res.Dead, wantDead)
	}
	// Handle 3's tag is still needed by 4; nothing else is left.
	if s := b.Stats(); s.PendingKeys != 2 || s.Handles != 1 {
		t.Errorf("Stats = %+v, want tags t3, t4 for handle 4", s)
	}
	_, acked := drain(t, b, now)
	if !slices.Equal(acked, handles(4)) {
		t.Errorf("acked = %v, want [4]", acked)
	}
}

func TestDeadHandleLeavesUnneededKeys(t *testing.T) {
	b := newBatcher(100)
	bad := tag("bad")
	mustAdd(t, b, 1, t0, part(zoneA, bad, tag("mine"), host("h.com")), part(zoneB, tag("z")))
	mustAdd(t, b, 2, t0.Add(time.Millisecond), part(zoneA, file("https://h.com/a")))
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, Filter{Flex: true, Zone: func(z string) bool { return z == zoneA }})
	if c.Kind != intent.KindTag {
		t.Fatalf("chunk = %+v, want the tags", c)
	}
	b.Requeue(c.ID)
	c = mustNext(t, b, now, Filter{Flex: true, Zone: func(z string) bool { return z == zoneA }})
	if c.Kind != intent.KindTag || len(c.Keys) != 2 {
		t.Fatalf("chunk after Requeue = %+v, want both tags", c)
	}
	res := b.Resolve(c.ID, now, Outcome{Failed: map[intent.Key]string{bad: "refused"}})
	if len(res.Acked) != 0 || len(res.Dead) != 1 || res.Dead[0].Handle != 1 {
		t.Fatalf("Resolve = %+v, want handle 1 dead only", res)
	}
	// The host stays for handle 2's file; zone B's tag is gone.
	chunks, acked := drain(t, b, now)
	if len(chunks) != 1 || !slices.Equal(chunks[0].Keys, []intent.Key{host("h.com")}) || !slices.Equal(acked, handles(2)) {
		t.Errorf("drain = %+v, %v; want the host alone, acking 2", chunks, acked)
	}
}

func TestCovererFailsPermanently(t *testing.T) {
	b := newBatcher(100)
	h := host("h.com")
	fa, fb := file("https://h.com/a"), file("https://h.com/b")
	mustAdd(t, b, 1, t0, part(zoneA, h))
	mustAdd(t, b, 2, t0, part(zoneA, fa))
	mustAdd(t, b, 3, t0, part(zoneA, fb), part(zoneB, tag("t")))
	mustAdd(t, b, 4, t0, part(zoneA, h, fa))
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, Filter{Flex: true, Zone: func(z string) bool { return z == zoneA }})
	if !slices.Equal(c.Keys, []intent.Key{h}) {
		t.Fatalf("chunk = %v, want the host", c.Keys)
	}
	if s := b.Stats(); s.InFlightKeys != 3 {
		t.Errorf("InFlightKeys = %d, want the host and its 2 files", s.InFlightKeys)
	}
	res := b.Resolve(c.ID, now, Outcome{Failed: map[intent.Key]string{h: "host refused"}})
	if len(res.Acked) != 0 || !slices.Equal(res.Dead, []Dead{{1, h, "host refused"}, {4, h, "host refused"}}) {
		t.Fatalf("Resolve = %+v, want handles 1 and 4 dead for the host", res)
	}
	// The files go out on their own, at once: they keep their receive time.
	c = mustNext(t, b, now, Filter{Files: true})
	if !sameKeys(c.Keys, []intent.Key{fa, fb}) {
		t.Fatalf("chunk = %v, want both files", c.Keys)
	}
	if res := b.Succeed(c.ID, now); !slices.Equal(sortedHandles(res.Acked), handles(2)) || len(res.Dead) != 0 {
		t.Errorf("Succeed = %+v, want 2 acked", res)
	}
	_, acked := drain(t, b, now)
	if !slices.Equal(acked, handles(3)) {
		t.Errorf("acked = %v, want [3]", acked)
	}
}

func TestRetryKeepsTimesAndCoverage(t *testing.T) {
	b := newBatcher(100)
	p := prefix("h.com/blog")
	mustAdd(t, b, 1, t0, part(zoneA, p))
	mustAdd(t, b, 2, t0, part(zoneA, file("https://h.com/blog/1")))
	mustAdd(t, b, 3, t0, part(zoneA, prefix("g.com/x")))
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, anyChunk)
	if len(c.Keys) != 2 {
		t.Fatalf("chunk = %v, want both prefixes", c.Keys)
	}
	res := b.Resolve(c.ID, now, Outcome{Retry: []intent.Key{p}})
	if !slices.Equal(res.Acked, handles(3)) {
		t.Errorf("Acked = %v, want [3]", res.Acked)
	}
	if s := b.Stats(); s.PendingKeys != 2 || !s.Oldest.Equal(t0) {
		t.Errorf("Stats = %+v, want the prefix and its file pending since t0", s)
	}
	chunks, acked := drain(t, b, now)
	if len(chunks) != 1 || !slices.Equal(chunks[0].Keys, []intent.Key{p}) || !slices.Equal(acked, handles(1, 2)) {
		t.Errorf("drain = %+v, %v; want the prefix alone acking 1 and 2", chunks, acked)
	}
}

// A retried key meets an equal key that arrived while it was in flight: they
// merge, and one call settles both.
func TestRetryMergesWithNewEqualKey(t *testing.T) {
	b := newBatcher(100)
	f := file("https://h.com/a")
	mustAdd(t, b, 1, t0, part(zoneA, f))
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	mustAdd(t, b, 2, t0.Add(1100*time.Millisecond), part(zoneA, f))
	b.Resolve(c.ID, t0.Add(1200*time.Millisecond), Outcome{Retry: []intent.Key{f}})
	if s := b.Stats(); s.PendingKeys != 1 || !s.Oldest.Equal(t0) {
		t.Errorf("Stats = %+v, want one key pending since t0", s)
	}
	// The merged key is due at once, on handle 1's time.
	c = mustNext(t, b, t0.Add(1200*time.Millisecond), anyChunk)
	if res := b.Succeed(c.ID, t0.Add(1300*time.Millisecond)); !slices.Equal(sortedHandles(res.Acked), handles(1, 2)) {
		t.Errorf("Acked = %v, want [1 2]", res.Acked)
	}
}

// A retried coverer takes in keys that arrived while it was in flight.
func TestRetriedCovererTakesNewKeys(t *testing.T) {
	b := newBatcher(100)
	h := host("h.com")
	mustAdd(t, b, 1, t0, part(zoneA, h))
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	mustAdd(t, b, 2, t0.Add(1100*time.Millisecond), part(zoneA, file("https://h.com/a")))
	b.Requeue(c.ID)
	if s := b.Stats(); s.PendingKeys != 2 || s.InFlightKeys != 0 {
		t.Errorf("Stats = %+v", s)
	}
	chunks, acked := drain(t, b, t0.Add(1200*time.Millisecond))
	if len(chunks) != 1 || !slices.Equal(chunks[0].Keys, []intent.Key{h}) || !slices.Equal(acked, handles(1, 2)) {
		t.Errorf("drain = %+v, %v; want the host acking 1 and 2", chunks, acked)
	}
}

func TestShrink(t *testing.T) {
	b := newBatcher(8)
	for i := range 9 {
		mustAdd(t, b, Handle(i+1), t0.Add(time.Duration(i)*time.Millisecond), part(zoneA, tag(string(rune('a'+i)))))
	}
	mustAdd(t, b, 100, t0, part(zoneB, tag("zb")), inval(zoneA, file("https://h.com/f")))
	now := t0.Add(10 * time.Millisecond) // before any window ends: only full groups go, capped
	inA := Filter{Flex: true, Capped: true, Zone: func(z string) bool { return z == zoneA }}
	inAWindow := Filter{Flex: true, Zone: inA.Zone}
	next := func(now time.Time, want int) Chunk {
		t.Helper()
		c := mustNext(t, b, now, inA)
		if len(c.Keys) != want {
			t.Fatalf("chunk = %v, want %d keys", c.Keys, want)
		}
		return c
	}
	succeed := func(c Chunk, want ...Handle) {
		t.Helper()
		if res := b.Succeed(c.ID, now); !slices.Equal(sortedHandles(res.Acked), want) {
			t.Fatalf("Acked = %v, want %v", res.Acked, want)
		}
	}

	b.Shrink(next(now, 8).ID, 0) // 8 -> 4
	c := next(now, 4)
	if !slices.Equal(c.Keys, []intent.Key{tag("a"), tag("b"), tag("c"), tag("d")}) {
		t.Errorf("chunk after Shrink = %v, want the 4 oldest", c.Keys)
	}
	succeed(c, 1, 2, 3, 4)
	b.Shrink(next(now, 4).ID, 0) // 4 -> 2
	succeed(next(now, 2), 5, 6)
	succeed(next(now, 2), 7, 8)
	noNext(t, b, now, inAWindow) // one tag left, its window still open
	later := t0.Add(time.Second + 10*time.Millisecond)
	b.Shrink(next(later, 1).ID, 0) // 2 -> 1
	b.Shrink(next(later, 1).ID, 0) // floor 1
	if got := b.max(zoneA, intent.KindTag); got != 1 {
		t.Errorf("max(A, tags) = %d, want 1", got)
	}
	// The other zone and zone A's files keep their maxima.
	if b.max(zoneB, intent.KindTag) != 8 || b.max(zoneA, intent.KindFile) != 8 {
		t.Errorf("maxima of B's tags and A's files = %d, %d; want 8, 8",
			b.max(zoneB, intent.KindTag), b.max(zoneA, intent.KindFile))
	}
	_, acked := drain(t, b, later)
	if !slices.Equal(acked, handles(9, 100)) {
		t.Errorf("acked = %v, want [9 100]", acked)
	}
}

func TestShrinkUsesSmallerPlanMaximum(t *testing.T) {
	limit := 100
	b := New(Config{Window: time.Second, MaxKeys: func(string, intent.Kind) int { return limit }})
	for i := range 100 {
		mustAdd(t, b, Handle(i+1), t0, part(zoneA, file("https://h.com/"+string(rune('a'+i%26))+string(rune('a'+i/26)))))
	}
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, anyChunk)
	b.Shrink(c.ID, 0) // 50
	c = mustNext(t, b, now, anyChunk)
	if len(c.Keys) != 50 {
		t.Fatalf("chunk has %d keys, want 50", len(c.Keys))
	}
	b.Succeed(c.ID, now)
	limit = 30 // the plan now says less than the shrunk maximum
	if c := mustNext(t, b, now, anyChunk); len(c.Keys) != 30 {
		t.Fatalf("chunk has %d keys, want 30", len(c.Keys))
	}
}

func TestDrop(t *testing.T) {
	b := newBatcher(100)
	fa, fb, fc := file("https://h.com/a"), file("https://h.com/b"), file("https://h.com/c")
	mustAdd(t, b, 1, t0, part(zoneA, fa))
	mustAdd(t, b, 2, t0, part(zoneA, fa))
	mustAdd(t, b, 3, t0, part(zoneA, fb))
	b.Drop(1)
	b.Drop(3)
	b.Drop(99) // unknown: no-op
	if s := b.Stats(); s.PendingKeys != 1 || s.Handles != 1 {
		t.Errorf("Stats = %+v, want fa for handle 2 only", s)
	}
	mustAdd(t, b, 4, t0.Add(time.Millisecond), part(zoneA, fc))
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	b.Drop(4) // in flight: stays in flight, will not ack 4
	if s := b.Stats(); s.InFlightKeys != 2 || s.Handles != 1 {
		t.Errorf("Stats = %+v, want 2 keys in flight for handle 2", s)
	}
	if res := b.Succeed(c.ID, t0.Add(time.Second)); !slices.Equal(res.Acked, handles(2)) {
		t.Errorf("Acked = %v, want [2]", res.Acked)
	}
	b.Drop(2) // already reported: no-op
	if s := b.Stats(); s.PendingKeys != 0 || s.InFlightKeys != 0 || s.Handles != 0 {
		t.Errorf("Stats = %+v, want empty", s)
	}
}

func TestDropKeepsCovererOfOthers(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, host("h.com")))
	mustAdd(t, b, 2, t0, part(zoneA, file("https://h.com/a")))
	mustAdd(t, b, 3, t0, part(zoneA, file("https://h.com/b")))
	b.Drop(1)
	b.Drop(3)
	if s := b.Stats(); s.PendingKeys != 2 {
		t.Errorf("PendingKeys = %d, want the host and handle 2's file", s.PendingKeys)
	}
	b.Drop(2)
	if s := b.Stats(); s.PendingKeys != 0 {
		t.Errorf("PendingKeys = %d, want 0 once nobody needs the host", s.PendingKeys)
	}
	if _, ok := b.Due(Filter{Flex: true, Files: true, Force: true}); ok {
		t.Error("Due reports work after every handle was dropped")
	}
}

// A dropped handle's keys in flight are not put back by a retry.
func TestRetryOfDroppedKeysRetiresThem(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0, part(zoneA, tag("a"), tag("b")))
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	b.Drop(1)
	b.Requeue(c.ID)
	if s := b.Stats(); s.PendingKeys != 0 || s.InFlightKeys != 0 {
		t.Errorf("Stats = %+v, want nothing left", s)
	}
}

func TestHolding(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 3, t0, part(zoneA, tag("a")))
	mustAdd(t, b, 1, t0, part(zoneB, tag("b")), part(zoneA, tag("c")))
	mustAdd(t, b, 2, t0, part(zoneB, tag("b")))
	mustAdd(t, b, 4, t0, inval(zoneA, tag("a")))
	inA := func(z string) bool { return z == zoneA }
	if got := b.Holding(inA); !slices.Equal(got, handles(1, 3, 4)) {
		t.Errorf("Holding(A) = %v, want [1 3 4]", got)
	}
	if got := b.Holding(nil); !slices.Equal(got, handles(1, 2, 3, 4)) {
		t.Errorf("Holding(nil) = %v, want all", got)
	}
	// Zone A's purge tags go out and succeed: handle 3 is done, handle 1
	// still needs zone B.
	c := mustNext(t, b, t0.Add(time.Second), Filter{Flex: true, Zone: inA})
	if c.Mode != intent.ModePurge {
		c2 := mustNext(t, b, t0.Add(time.Second), Filter{Flex: true, Zone: inA})
		b.Requeue(c.ID)
		c = c2
	}
	// In flight still counts as held.
	if got := b.Holding(inA); !slices.Equal(got, handles(1, 3, 4)) {
		t.Errorf("Holding(A) with keys in flight = %v, want [1 3 4]", got)
	}
	b.Succeed(c.ID, t0.Add(time.Second))
	if got := b.Holding(inA); !slices.Equal(got, handles(4)) {
		t.Errorf("Holding(A) = %v, want [4]", got)
	}
	if got := b.Holding(func(z string) bool { return z == zoneB }); !slices.Equal(got, handles(1, 2)) {
		t.Errorf("Holding(B) = %v, want [1 2]", got)
	}
}

func TestResolveUnknownChunk(t *testing.T) {
	b := newBatcher(100)
	if res := b.Resolve(42, t0, Outcome{Retry: []intent.Key{tag("a")}}); len(res.Acked)+len(res.Dead) != 0 {
		t.Errorf("Resolve(42) = %+v, want nothing", res)
	}
	b.Requeue(42)
	b.Shrink(42, 0)
	if s := b.Stats(); s != (Stats{}) {
		t.Errorf("Stats = %+v, want zero", s)
	}
}

func TestStats(t *testing.T) {
	b := newBatcher(100)
	mustAdd(t, b, 1, t0.Add(time.Millisecond), part(zoneA, host("h.com"), tag("a")))
	mustAdd(t, b, 2, t0.Add(2*time.Millisecond), part(zoneA, file("https://h.com/a"), tag("a")))
	mustAdd(t, b, 3, t0.Add(3*time.Millisecond), inval(zoneA, tag("a")))
	want := Stats{PendingKeys: 4, Handles: 3, Oldest: t0.Add(time.Millisecond), Duplicates: 1, Covered: 1}
	if s := b.Stats(); s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	mustNext(t, b, t0.Add(2*time.Second), Filter{Flex: true, Zone: func(string) bool { return true }})
	s := b.Stats()
	if s.Chunks != 1 || s.PendingKeys+s.InFlightKeys != 4 {
		t.Errorf("Stats after Next = %+v", s)
	}
}

// sameKeys reports whether a and b hold the same keys in any order.
func sameKeys(a, b []intent.Key) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y intent.Key) int {
		return strings.Compare(fmt.Sprint(x.Kind, " ", x.Value, " ", x.Headers), fmt.Sprint(y.Kind, " ", y.Value, " ", y.Headers))
	}
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}
