package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// An invalid intent, which purgectl would refuse to publish, is published
// raw; the worker dead-letters it, `purgectl dlq list` shows why, replay
// puts it back (and, still invalid, it is dead-lettered again), and purge
// empties the dead-letter stream.
func TestDeadLetterCommands(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const body = `{"zone":"example.com","files":["ftp://www.example.com/not-http"]}`

	r := runCmd(t, t.TempDir(), body, ctlBin, "publish", "--server", s.natsURL, "-f", "-")
	if r.code == 0 || !strings.Contains(r.stderr, "nothing was published") {
		t.Fatalf("purgectl published an invalid intent: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	_, js := testutil.ConnectJS(t, s.natsURL)
	msg := nats.NewMsg("purge.example_com")
	msg.Data = []byte(body)
	msg.Header.Set(nats.MsgIdHdr, "raw-invalid-1")
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}

	entry := regexp.MustCompile(`(?m)^seq=(\d+) time=\S+ subject=purge\.example_com\n  error: (files\[0\]: .*ftp://www\.example\.com/not-http.*)\n  body:  (.*)$`)
	var list string
	testutil.Eventually(t, 30*time.Second, "the intent to be dead-lettered", func() bool {
		list = ctl(t, "", "dlq", "list", "--server", s.natsURL)
		return strings.Contains(list, "1 dead-lettered intents listed")
	})
	m := entry.FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("dlq list does not show the intent with its Purge-Error:\n%s", list)
	}
	firstSeq := m[1]
	if m[3] != body {
		t.Errorf("dlq list shows body %q, want %q", m[3], body)
	}
	if st := s.waitDrained(); st.dlqMsgs != 1 {
		t.Errorf("status shows %d dead letters, want 1", st.dlqMsgs)
	}

	out := ctl(t, "", "dlq", "replay", "--server", s.natsURL, "--all")
	if !strings.Contains(out, "replayed seq="+firstSeq+" to purge.example_com") || !strings.Contains(out, "1 intents replayed") {
		t.Errorf("dlq replay printed %q", out)
	}
	// Still invalid: dead-lettered again, under a new sequence.
	testutil.Eventually(t, 30*time.Second, "the replayed intent to be dead-lettered again", func() bool {
		list = ctl(t, "", "dlq", "list", "--server", s.natsURL)
		m = entry.FindStringSubmatch(list)
		return m != nil && m[1] != firstSeq
	})
	if !strings.Contains(list, "1 dead-lettered intents listed") {
		t.Errorf("after the replay the DLQ holds not exactly one intent:\n%s", list)
	}
	if st := s.waitDrained(); st.dlqMsgs != 1 {
		t.Errorf("status shows %d dead letters after the replay, want 1", st.dlqMsgs)
	}

	out = ctl(t, "", "dlq", "purge", "--server", s.natsURL, "--all")
	if !strings.Contains(out, "1 dead-lettered intents deleted") {
		t.Errorf("dlq purge printed %q", out)
	}
	if st := ctlStatus(t, s.natsURL); st.dlqMsgs != 0 {
		t.Errorf("status shows %d dead letters after purge --all, want 0", st.dlqMsgs)
	}
	if n := len(s.calls()); n != 0 {
		t.Errorf("the sandbox received %d calls for an invalid intent", n)
	}
}
