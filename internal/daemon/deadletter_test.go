package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// An invalid intent as large as NATS lets a publisher store must still
// reach the dead-letter stream. The dead-letter copy carries more headers
// than the original (Purge-Error, Purge-Subject, Purge-Stream-Seq,
// Purge-Msg-Id), so copying the body unchanged can exceed the server's
// max_payload; the message must not then be nak'ed and retried forever.
func TestAnInvalidIntentAtThePayloadLimitIsDeadLettered(t *testing.T) {
	s := newStack(t)
	d := s.start()
	limit := int(d.nc.MaxPayload())
	// Room for the publisher's Nats-Msg-Id header (a 32-hex id) and no more.
	size := limit - len("NATS/1.0\r\nNats-Msg-Id: 0123456789abcdef0123456789abcdef\r\n\r\n") - 8
	head := `{"zone":"example.com","files":["ftp://www.example.com/x"],"source":"`
	body := head + strings.Repeat("s", size-len(head)-2) + `"}`
	d.publishRaw("purge.example_com", []byte(body))

	t.Cleanup(func() {
		if t.Failed() {
			for l := range strings.Lines(s.logs.String()) {
				if strings.Contains(l, "dead_letter") {
					t.Logf("log: %.400s", l)
				}
			}
		}
	})
	testutil.Eventually(s.t, 20*time.Second, "the intent dead-lettered and the stream drained", func() bool {
		return len(d.dlq()) == 1 && d.drained()
	})
	m := d.dlq()[0]
	if m.Header.Get(worker.HeaderError) == "" || m.Header.Get(worker.HeaderSubject) != "purge.example_com" {
		t.Errorf("dead letter headers %v lack the reason or the subject", m.Header)
	}
	// The body may be cut to fit, but must be recognisably the intent.
	if !strings.HasPrefix(string(m.Data), head) {
		t.Errorf("dead letter body starts %.100q, want the intent's start", m.Data)
	}
}
