package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// A worker stopped while calls are in flight, with a shutdown deadline too
// short to finish them, and a new worker started on the same stream: every
// key is purged by a call issued after its intent was published.
func TestRestartMidFlightLosesNothing(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.ShutdownTimeout = 100 * time.Millisecond
	h.cf.SetLatency(400 * time.Millisecond)
	h.start()
	var intents []*intent.Intent
	var published []time.Time
	for i := range 300 {
		z := testZones[i%len(testZones)]
		in := &intent.Intent{Zone: z.Name, ID: fmt.Sprintf("restart-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.%s/r/%d", z.Name, i)}}}
		published = append(published, time.Now())
		h.publish(in)
		intents = append(intents, in)
	}
	// Stop once the first calls are in flight.
	testutil.Eventually(h.t, 10*time.Second, "a call in flight", func() bool { return h.cf.InFlight() > 0 })
	if err := h.stop(); err != nil {
		t.Fatalf("first worker: %v", err)
	}
	if h.drained() {
		t.Fatal("everything was done before the restart: the test proves nothing")
	}
	h.cf.SetLatency(0)
	h.start()
	h.waitDrained(60 * time.Second)
	h.coveredAfter(intents, published)
	if n := len(h.dlq()); n != 0 {
		t.Errorf("%d dead-lettered, want 0", n)
	}
}

// A revoked token: nothing is dead-lettered, readiness fails, and work
// resumes once the token is good again.
func TestRevokedTokenPausesAndResumes(t *testing.T) {
	h := newHarness(t)
	w := h.start()
	h.acct.SetToken("some-other-token-xyz")
	var intents []*intent.Intent
	var published []time.Time
	for i := range 20 {
		in := &intent.Intent{Zone: "example.org", ID: fmt.Sprintf("auth-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.org/x/%d", i)}}}
		published = append(published, time.Now())
		h.publish(in)
		intents = append(intents, in)
	}
	testutil.Eventually(h.t, 10*time.Second, "readiness to fail", func() bool { return w.Ready() != nil })
	if len(h.accepted()) != 0 {
		t.Fatal("calls accepted with a revoked token")
	}
	h.acct.SetToken(testToken)
	h.waitDrained(30 * time.Second)
	if err := w.Ready(); err != nil {
		t.Errorf("still not ready after the token was restored: %v", err)
	}
	if n := len(h.dlq()); n != 0 {
		t.Errorf("%d dead-lettered for an auth failure, want 0", n)
	}
	h.coveredAfter(intents, published)
}

// An intent published while a call covering its key is in flight gets its
// own, later call: the in-flight call was issued before it was received.
func TestIntentDuringInFlightCallGetsItsOwnCall(t *testing.T) {
	h := newHarness(t)
	h.cf.SetLatency(time.Second)
	h.start()
	url := "https://www.example.com/hot"
	first := &intent.Intent{Zone: "example.com", ID: "first", Files: []intent.File{{URL: url}}}
	h.publish(first)
	testutil.Eventually(h.t, 10*time.Second, "the first call in flight", func() bool { return h.cf.InFlight() > 0 })
	secondAt := time.Now()
	second := &intent.Intent{Zone: "example.com", ID: "second", Files: []intent.File{{URL: url}}}
	h.publish(second)
	h.waitDrained(30 * time.Second)

	var calls []time.Time
	for _, c := range h.accepted() {
		for _, k := range c.Keys {
			if k == url {
				calls = append(calls, c.At)
			}
		}
	}
	if len(calls) != 2 {
		t.Fatalf("%s purged by %d calls, want 2", url, len(calls))
	}
	if !calls[1].After(secondAt) {
		t.Errorf("second call received at %s, not after the second intent was published at %s", calls[1], secondAt)
	}
}

// The account's limits are never exceeded: cftest, set to the same buckets
// as the worker, refuses no call for rate even when the work needs far more
// calls than the burst allows.
func TestRateLimitsAreNeverExceeded(t *testing.T) {
	l := planLimits(t, "free")
	l.MaxKeysPerRequest = 1 // every tag needs its own flex call
	l.FlexPerSecond = 5
	l.FlexBurst = 3
	h := newHarness(t, withLimits(l))
	h.start()
	var intents []*intent.Intent
	var published []time.Time
	for i := range 15 {
		in := &intent.Intent{Zone: "example.net", ID: fmt.Sprintf("rl-%d", i), Tags: []string{fmt.Sprintf("tag-%d", i)}}
		published = append(published, time.Now())
		h.publish(in)
		intents = append(intents, in)
	}
	h.waitDrained(60 * time.Second)
	if n := h.refusedForRate(); n != 0 {
		t.Errorf("%d calls refused for rate, want 0", n)
	}
	if got := len(h.accepted()); got != 15 {
		t.Errorf("%d calls, want 15 (one per tag at max 1 key per request)", got)
	}
	h.coveredAfter(intents, published)
}

// A worker restarted right after a burst spent the account's flex budget
// continues from the levels stored in KV: the restarted process does not
// believe its buckets are full, and Cloudflare refuses nothing.
func TestRestartContinuesFromStoredLevels(t *testing.T) {
	l := planLimits(t, "pro")
	l.MaxKeysPerRequest = 5
	l.FlexPerSecond = 1
	l.FlexBurst = 10
	h := newHarness(t, withLimits(l))
	h.start()
	var intents []*intent.Intent
	var published []time.Time
	publish := func(prefix string, n int) {
		for i := range n {
			in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("%s-%d", prefix, i),
				Tags: []string{fmt.Sprintf("%s-%d", prefix, i)}}
			published = append(published, time.Now())
			h.publish(in)
			intents = append(intents, in)
		}
	}
	publish("spend", 50) // 10 calls: the whole burst
	h.waitDrained(60 * time.Second)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	w := h.start()
	testutil.Eventually(h.t, 30*time.Second, "the restarted worker active", func() bool { return w.Role() == RoleActive })
	if lv := w.Levels()[0]; lv.Flex > lv.FlexBurst/2 {
		t.Errorf("restarted with %.1f of %.0f flex tokens: the spent budget was forgotten", lv.Flex, lv.FlexBurst)
	}
	publish("after", 30) // 6 calls: more than what refilled meanwhile
	h.waitDrained(60 * time.Second)
	if n := h.refusedForRate(); n != 0 {
		t.Errorf("Cloudflare refused %d calls for rate after the restart, want 0", n)
	}
	h.coveredAfter(intents, published)
}
