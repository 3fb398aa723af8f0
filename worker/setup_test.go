package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// Streams an operator created beforehand, with settings of their own, are
// used as they are; the worker neither fails nor rewrites them (bar the
// dead-letter stream's duplicate window, see
// TestDeadLetterDuplicateWindowCoversAckWait).
func TestUsesOperatorCreatedStreams(t *testing.T) {
	h := newHarness(t, func(hh *harness) {
		sc := StreamConfig("PURGE")
		sc.Description = "created by ops"
		sc.MaxMsgs = 5000
		sc.MaxAge = time.Hour
		if _, err := hh.js.CreateStream(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
	})
	h.start()
	in := &intent.Intent{Zone: "example.com", ID: "ops-1", Files: []intent.File{{URL: "https://www.example.com/ops"}}}
	at := time.Now()
	h.publish(in)
	h.waitDrained(30 * time.Second)
	h.coveredAfter([]*intent.Intent{in}, []time.Time{at})
	st, err := h.js.Stream(context.Background(), "PURGE")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Description != "created by ops" || cfg.MaxMsgs != 5000 || cfg.MaxAge != time.Hour {
		t.Errorf("operator's stream settings changed: %+v", cfg)
	}
	if cfg.Retention != jetstream.WorkQueuePolicy {
		t.Errorf("retention = %v", cfg.Retention)
	}
}

// An intent without a zone is split across the configured zones by
// hostname; each zone gets its own call, and the message is acked once both
// succeed. The metrics count what happened.
func TestZonelessIntentIsRoutedByHost(t *testing.T) {
	h := newHarness(t)
	h.start()
	in := &intent.Intent{ID: "routed", Files: []intent.File{
		{URL: "https://www.example.com/a"}, {URL: "https://cdn.example.org/b"}, {URL: "https://example.com/c"},
	}, Hosts: []string{"img.example.net"}}
	at := time.Now()
	h.publish(in)
	h.waitDrained(30 * time.Second)
	h.coveredAfter([]*intent.Intent{in}, []time.Time{at})
	zones := map[string]bool{}
	for _, c := range h.accepted() {
		zones[c.ZoneName] = true
	}
	if len(zones) != 3 || len(h.accepted()) != 3 {
		t.Errorf("calls to zones %v (%d calls), want one call to each of the 3 zones", zones, len(h.accepted()))
	}
	// The stream drains when the ack reaches the server, a moment before
	// the worker counts it.
	testutil.Eventually(t, 10*time.Second, "the ack counted", func() bool {
		return h.metric("purge_worker_acks_total", map[string]string{"result": "ack"}) == 1
	})
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"purge_worker_intents_total", map[string]string{"result": "accepted"}, 1},
		{"purge_worker_items_total", map[string]string{"type": "files"}, 3},
		{"purge_worker_items_total", map[string]string{"type": "hosts"}, 1},
		{"purge_worker_api_calls_total", map[string]string{"type": "files", "outcome": "ok"}, 2},
		{"purge_worker_api_calls_total", map[string]string{"type": "hosts", "outcome": "ok"}, 1},
		{"purge_worker_acks_total", map[string]string{"result": "ack"}, 1},
		{"purge_worker_held_messages", nil, 0},
		{"purge_worker_pending_items", nil, 0},
	}
	for _, c := range checks {
		if got := h.metric(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// Duplicates and covered keys are counted as coalesced.
func TestCoalescedMetrics(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.publish(&intent.Intent{Zone: "example.com", ID: fmt.Sprintf("c-%d", i),
			Files: []intent.File{{URL: "https://www.example.com/same"}, {URL: fmt.Sprintf("https://static.example.com/%d", i)}}})
	}
	h.publish(&intent.Intent{Zone: "example.com", ID: "host", Hosts: []string{"static.example.com"}})
	h.start()
	h.waitDrained(30 * time.Second)
	if got := h.metric("purge_worker_coalesced_total", map[string]string{"reason": "duplicate"}); got != 4 {
		t.Errorf("duplicates = %v, want 4", got)
	}
	if got := h.metric("purge_worker_coalesced_total", map[string]string{"reason": "covered"}); got != 5 {
		t.Errorf("covered = %v, want 5", got)
	}
	if got := len(h.accepted()); got != 2 {
		t.Errorf("%d calls, want 2 (one files call, one hosts call)", got)
	}
}

func TestPrefetchDrainsWellWithinAckWait(t *testing.T) {
	for _, tc := range []struct {
		ackWait time.Duration
		maxAck  int
		want    int
	}{
		{30 * time.Second, 20000, 1000}, // the defaults
		{5 * time.Minute, 20000, 1000},  // never more
		{5 * time.Second, 20000, 166},   // ack_wait/30 at 1,000 msgs/s
		{30 * time.Second, 100, 25},     // a quarter of max_ack_pending
		{30 * time.Second, 0, 1000},     // no max_ack_pending
		{10 * time.Millisecond, 20000, 1},
	} {
		c := Config{AckWait: tc.ackWait, MaxAckPending: tc.maxAck}
		if got := c.Prefetch(); got != tc.want {
			t.Errorf("Prefetch(ack_wait %v, max_ack_pending %d) = %d, want %d", tc.ackWait, tc.maxAck, got, tc.want)
		}
	}
}

// The dead-letter stream's duplicate window covers a redelivery: a message
// whose copy was stored but whose term was lost comes back within ack_wait,
// and its second copy must be recognised as the same. Ensure creates the
// stream with such a window, and raises the window of an operator's stream
// that is too short, within its max_age, never lowering it.
func TestDeadLetterDuplicateWindowCoversAckWait(t *testing.T) {
	ctx := context.Background()
	ns := startNATS(t, t.TempDir(), -1)
	_, js := testutil.ConnectJS(t, ns.ClientURL())
	cfg := Config{Stream: "PURGE", Consumer: "c", DLQStream: "PURGE_DLQ", AckWait: 5 * time.Minute, MaxDeliver: -1}
	window := func(name string) time.Duration {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.Duplicates
	}
	if _, err := Ensure(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if got := window("PURGE_DLQ"); got <= cfg.AckWait {
		t.Errorf("new dead-letter stream: duplicate window %s, want more than ack_wait %s", got, cfg.AckWait)
	}

	// An operator's stream with the default two minutes, and one whose
	// max_age caps the window.
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		want   func(time.Duration) bool
	}{
		{"OPS_DLQ", 0, func(d time.Duration) bool { return d > cfg.AckWait }},
		{"AGED_DLQ", 3 * time.Minute, func(d time.Duration) bool { return d == 3*time.Minute }},
	} {
		sc := DLQStreamConfig(tc.name)
		sc.Subjects = []string{"dlq_" + strings.ToLower(tc.name) + ".>"}
		sc.MaxAge = tc.maxAge
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.DLQStream = tc.name
		if _, err := Ensure(ctx, js, c); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := window(tc.name); !tc.want(got) {
			t.Errorf("%s (max_age %s): duplicate window %s after Ensure with ack_wait %s", tc.name, tc.maxAge, got, cfg.AckWait)
		}
	}
}
