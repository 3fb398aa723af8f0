package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// The minimum-calls promise where a daemon meets it: bursts published while
// the worker runs, backlogs many times max_ack_pending, accounts that accept
// fewer keys per call than their plan. Each test asserts the exact number of
// calls against the lower bound computed from the intents alone.

// cmsIntents draws n CMS publish events over the first zones of
// testZones: 1 to 5 URLs from pool pages per zone, a tag from tags per zone
// on a tenth of them.
func cmsIntents(n, zones, pool, tags int, seed uint64) []*intent.Intent {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]*intent.Intent, 0, n)
	for i := range n {
		z := testZones[r.IntN(zones)]
		in := &intent.Intent{Zone: z.Name, ID: fmt.Sprintf("cms-%d-%d", seed, i), Source: "test"}
		for range 1 + r.IntN(5) {
			in.Files = append(in.Files, intent.File{URL: fmt.Sprintf("https://www.%s/post/%d/", z.Name, r.IntN(pool))})
		}
		if r.IntN(10) == 0 {
			in.Tags = []string{fmt.Sprintf("post-%d", r.IntN(tags))}
		}
		out = append(out, in)
	}
	return out
}

// publishAll publishes intents asynchronously, as a bulk publisher does,
// waits until the stream has stored them all, and returns when each was
// published.
func (h *harness) publishAll(intents []*intent.Intent) []time.Time {
	h.t.Helper()
	at := make([]time.Time, len(intents))
	futures := make([]jetstream.PubAckFuture, len(intents))
	for i, in := range intents {
		at[i] = time.Now()
		f, err := h.js.PublishAsync(intent.Subject(in), must(json.Marshal(in)), jetstream.WithMsgID(in.ID))
		if err != nil {
			h.t.Fatalf("publish: %v", err)
		}
		futures[i] = f
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		h.t.Fatal("publish did not complete")
	}
	for _, f := range futures {
		select {
		case err := <-f.Err():
			h.t.Fatalf("publish: %v", err)
		default:
		}
	}
	return at
}

// countOutcomes counts cftest's calls by outcome.
func countOutcomes(calls []cftest.Call) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		n[c.Outcome]++
	}
	return n
}

// A burst of CMS intents published into a running, idle worker within one
// window costs exactly the lower bound: full chunks wait for the window, so
// the rest of the burst joins them.
func TestLiveBurstCostsTheLowerBound(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	// The promise is for a burst stored within one window of its first
	// intent; publishing 400 takes well under a second even under -race
	// on a loaded machine.
	h.cfg.Window = 3 * time.Second
	h.start()
	intents := cmsIntents(400, 2, 300, 60, 1)
	published := h.publishAll(intents)
	h.waitDrained(60 * time.Second)
	want := lowerBound(t, h, intents)
	if want < 8 {
		t.Fatalf("test data too small: bound %d", want)
	}
	t.Logf("%d intents, lower bound %d calls", len(intents), want)
	calls := h.cf.Calls()
	if len(calls) != want || len(h.accepted()) != want {
		t.Errorf("calls = %d (%v), want the lower bound %d, all accepted", len(calls), countOutcomes(calls), want)
	}
	h.coveredAfter(intents, published)
}

// purge_everything published first waits for its window, so the keys it
// covers that follow ride along with it; in another zone a host and a
// prefix take in the URLs they cover. Four calls in all.
func TestLiveBurstWithCoverersCostsTheLowerBound(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.Window = 3 * time.Second
	h.start()
	var intents []*intent.Intent
	add := func(in *intent.Intent) {
		in.ID = fmt.Sprintf("cov-%d", len(intents))
		intents = append(intents, in)
	}
	add(&intent.Intent{Zone: "example.com", PurgeEverything: true})
	for i := range 120 {
		add(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/p/%d", i)}},
			Tags: []string{fmt.Sprintf("t-%d", i%7)}})
	}
	for i := range 150 {
		in := &intent.Intent{Zone: "example.org"}
		switch i % 5 {
		case 0, 1:
			in.Files = []intent.File{{URL: fmt.Sprintf("https://static.example.org/img/%d.png", i)}}
		case 2, 3:
			in.Files = []intent.File{{URL: fmt.Sprintf("https://www.example.org/blog/%d", i)}}
		default:
			in.Files = []intent.File{{URL: fmt.Sprintf("https://www.example.org/about/%d", i)}}
		}
		if i == 40 {
			in.Hosts = []string{"static.example.org"}
		}
		if i == 80 {
			in.Prefixes = []string{"www.example.org/blog"}
		}
		add(in)
	}
	published := h.publishAll(intents)
	h.waitDrained(60 * time.Second)
	// example.com: purge_everything; example.org: the host, the prefix,
	// and one call for the 30 URLs neither covers.
	if want := lowerBound(t, h, intents); want != 4 {
		t.Fatalf("lower bound = %d, the test data is meant to give 4", want)
	}
	if calls := h.cf.Calls(); len(calls) != 4 || len(h.accepted()) != 4 {
		t.Errorf("calls = %d (%v), want 4, all accepted", len(calls), countOutcomes(calls))
	}
	h.coveredAfter(intents, published)
}

// A backlog sixteen times max_ack_pending costs what a backlog held whole
// would: the first calls carry the horizon of the whole stream, so the later
// slices' keys are acked as they arrive, without calls or windows. The
// pages cycle through the pool so that every key has appeared by the time
// the worker is first capped: which messages are held then does not depend
// on chance.
func TestBacklogBeyondMaxAckPendingCostsTheLowerBound(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.MaxAckPending = 500
	const n, pool, tags = 8000, 200, 40
	intents := make([]*intent.Intent, n)
	for i := range intents {
		z := testZones[i%2]
		in := &intent.Intent{Zone: z.Name, ID: fmt.Sprintf("backlog-%d", i)}
		for j := range 1 + i%5 {
			in.Files = append(in.Files, intent.File{URL: fmt.Sprintf("https://www.%s/post/%d/", z.Name, (i*7+j*13)%pool)})
		}
		if i%10 == 3 || i%10 == 8 {
			in.Tags = []string{fmt.Sprintf("post-%d", (i/5)%tags)}
		}
		intents[i] = in
	}
	published := h.publishAll(intents)
	h.start()
	h.waitDrained(120 * time.Second)
	want := lowerBound(t, h, intents)
	if want != 6 { // per zone: 200 URLs in 2 calls, 40 tags in 1
		t.Fatalf("lower bound = %d, the test data is meant to give 6", want)
	}
	if calls := h.cf.Calls(); len(calls) != want || len(h.accepted()) != want {
		t.Errorf("calls = %d (%v), want the lower bound %d, all accepted", len(calls), countOutcomes(calls), want)
	}
	if got := h.metric("purge_worker_coalesced_total", map[string]string{"reason": "earlier_call"}); got == 0 {
		t.Error("no key counted as settled by an earlier call")
	}
	h.coveredAfter(intents, published)
}

// An account that accepts 30 keys per call where its plan says 100: each
// zone and type costs at most one refused call, Cloudflare's message names
// the maximum, and the rest cost exactly the bound for 30.
func TestAccountCappedAt30CostsTheBoundFor30(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.Window = 3 * time.Second
	capped := h.acct.Limits()
	capped.MaxURLsPerRequest, capped.MaxKeysPerRequest = 30, 30
	h.acct.SetLimits(capped) // the worker still believes the plan's 100
	intents := cmsIntents(400, 2, 150, 60, 2)
	published := h.publishAll(intents)
	h.start()
	h.waitDrained(60 * time.Second)

	// The bound for 30, computed as for any plan.
	believed := h.cfg.Accounts[0].Limits
	h.cfg.Accounts[0].Limits = capped
	want := lowerBound(t, h, intents)
	h.cfg.Accounts[0].Limits = believed
	// Zones and types with more than 30 keys: where a refusal can happen.
	perGroup := map[string]int{}
	for _, c := range h.accepted() {
		perGroup[c.ZoneID+" "+c.Kind] += len(c.Keys)
	}
	groups := 0
	for _, keys := range perGroup {
		if keys > 30 {
			groups++
		}
	}
	n := countOutcomes(h.cf.Calls())
	t.Logf("calls by outcome %v, bound for 30: %d, zones and types over 30 keys: %d", n, want, groups)
	if n[cftest.OutcomeOK] != want {
		t.Errorf("accepted calls = %d, want the bound for 30: %d", n[cftest.OutcomeOK], want)
	}
	if n[cftest.OutcomeTooMany] == 0 || n[cftest.OutcomeTooMany] > groups {
		t.Errorf("refused calls = %d, want at least 1 and at most one per zone and type over 30 keys (%d)", n[cftest.OutcomeTooMany], groups)
	}
	if len(n) != 2 {
		t.Errorf("outcomes = %v, want only ok and too_many", n)
	}
	h.coveredAfter(intents, published)
}

// A stream purged by an operator keeps its last sequence, so horizons stay
// right; a stream deleted and created again starts its sequences over, and
// no call made for the old one may settle a message of the new one.
func TestHorizonsAcrossStreamPurgeAndRecreation(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.start()
	hot := func(id string) *intent.Intent {
		return &intent.Intent{Zone: "example.com", ID: id, Files: []intent.File{{URL: "https://www.example.com/hot"}}}
	}
	ctx := context.Background()
	h.publish(hot("a"))
	h.waitDrained(30 * time.Second)
	st := must(h.js.Stream(ctx, h.cfg.Stream))
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	h.publish(hot("b")) // stored after the first call: needs its own
	h.waitDrained(30 * time.Second)
	if n := len(h.accepted()); n != 2 {
		t.Fatalf("%d calls after a purge of the stream, want 2", n)
	}
	if err := h.js.DeleteStream(ctx, h.cfg.Stream); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(ctx, h.js, h.cfg); err != nil {
		t.Fatal(err)
	}
	h.publish(hot("c")) // sequence 1 again, below the old horizons
	testutil.Eventually(h.t, 30*time.Second, "a third call", func() bool { return len(h.accepted()) == 3 })
	h.waitDrained(30 * time.Second)
	if n := len(h.accepted()); n != 3 {
		t.Errorf("%d calls after the stream was created again, want 3", n)
	}
}
