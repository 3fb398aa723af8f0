package worker

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A message whose dead-letter copy cannot be stored is delivered again
// after a growing delay, and on its last allowed delivery terminated
// without a copy and counted: it is not retried forever.
func TestDeadLetterThatCannotBeStoredIsNotRetriedForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		u.w.dlq = failingDLQ{}
		reg := prometheus.NewRegistry()
		reg.MustRegister(u.w.metrics.deadLetterLost)

		var lastDelay time.Duration
		for delivered := uint64(1); delivered < maxDeadLetterDeliveries; delivered++ {
			m := jsMsg(t, nil, `{"zone":"example.com"}`, 7, 0)
			m.delivered = delivered
			u.w.deadLetter(context.Background(), deadJob{msg: m, kind: "invalid", reason: "no items"})
			acks, naks, terms := m.settled()
			if acks != 0 || naks != 1 || terms != 0 {
				t.Fatalf("delivery %d: acks=%d naks=%d terms=%d, want one nak", delivered, acks, naks, terms)
			}
			if m.nakDelay < lastDelay || m.nakDelay <= 0 || m.nakDelay > maxDeadLetterRetry {
				t.Errorf("delivery %d: nak delay %s after %s, want growing up to %s", delivered, m.nakDelay, lastDelay, maxDeadLetterRetry)
			}
			lastDelay = m.nakDelay
		}
		m := jsMsg(t, nil, `{"zone":"example.com"}`, 7, 0)
		m.delivered = maxDeadLetterDeliveries
		u.w.deadLetter(context.Background(), deadJob{msg: m, kind: "invalid", reason: "no items"})
		if acks, naks, terms := m.settled(); acks != 0 || naks != 0 || terms != 1 {
			t.Fatalf("last delivery: acks=%d naks=%d terms=%d, want a term", acks, naks, terms)
		}
		if !strings.Contains(m.reason, "no items") {
			t.Errorf("term reason %q does not say why the message was dead", m.reason)
		}
		if got := metricValue(t, reg, "purge_worker_dead_letter_lost_total", map[string]string{"reason": "invalid"}); got != 1 {
			t.Errorf("dead_letter_lost_total{reason=invalid} = %v, want 1", got)
		}

		// A consumer with a lower max_deliver: JetStream would leave the
		// message in the stream after it, so that delivery is the last.
		u.w.cfg.MaxDeliver = 3
		m = jsMsg(t, nil, `{"zone":"example.com"}`, 8, 0)
		m.delivered = 3
		u.w.deadLetter(context.Background(), deadJob{msg: m, kind: "invalid", reason: "no items"})
		if acks, naks, terms := m.settled(); acks != 0 || naks != 0 || terms != 1 {
			t.Errorf("delivery 3 of max_deliver 3: acks=%d naks=%d terms=%d, want a term", acks, naks, terms)
		}
	})
}

// Intake hands an invalid intent over and goes on: a dead-letter stream
// that does not answer holds up neither the next message nor its purge,
// and the invalid message is kept alive while it waits for its copy.
func TestSlowDeadLetterStreamDoesNotHoldUpIntake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		dlq := &gatedDLQ{gate: make(chan struct{})}
		u.w.dlq = dlq
		reg := prometheus.NewRegistry()
		u.w.registerGauges(reg)
		ctx := context.Background()
		start := time.Now()

		first := jsMsg(t, nil, `{"zone":"example.com"}`, 1, 0)
		u.w.receive(ctx, first)
		second := jsMsg(t, nil, `{"zone":"example.com","tags":[]}`, 2, 0)
		u.w.receive(ctx, second)
		valid := jsMsg(t, urls("example.com", "/a"), "", 3, 0)
		u.w.receive(ctx, valid)
		if took := time.Since(start); took > 0 {
			t.Fatalf("receiving two invalid intents and a valid one took %s with the dead-letter stream stuck", took)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if acks, _, _ := valid.settled(); acks != 1 {
			t.Errorf("valid intent behind two invalid ones not purged within its window")
		}

		// The first copy times out; the second waits its turn meanwhile
		// and is kept alive (ack_wait 30s: every 10s).
		time.Sleep(publishTimeout + time.Second - time.Since(start))
		synctest.Wait()
		second.mu.Lock()
		wip := second.wip
		second.mu.Unlock()
		if acks, naks, terms := second.settled(); acks+naks+terms != 0 || wip == 0 {
			t.Errorf("queued invalid intent: acks=%d naks=%d terms=%d in-progress=%d, want kept alive and unsettled",
				acks, naks, terms, wip)
		}
		if got := metricValue(t, reg, "purge_worker_dead_letters_waiting", nil); got != 1 {
			t.Errorf("dead_letters_waiting = %v, want 1", got)
		}
		close(dlq.gate)
		synctest.Wait()
		if _, _, terms := second.settled(); terms != 1 {
			t.Errorf("queued invalid intent not dead-lettered once the stream answered")
		}
	})
}
