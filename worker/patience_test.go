package worker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// While the stream still holds messages for us, a full chunk waits for its
// window so that the duplicates further down the backlog ride along; once
// the last pending message is in, it goes at once.
func TestFullChunkWaitsForTheRestOfTheBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		paths := numbered("/p/", 100)
		first := jsMsg(t, urls("example.com", paths...), "", 1, 1)
		u.w.receive(ctx, first)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls while the stream reports one more message", n)
		}
		time.Sleep(100 * time.Millisecond)
		// The last message repeats a key of the first: it must not cost
		// a call of its own.
		last := jsMsg(t, urls("example.com", paths[7]), "", 2, 0)
		u.w.receive(ctx, last)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || len(calls[0].req.Files) != 100 {
			t.Fatalf("want one call of 100 as soon as the backlog is in, got %d calls", len(calls))
		}
		for _, m := range []*fakeJSMsg{first, last} {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Errorf("message %d not acked by the shared call", m.seq)
			}
		}
	})
}

// JetStream delivers nothing more once max_ack_pending messages are
// unacknowledged, so a worker holding that many flushes what it has instead
// of waiting for a backlog that cannot reach it.
func TestHoldingMaxAckPendingFlushesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		u.w.mu.Lock() // the sender reads cfg under mu
		u.w.cfg.MaxAckPending = 2
		u.w.mu.Unlock()
		ctx := context.Background()
		start := time.Now()
		a := jsMsg(t, urls("example.com", "/a"), "", 1, 10)
		u.w.receive(ctx, a)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls with one message held of 2 allowed", n)
		}
		b := jsMsg(t, urls("example.com", "/b"), "", 2, 9)
		u.w.receive(ctx, b)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || len(calls[0].req.Files) != 2 || !calls[0].at.Equal(start) {
			t.Fatalf("want one call of both URLs at once, got %d calls", len(calls))
		}
	})
}

// A burst whose last message is invalid still ends the patience: the
// dead-lettered message reports nothing more pending, and the full chunk
// goes at once.
func TestInvalidLastMessageEndsTheBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		full := jsMsg(t, urls("example.com", numbered("/p/", 100)...), "", 1, 1)
		u.w.receive(ctx, full)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls while the stream reports one more message", n)
		}
		time.Sleep(10 * time.Millisecond)
		invalid := jsMsg(t, nil, `{"zone":"example.com"}`, 2, 0)
		u.w.receive(ctx, invalid)
		synctest.Wait()
		if _, _, terms := invalid.settled(); terms != 1 {
			t.Fatalf("invalid intent not dead-lettered (terms=%d)", terms)
		}
		if acks, _, _ := full.settled(); acks != 1 {
			t.Errorf("full intent not acked once the backlog was in (acks=%d)", acks)
		}
	})
}
