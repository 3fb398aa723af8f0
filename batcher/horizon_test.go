package batcher

import (
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// addSeq adds handle h stored at seq and reports whether it must wait.
func addSeq(b *Batcher, h Handle, seq uint64, at time.Time, parts ...intent.Part) bool {
	return b.Add(h, seq, at, parts)
}

func rememberingBatcher(maxKeys, remember int) *Batcher {
	return New(Config{
		Window:       time.Second,
		MaxKeys:      func(string, intent.Kind) int { return maxKeys },
		RememberKeys: remember,
	})
}

// A call covers what the stream had stored when it was handed out: a
// message stored before it and received after it succeeded is settled at
// once; one stored after its horizon needs a call of its own.
func TestRememberedCallSettlesMessagesStoredBeforeIt(t *testing.T) {
	b := rememberingBatcher(100, 1000)
	fa, fb := file("https://h.com/a"), file("https://h.com/b")
	if !addSeq(b, 1, 1, t0, part(zoneA, fa, tag("t"))) {
		t.Fatal("first message settled without a call")
	}
	b.Stored(10) // the worker read the stream's last sequence
	now := t0.Add(time.Second)
	var acked []Handle
	for {
		c, ok := b.Next(now, anyChunk)
		if !ok {
			break
		}
		if c.Horizon != 10 {
			t.Fatalf("chunk horizon = %d, want 10", c.Horizon)
		}
		acked = append(acked, b.Succeed(c.ID, now).Acked...)
	}
	if !slices.Equal(acked, handles(1)) {
		t.Fatalf("acked %v, want [1]", acked)
	}
	if addSeq(b, 2, 7, now, part(zoneA, fa)) || addSeq(b, 3, 10, now, part(zoneA, tag("T"), fa)) {
		t.Error("a message stored before the calls was not settled by them")
	}
	if !addSeq(b, 4, 10, now, part(zoneA, fa, fb)) {
		t.Error("a message with a key no call had was settled")
	}
	if !addSeq(b, 5, 11, now, part(zoneA, fa)) {
		t.Error("a message stored after the horizon was settled by the earlier call")
	}
	s := b.Stats()
	if s.EarlierCall != 4 { // 2: a; 3: t, a; 4: a
		t.Errorf("EarlierCall = %d, want 4", s.EarlierCall)
	}
	// Message 4 only waits for b.
	c := mustNext(t, b, now.Add(2*time.Second), anyChunk)
	if !slices.Equal(c.Keys, []intent.Key{fb, fa}) && !slices.Equal(c.Keys, []intent.Key{fa, fb}) {
		t.Fatalf("chunk = %v, want b and a (for message 5)", c.Keys)
	}
}

// A remembered host, prefix or purge_everything settles what it covers.
func TestRememberedCoverer(t *testing.T) {
	b := rememberingBatcher(100, 1000)
	addSeq(b, 1, 1, t0, part(zoneA, host("h.com")), part(zoneB, all), inval(zoneA, prefix("h.com/p")))
	b.Stored(5)
	drain(t, b, t0.Add(time.Second))
	cases := []struct {
		parts []intent.Part
		wait  bool
	}{
		{[]intent.Part{part(zoneA, file("https://h.com/x"), prefix("h.com/y"))}, false},
		{[]intent.Part{part(zoneA, file("https://g.com/x"))}, true},
		{[]intent.Part{part(zoneA, tag("t"))}, true},
		{[]intent.Part{part(zoneB, tag("t"), file("https://any.com/"))}, false},
		{[]intent.Part{inval(zoneA, file("https://h.com/p/q"))}, false},
		{[]intent.Part{inval(zoneA, file("https://h.com/pq"))}, true},
		{[]intent.Part{inval(zoneA, file("https://h.com/x"))}, true}, // the host was purged, not invalidated
	}
	for i, c := range cases {
		if got := b.Add(Handle(10+i), 3, t0.Add(2*time.Second), c.parts); got != c.wait {
			t.Errorf("case %d: Add = %v, want %v", i, got, c.wait)
		}
	}
}

// A message stored at or below the horizon of a chunk in flight rides along
// with it: settled if it succeeds, pending again if it is put back.
func TestRideAlongWithChunkInFlight(t *testing.T) {
	b := rememberingBatcher(100, 1000)
	fa := file("https://h.com/a")
	addSeq(b, 1, 1, t0, part(zoneA, fa, host("g.com")))
	b.Stored(4)
	now := t0.Add(time.Second)
	files := mustNext(t, b, now, Filter{Files: true})
	hosts := mustNext(t, b, now, Filter{Flex: true})
	if !addSeq(b, 2, 4, now, part(zoneA, fa, file("https://g.com/x"))) {
		t.Fatal("a message riding along was settled before the calls returned")
	}
	if !addSeq(b, 3, 5, now, part(zoneA, fa)) {
		t.Fatal("message 3 settled")
	}
	if s := b.Stats(); s.PendingKeys != 1 || s.InFlightKeys != 3 {
		t.Fatalf("Stats = %+v, want 1 key pending (message 3's) and 3 in flight", s)
	}
	if res := b.Succeed(hosts.ID, now); len(res.Acked) != 0 {
		t.Fatalf("acked %v with the files call still out", res.Acked)
	}
	b.Requeue(files.ID)
	// Put back, a's need of messages 1 and 2 is pending with message 3's.
	c := mustNext(t, b, now, Filter{Files: true})
	if !slices.Equal(c.Keys, []intent.Key{fa}) {
		t.Fatalf("chunk = %v, want a", c.Keys)
	}
	if res := b.Succeed(c.ID, now); !slices.Equal(sortedHandles(res.Acked), handles(1, 2, 3)) {
		t.Errorf("acked %v, want 1, 2, 3", res.Acked)
	}
	if s := b.Stats(); s.Handles != 0 || s.PendingKeys != 0 || s.InFlightKeys != 0 {
		t.Errorf("Stats = %+v, want empty", s)
	}
}

// At most RememberKeys keys are remembered, the lowest horizon dropped
// first, and a horizon is forgotten once a later sequence is delivered.
func TestRememberedKeysAreBounded(t *testing.T) {
	b := rememberingBatcher(1, 2)
	now := t0.Add(time.Second)
	for i, k := range []intent.Key{tag("a"), tag("b"), tag("c")} {
		seq := uint64(i + 1)
		addSeq(b, Handle(seq), seq, t0, part(zoneA, k))
		b.Stored(seq * 10)
		c := mustNext(t, b, now, anyChunk)
		b.Succeed(c.ID, now)
	}
	if got := b.Stats().Remembered; got != 2 {
		t.Fatalf("Remembered = %d, want 2", got)
	}
	if !addSeq(b, 10, 4, now, part(zoneA, tag("a"))) {
		t.Error("the lowest horizon was not the one forgotten")
	}
	if addSeq(b, 11, 20, now, part(zoneA, tag("b"))) {
		t.Error("b (horizon 20) is still needed for sequence 20")
	}
	// Sequence 21 delivered: horizon 20 serves no first delivery any more.
	addSeq(b, 12, 21, now, part(zoneA, tag("z")))
	if got := b.Stats().Remembered; got != 1 {
		t.Errorf("Remembered = %d after delivering past horizon 20, want 1", got)
	}
}

// Remembering nothing still rides along with chunks in flight.
func TestRememberNothing(t *testing.T) {
	b := rememberingBatcher(100, 0)
	addSeq(b, 1, 1, t0, part(zoneA, tag("a")))
	b.Stored(3)
	c := mustNext(t, b, t0.Add(time.Second), anyChunk)
	addSeq(b, 2, 2, t0.Add(time.Second), part(zoneA, tag("a")))
	if res := b.Succeed(c.ID, t0); len(res.Acked) != 2 {
		t.Errorf("acked %v, want both", res.Acked)
	}
	if !addSeq(b, 3, 3, t0, part(zoneA, tag("a"))) || b.Stats().Remembered != 0 {
		t.Error("a key was remembered with RememberKeys 0")
	}
}

// Rewind (the stream was created again) forgets every horizon.
func TestRewind(t *testing.T) {
	b := rememberingBatcher(100, 1000)
	addSeq(b, 1, 1, t0, part(zoneA, tag("a")))
	b.Stored(50)
	drain(t, b, t0.Add(time.Second))
	b.Rewind()
	if !addSeq(b, 2, 1, t0.Add(time.Second), part(zoneA, tag("a"))) {
		t.Error("a message of the new stream was settled by a call made for the old one")
	}
	if c := mustNext(t, b, t0.Add(3*time.Second), anyChunk); c.Horizon != 1 {
		t.Errorf("horizon after Rewind = %d, want 1", c.Horizon)
	}
}

// A refusal that states the maximum sets it at once; until a chunk of the
// new size has succeeded, one at a time is sent.
func TestShrinkToTheStatedMaximum(t *testing.T) {
	b := newBatcher(100)
	for i := range 250 {
		mustAdd(t, b, Handle(i+1), t0, part(zoneA, file("https://h.com/"+string(rune('a'+i%26))+string(rune('a'+i/26)))))
	}
	now := t0.Add(time.Second)
	c := mustNext(t, b, now, anyChunk)
	noNext(t, b, now, anyChunk) // the first chunk of 100 is unproven
	if got := b.Shrink(c.ID, 30); got != 30 {
		t.Fatalf("Shrink(stated 30) = %d, want 30", got)
	}
	c = mustNext(t, b, now, anyChunk)
	if len(c.Keys) != 30 {
		t.Fatalf("chunk has %d keys, want 30", len(c.Keys))
	}
	noNext(t, b, now, anyChunk)
	b.Succeed(c.ID, now)
	n := 0
	for {
		c, ok := b.Next(now, anyChunk)
		if !ok {
			break
		}
		n++
		if len(c.Keys) > 30 {
			t.Fatalf("chunk of %d keys after the maximum was learnt", len(c.Keys))
		}
	}
	if n != 8 { // 220 keys left, all in flight at once
		t.Errorf("%d chunks in flight together, want 8", n)
	}
	// A stated maximum not below the refused chunk is not believed: halve.
	b2 := newBatcher(100)
	mustAdd(t, b2, 1, t0, part(zoneA, tag("a"), tag("b"), tag("c"), tag("d")))
	if got := b2.Shrink(mustNext(t, b2, now, anyChunk).ID, 100); got != 2 {
		t.Errorf("Shrink(stated 100) of 4 keys = %d, want 2", got)
	}
}

// Lower is Shrink's rule for a refused call that is not a whole chunk (a
// part of a chunk being bisected): the stated maximum when it is below the
// refused call's size, else half of it, never raising the maximum, and
// purge_everything stays at 1.
func TestLowerTheMaximumForARefusedPart(t *testing.T) {
	b := newBatcher(100)
	if got := b.Lower(zoneA, intent.KindFile, 50, 30); got != 30 {
		t.Errorf("Lower(50 keys, stated 30) = %d, want 30", got)
	}
	if got := b.Lower(zoneA, intent.KindFile, 20, 0); got != 10 {
		t.Errorf("Lower(20 keys, none stated) = %d, want 10", got)
	}
	if got := b.Lower(zoneA, intent.KindFile, 40, 0); got != 10 {
		t.Errorf("Lower(40 keys) after a maximum of 10 = %d, want 10 (never raised)", got)
	}
	if got := b.Lower(zoneA, intent.KindTag, 8, 8); got != 4 {
		t.Errorf("Lower(8 tags, stated 8) = %d, want 4 (a stated maximum not below the call is not believed)", got)
	}
	if got := b.Lower(zoneB, intent.KindFile, 1, 0); got != 1 {
		t.Errorf("Lower(1 key) = %d, want 1", got)
	}
	if got := b.Lower(zoneA, intent.KindEverything, 1, 0); got != 1 {
		t.Errorf("Lower(purge_everything) = %d, want 1", got)
	}
	if got := b.max(zoneB, intent.KindTag); got != 100 {
		t.Errorf("another zone's and kind's maximum = %d, want 100", got)
	}
}
