package worker

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
)

// refusedOnce is Cloudflare refusing a chunk for its keys.
func refusedOnce() *cfclient.Error {
	return &cfclient.Error{Kind: cfclient.KindClient, Status: 400,
		Codes: []cfclient.Code{{Code: 1015, Message: "Unable to purge"}}}
}

// Shutdown completes within ShutdownTimeout even when the dead-letter
// stream does not answer: the dead letters of a call refused during the
// flush are nak'ed at the deadline, each message settled exactly once.
func TestShutdownEndsAtItsDeadlineWhenTheDeadLetterStreamHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		u.w.cfg.ShutdownTimeout = time.Second
		u.w.dlq = blockingDLQ{}
		shuttingDown := make(chan struct{})
		u.p.respond = func(_ int, req cfclient.Request) error {
			<-shuttingDown
			time.Sleep(500 * time.Millisecond)
			return refusedOnce()
		}
		// Three intents for the same refused URL: one call, three dead letters.
		var msgs []*fakeMsg
		for range 3 {
			msgs = append(msgs, u.addQuiet(urls("example.com", "/bad")))
		}
		u.w.wakeAll()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait() // the call is in flight

		start := time.Now()
		close(shuttingDown)
		u.shutdown()
		if took := time.Since(start); took > u.w.cfg.ShutdownTimeout+100*time.Millisecond {
			t.Errorf("shutdown took %s, want at most the shutdown timeout %s", took, u.w.cfg.ShutdownTimeout)
		}
		for i, m := range msgs {
			if acks, naks, terms := m.settled(); naks != 1 || acks+terms != 0 || m.nakDelay != 0 {
				t.Errorf("message %d settled acks=%d naks=%d (delay %s) terms=%d, want one nak for redelivery at once",
					i, acks, naks, m.nakDelay, terms)
			}
		}
	})
}

// A call refused during the shutdown flush still gets its intents
// dead-lettered within the shutdown timeout: the end of the flush does not
// cancel the copies being stored, which would turn them into naks and have
// the next start refuse the same keys again.
func TestDeadLettersOfTheShutdownFlushAreStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Hour)
		defer u.stop()
		u.w.cfg.ShutdownTimeout = 10 * time.Second
		dlq := &slowDLQ{delay: 300 * time.Millisecond}
		u.w.dlq = dlq
		u.p.respond = func(int, cfclient.Request) error { return refusedOnce() }
		var msgs []*fakeMsg
		for range 3 {
			msgs = append(msgs, u.addQuiet(urls("example.com", "/bad")))
		}
		// The window is an hour: only the shutdown flush sends the call.
		u.shutdown()
		if n := len(u.p.snapshot()); n != 1 {
			t.Fatalf("%d calls, want the flush's one", n)
		}
		for i, m := range msgs {
			if acks, naks, terms := m.settled(); acks != 0 || naks != 0 || terms != 1 {
				t.Errorf("message %d settled acks=%d naks=%d terms=%d, want dead-lettered (one term)", i, acks, naks, terms)
			}
		}
		dlq.mu.Lock()
		defer dlq.mu.Unlock()
		if len(dlq.msgs) != 3 {
			t.Errorf("%d copies stored, want 3", len(dlq.msgs))
		}
	})
}
