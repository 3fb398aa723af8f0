package worker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A zone's keys wait at most batch.window, also when the last message said
// more were pending and they never came (another replica took them, or
// max_ack_pending is full). Intake skips waking the senders while more is
// pending and the last wake-up is less than a window old; a sender that
// last looked when nothing was pending (here: right after a full chunk
// arrived) must still look again once the window is over.
func TestTrailingIntentGoesAtItsWindowWhenThePendingRestNeverComes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()

		// A full chunk arrives alone; it waits for its window.
		full := jsMsg(t, urls("example.com", numbered("/full/", 100)...), "", 1, 0)
		u.w.receive(ctx, full)
		synctest.Wait()
		// 10ms later: one more intent, and the stream says one more
		// message is pending for us.
		time.Sleep(10 * time.Millisecond)
		trailing := jsMsg(t, urls("example.com", "/trailing"), "", 2, 1)
		u.w.receive(ctx, trailing)

		time.Sleep(time.Until(start.Add(time.Second + 10*time.Millisecond)))
		synctest.Wait()
		if acks, _, _ := trailing.settled(); acks != 1 {
			t.Errorf("trailing intent not acked at its window (window 1s); calls = %d",
				len(u.p.snapshot()))
		}
		if acks, _, _ := full.settled(); acks != 1 {
			t.Errorf("full intent not acked (acks=%d)", acks)
		}
	})
}

// items_total counts the keys of accepted intents: a redelivery of a
// message the worker still holds counts as result="redelivered", and its
// items are not counted again.
func TestRedeliveryOfAHeldMessageCountsItsItemsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		reg := prometheus.NewRegistry()
		reg.MustRegister(u.w.metrics.items, u.w.metrics.intents)
		ctx := context.Background()
		in := urls("example.com", "/a", "/b")
		u.w.receive(ctx, jsMsg(t, in, "", 7, 0))
		again := jsMsg(t, in, "", 7, 0)
		again.delivered = 2
		u.w.receive(ctx, again) // redelivered while held
		if got := metricValue(t, reg, "purge_worker_intents_total", map[string]string{"result": "redelivered"}); got != 1 {
			t.Fatalf("redelivered = %v, want 1", got)
		}
		if got := metricValue(t, reg, "purge_worker_items_total", map[string]string{"type": "files"}); got != 2 {
			t.Errorf("items_total{type=files} = %v, want 2 (one intent with two URLs)", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
	})
}
