package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
)

// Streams an operator created beforehand, with settings of their own, are
// used as they are; the worker neither fails nor rewrites them.
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
