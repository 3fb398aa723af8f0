package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// On SIGTERM the worker flushes what it holds at once, without waiting for
// the batch window, acks it, logs its shutdown and exits 0; SIGINT does the
// same. The window is a minute so that only the shutdown can have sent the
// call.
func TestSignalsFlushAndExitZero(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(cfg string) string {
		cfg = replaceOnce(t, cfg, "  url: embedded\n", "  url: embedded\n  ack_wait: 3m\n")
		cfg = replaceOnce(t, cfg, "window: 1s", "window: 1m")
		return cfg + "shutdown_timeout: 10s\n"
	})
	const u = "https://www.example.com/held-until-shutdown"
	ctl(t, "", "publish", "--server", s.natsURL, "--zone", "example.com", "--url", u)
	testutil.Eventually(t, 30*time.Second, "the worker to hold the intent", func() bool {
		st := ctlStatus(t, s.natsURL)
		return st.streamMsgs == 1 && st.ackPending == 1
	})
	if n := len(s.calls()); n != 0 {
		t.Fatalf("the sandbox received %d calls before the window ended", n)
	}

	if code := s.worker.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("purge-worker exited %d on SIGTERM, want 0", code)
	}
	if s.purged()[u] != 1 {
		t.Errorf("the held URL was not purged on shutdown; calls: %+v", s.calls())
	}
	for _, msg := range []string{"shutdown_flushed", "worker_stopped"} {
		if len(s.worker.logged(msg)) != 1 {
			t.Errorf("purge-worker did not log %s on SIGTERM", msg)
		}
	}

	// The flushed intent was acked before the exit: a new worker on the
	// same store finds the stream empty.
	w := s.startWorker()
	st := ctlStatus(t, s.natsURL)
	if st.streamMsgs != 0 {
		t.Errorf("after a restart the stream holds %d messages, want 0 (acked at shutdown)", st.streamMsgs)
	}
	if code := w.signal(syscall.SIGINT); code != 0 {
		t.Fatalf("purge-worker exited %d on SIGINT, want 0", code)
	}
	if len(w.logged("worker_stopped")) != 1 {
		t.Error("purge-worker did not log worker_stopped on SIGINT")
	}
	if n := len(s.calls()); n != 1 {
		t.Errorf("the sandbox received %d calls, want 1 (nothing purged twice)", n)
	}
}
