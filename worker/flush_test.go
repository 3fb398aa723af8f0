package worker

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
)

// A full chunk waits for its window like a partial one, so that duplicates
// and coverers arriving later in a burst join it instead of costing calls.
func TestFullChunkWaitsForItsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()
		paths := numbered("/p/", 100)
		first := jsMsg(t, urls("example.com", paths...), "", 1, 0)
		u.w.receive(ctx, first)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls before the window ended", n)
		}
		// A later message repeats a key of the first: no call of its own.
		dup := jsMsg(t, urls("example.com", paths[7]), "", 2, 0)
		u.w.receive(ctx, dup)
		time.Sleep(time.Until(start.Add(time.Second)))
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || len(calls[0].req.Files) != 100 || !calls[0].at.Equal(start.Add(time.Second)) {
			t.Fatalf("want one call of 100 at the window, got %d calls", len(calls))
		}
		for _, m := range []*fakeJSMsg{first, dup} {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Errorf("message %d not acked by the shared call", m.seq)
			}
		}
	})
}

// While the stream still holds messages for us, windows do not end: the
// rest of the backlog may hold duplicates, coverers and more keys for the
// partial chunk. Once the last pending message is in, what is due goes.
func TestBacklogHoldsWindowsUntilItIsIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()
		u.w.receive(ctx, jsMsg(t, urls("example.com", "/a"), "", 1, 2))
		time.Sleep(800 * time.Millisecond)
		u.w.receive(ctx, jsMsg(t, urls("example.com", "/b"), "", 2, 1))
		time.Sleep(700 * time.Millisecond)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls while the backlog was still coming in", n)
		}
		u.w.receive(ctx, jsMsg(t, urls("example.com", "/c"), "", 3, 0))
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || len(calls[0].req.Files) != 3 || !calls[0].at.Equal(start.Add(1500*time.Millisecond)) {
			t.Fatalf("want one call of 3 URLs as the backlog's last message came in, got %+v", calls)
		}
	})
}

// Should the rest of a backlog never come (another replica took it), the
// hold lapses one window after the last message.
func TestBacklogHoldLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()
		u.w.receive(ctx, jsMsg(t, urls("example.com", "/a"), "", 1, 5))
		time.Sleep(500 * time.Millisecond)
		m := jsMsg(t, urls("example.com", "/b"), "", 2, 4)
		u.w.receive(ctx, m)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || !calls[0].at.Equal(start.Add(1500*time.Millisecond)) {
			t.Fatalf("want one call a window after the last message, got %+v", calls)
		}
		if acks, _, _ := m.settled(); acks != 1 {
			t.Error("last message not acked")
		}
	})
}

// JetStream delivers nothing more once max_ack_pending messages are
// unacknowledged, so a worker holding that many sends at once: full chunks
// first, and partial ones when nothing is full and nothing in flight.
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

// A backlog whose last message is invalid still ends the hold: the
// dead-lettered message reports nothing more pending, and the chunk goes at
// its window.
func TestInvalidLastMessageEndsTheBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()
		full := jsMsg(t, urls("example.com", numbered("/p/", 100)...), "", 1, 1)
		u.w.receive(ctx, full)
		time.Sleep(10 * time.Millisecond)
		invalid := jsMsg(t, nil, `{"zone":"example.com"}`, 2, 0)
		u.w.receive(ctx, invalid)
		synctest.Wait()
		if _, _, terms := invalid.settled(); terms != 1 {
			t.Fatalf("invalid intent not dead-lettered (terms=%d)", terms)
		}
		time.Sleep(time.Until(start.Add(time.Second)))
		synctest.Wait()
		if acks, _, _ := full.settled(); acks != 1 {
			t.Errorf("full intent not acked at its window (acks=%d)", acks)
		}
	})
}

// A message stored before a successful call that covers it is acked as it
// arrives, without a call: the call was issued after its content changed.
func TestMessageStoredBeforeACallIsAckedWithoutOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		u.w.mu.Lock()
		u.w.lastSeq = func(context.Context) (uint64, error) { return 3, nil } // the stream holds 1..3
		u.w.mu.Unlock()
		ctx := context.Background()
		u.w.receive(ctx, jsMsg(t, urls("example.com", "/a", "/b"), "", 1, 0))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
		stored := jsMsg(t, urls("example.com", "/b"), "", 3, 0)
		later := jsMsg(t, urls("example.com", "/b"), "", 4, 0)
		u.w.receive(ctx, stored)
		u.w.receive(ctx, later)
		synctest.Wait()
		if acks, _, _ := stored.settled(); acks != 1 {
			t.Error("message stored before the call was not acked at once")
		}
		if acks, _, _ := later.settled(); acks != 0 {
			t.Error("message stored after the call was acked by it")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 2 {
			t.Errorf("%d calls, want 2: the later message needs its own", n)
		}
	})
}

// A message stored before a call was issued and received while it is in
// flight rides along with it: acked when it succeeds, without a call of
// its own. One stored after the call was issued is not.
func TestMessageRidesAlongWithACallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		release := make(chan struct{})
		u.p.respond = func(n int, _ cfclient.Request) error {
			if n == 0 {
				<-release
			}
			return nil
		}
		u.w.mu.Lock()
		u.w.lastSeq = func(context.Context) (uint64, error) { return 2, nil }
		u.w.mu.Unlock()
		ctx := context.Background()
		first := jsMsg(t, urls("example.com", "/a"), "", 1, 0)
		u.w.receive(ctx, first)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 1 {
			t.Fatalf("%d calls, want the first one in flight", n)
		}
		stored := jsMsg(t, urls("example.com", "/a"), "", 2, 0)
		later := jsMsg(t, urls("example.com", "/a"), "", 3, 0)
		u.w.receive(ctx, stored)
		u.w.receive(ctx, later)
		synctest.Wait()
		if acks, _, _ := stored.settled(); acks != 0 {
			t.Fatal("acked before the call it rides along with succeeded")
		}
		close(release)
		synctest.Wait()
		for _, m := range []*fakeJSMsg{first, stored} {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Errorf("message %d not acked by the call in flight", m.seq)
			}
		}
		if acks, _, _ := later.settled(); acks != 0 {
			t.Error("message stored after the call was issued acked by it")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 2 {
			t.Errorf("%d calls, want 2", n)
		}
		if acks, _, _ := later.settled(); acks != 1 {
			t.Error("later message not acked by its own call")
		}
	})
}

// A stream that always has more for us (published to faster than the
// worker pulls) holds windows open for at most maxHoldWindows windows.
func TestBacklogHoldIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()
		first := jsMsg(t, urls("example.com", "/a"), "", 1, 1000)
		u.w.receive(ctx, first)
		for i := uint64(2); ; i++ {
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			if acks, _, _ := first.settled(); acks == 1 {
				break
			}
			if time.Since(start) > 2*maxHoldWindows*time.Second {
				t.Fatal("the first message is still waiting")
			}
			u.w.receive(ctx, jsMsg(t, urls("example.org", fmt.Sprintf("/b/%d", i)), "", i, 1000))
		}
		if took := time.Since(start); took < maxHoldWindows*time.Second || took > (maxHoldWindows+2)*time.Second {
			t.Errorf("the first message waited %s, want about %d windows", took, maxHoldWindows)
		}
	})
}
