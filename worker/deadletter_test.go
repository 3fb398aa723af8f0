package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// Invalid intents among valid ones: exactly the invalid ones land in the
// dead-letter stream, with a reason naming the field and value and the
// original subject; the valid ones are purged.
func TestInvalidIntentsAreDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start()
	invalid := map[string]string{ // body -> what the reason must mention
		`{"zone":"example.com","files":["https://www.example.com/a"`:          "json",
		`{"zone":"nope.example","files":["https://x.nope.example/a"]}`:        "nope.example",
		`{"zone":"example.com","files":["https://www.other.org/a"]}`:          "www.other.org",
		`{"zone":"example.com","files":["ftp://www.example.com/a"]}`:          "ftp://www.example.com/a",
		`{"zone":"example.com","tags":["` + strings.Repeat("t", 1025) + `"]}`: "tags[0]",
		`{"zone":"example.com"}`: "item",
		`{"zone":"example.com","files":["https://www.example.com/a"],"mdoe":"invalidate"}`: "mdoe",
	}
	var valid []*intent.Intent
	var published []time.Time
	i := 0
	for body := range invalid {
		h.publishRaw("purge.test", []byte(body))
		in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("ok-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/ok/%d", i)}}}
		published = append(published, time.Now())
		h.publish(in)
		valid = append(valid, in)
		i++
	}
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != len(invalid) {
		t.Fatalf("dead-lettered %d messages, want %d", len(dead), len(invalid))
	}
	for _, m := range dead {
		want, ok := invalid[string(m.Data)]
		if !ok {
			t.Errorf("unexpected dead letter %q", m.Data)
			continue
		}
		reason := m.Header.Get(HeaderError)
		if !strings.Contains(strings.ToLower(reason), strings.ToLower(want)) {
			t.Errorf("Purge-Error %q does not mention %q", reason, want)
		}
		if got := m.Header.Get(HeaderSubject); got != "purge.test" {
			t.Errorf("Purge-Subject = %q, want purge.test", got)
		}
	}
	h.coveredAfter(valid, published)
}

// One bad URL inside a full chunk: Cloudflare refuses the whole request, the
// worker bisects down to the bad key, dead-letters only the intent holding
// it, and purges the other 99.
func TestBadKeyInFullChunkIsIsolated(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	const bad = 37
	var intents []*intent.Intent
	var published []time.Time
	for i := range 100 {
		in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("chunk-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/item/%d", i)}}}
		intents = append(intents, in)
	}
	h.cf.RejectKeys(intents[bad].Files[0].URL)
	for _, in := range intents {
		published = append(published, time.Now())
		h.publish(in)
	}
	h.start()
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != 1 {
		t.Fatalf("dead-lettered %d messages, want 1", len(dead))
	}
	if got, want := dead[0].Header.Get("Purge-Msg-Id"), intents[bad].ID; got != want {
		t.Errorf("dead-lettered intent %q, want %q", got, want)
	}
	if reason := dead[0].Header.Get(HeaderError); !strings.Contains(reason, intents[bad].Files[0].URL) {
		t.Errorf("Purge-Error %q does not name the refused URL", reason)
	}
	good := append(append([]*intent.Intent{}, intents[:bad]...), intents[bad+1:]...)
	goodAt := append(append([]time.Time{}, published[:bad]...), published[bad+1:]...)
	h.coveredAfter(good, goodAt)
	// 1 full chunk, then a bisection: at most 2 calls per level.
	if n := len(h.cf.Calls()); n > 1+2*7 {
		t.Errorf("%d calls to isolate one bad key among 100, want at most 15", n)
	}
}

// An invalid intent whose copy cannot be stored as it is: a publisher header
// just under JetStream's 64 KiB header limit, to which the copy's Purge-*
// headers add enough to pass it; or a body that with them passes
// max_payload. Each is dead-lettered trimmed, without the publisher's
// headers or with as much of the body as fits, saying what was left out,
// and the stream drains.
func TestOversizeInvalidIntentIsDeadLetteredTrimmed(t *testing.T) {
	h := newHarness(t)
	h.start()
	small := []byte(`{"zone":"example.com"}`)
	// The whole message a little under max_payload (1 MiB).
	large := []byte(`{"zone":"example.com","tags":["` + strings.Repeat("t", 1<<20-400) + `"]}`)
	bigHeader := nats.Header{"X-Big": {strings.Repeat("h", 64<<10-200)}, "X-Small": {"kept-name"}}
	for _, m := range []struct {
		body   []byte
		header nats.Header
	}{{small, bigHeader}, {large, nats.Header{"X-Small": {"x"}}}} {
		msg := &nats.Msg{Subject: "purge.test", Data: m.body, Header: m.header}
		if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatalf("publish %d-byte body: %v", len(m.body), err)
		}
	}
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != 2 {
		t.Fatalf("dead-lettered %d messages, want 2", len(dead))
	}
	for i, m := range dead {
		if reason := m.Header.Get(HeaderError); reason == "" {
			t.Errorf("copy %d has no %s", i, HeaderError)
		}
		if got := m.Header.Get(HeaderSubject); got != "purge.test" {
			t.Errorf("copy %d: %s = %q, want purge.test", i, HeaderSubject, got)
		}
	}
	// The big header: left out and named, the body kept whole.
	if dead[0].Header.Get("X-Big") != "" || dead[0].Header.Get("X-Small") != "" {
		t.Errorf("copy keeps the publisher's headers that made it too large")
	}
	if dropped := dead[0].Header.Get(HeaderDropped); !strings.Contains(dropped, "X-Big") || !strings.Contains(dropped, "X-Small") {
		t.Errorf("%s = %q, want it to name X-Big and X-Small", HeaderDropped, dropped)
	}
	if got := dead[0].Data; string(got) != string(small) {
		t.Errorf("small body not kept whole: %q", got)
	}
	// The large body: cut, saying from what length.
	if got, cut := dead[1].Data, dead[1].Header.Get(HeaderTruncated); len(got) == len(large) {
		t.Errorf("copy of a body that fills max_payload kept all %d bytes", len(got))
	} else if cut != strconv.Itoa(len(large)) || string(got) != string(large[:len(got)]) {
		t.Errorf("cut body: %s = %q, want %d and a prefix of the body", HeaderTruncated, cut, len(large))
	}
	// The metric counts after the term, which may reach the server first.
	testutil.Eventually(t, 10*time.Second, "dead_lettered_total{reason=invalid} to reach 2", func() bool {
		return h.metric("purge_worker_dead_lettered_total", map[string]string{"reason": "invalid"}) == 2
	})
}

// A dead-letter stream whose max_msg_size is smaller than the body: the copy
// is stored without the body, saying how long it was, rather than not at
// all.
func TestDeadLetterWithoutRoomForTheBodyKeepsTheReason(t *testing.T) {
	h := newHarness(t, func(h *harness) {
		sc := DLQStreamConfig(h.cfg.DLQStream)
		sc.MaxMsgSize = 2048
		if _, err := h.js.CreateStream(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
	})
	h.start()
	body := []byte(`{"zone":"example.com","tags":["` + strings.Repeat("t", 4000) + `"]}`)
	h.publishRaw("purge.test", body)
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != 1 {
		t.Fatalf("dead-lettered %d messages, want 1", len(dead))
	}
	m := dead[0]
	if len(m.Data) != 0 || m.Header.Get(HeaderTruncated) != strconv.Itoa(len(body)) {
		t.Errorf("copy has %d body bytes and %s %q, want none and %d", len(m.Data), HeaderTruncated, m.Header.Get(HeaderTruncated), len(body))
	}
	if reason := m.Header.Get(HeaderError); !strings.Contains(reason, "tags[0]") {
		t.Errorf("%s = %q, want the reason naming tags[0]", HeaderError, reason)
	}
}
