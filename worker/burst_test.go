package worker

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
)

// burst builds n intents over the three test zones: URLs drawn from a small
// pool (so most are duplicates), a few tags, and in example.com one host and
// one prefix that cover part of the URL pool.
func burst(n int, seed uint64) []*intent.Intent {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]*intent.Intent, 0, n)
	for i := range n {
		z := testZones[i%len(testZones)]
		in := &intent.Intent{Zone: z.Name, ID: fmt.Sprintf("burst-%d", i), Source: "test"}
		for range 1 + r.IntN(3) {
			host := "www." + z.Name
			if r.IntN(4) == 0 {
				host = "static." + z.Name
			}
			path := fmt.Sprintf("/p/%d", r.IntN(60))
			if r.IntN(5) == 0 {
				path = fmt.Sprintf("/blog/%d", r.IntN(15))
			}
			in.Files = append(in.Files, intent.File{URL: "https://" + host + path})
		}
		if r.IntN(10) == 0 {
			in.Tags = append(in.Tags, fmt.Sprintf("Post-%d", r.IntN(60)))
		}
		switch i {
		case 6:
			in.Hosts = []string{"static.example.com"}
		case 9:
			in.Prefixes = []string{"https://www.example.com/blog"}
		}
		out = append(out, in)
	}
	return out
}

// lowerBound computes the contract's minimum for a burst received inside one
// window, independently of the batcher: per zone, dedupe, drop what a host or
// prefix of the burst covers, then chunk.
func lowerBound(t *testing.T, h *harness, intents []*intent.Intent) int {
	t.Helper()
	zones, err := h.cfg.intentZones()
	if err != nil {
		t.Fatal(err)
	}
	type zk struct {
		zone string
		kind intent.Kind
	}
	keys := map[string]map[intent.Key]bool{}
	for _, in := range intents {
		parts, err := in.Bind(zones)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if keys[p.ZoneID] == nil {
				keys[p.ZoneID] = map[intent.Key]bool{}
			}
			for _, k := range p.Keys {
				keys[p.ZoneID][k] = true
			}
		}
	}
	counts := map[zk]int{}
	for zone, set := range keys {
		for k := range set {
			covered := false
			for b := range set {
				if b != k && intent.Covers(b, k) {
					covered = true
					break
				}
			}
			if !covered {
				counts[zk{zone, k.Kind}]++
			}
		}
	}
	total := 0
	limits := h.cfg.Accounts[0].Limits
	for k, n := range counts {
		total += ceilDiv(n, limits.MaxPerRequest(k.kind == intent.KindFile))
	}
	return total
}

// A burst of 1,000 intents over 3 zones, with 70%+ duplicate URLs, tags, a
// host and a prefix, waiting in the stream when the worker starts: the calls
// equal the lower bound, none is refused, every key is purged, every message
// is acked and the stream is empty.
func TestBurstCostsExactlyTheLowerBound(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	// The promise is for a burst received inside one window; under -race
	// on a loaded 2-core machine pulling 1,000 intents can take over a
	// second, so the window is generous.
	h.cfg.Window = 3 * time.Second
	intents := burst(1000, 42)
	published := make([]time.Time, len(intents))
	futures := make([]jetstream.PubAckFuture, 0, len(intents))
	for i, in := range intents {
		published[i] = time.Now()
		data := must(json.Marshal(in))
		f, err := h.js.PublishAsync(intent.Subject(in), data, jetstream.WithMsgID(in.ID))
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publish did not complete")
	}
	for _, f := range futures {
		select {
		case err := <-f.Err():
			t.Fatal(err)
		default:
		}
	}
	uniqueURLs, allURLs := map[string]bool{}, 0
	for _, in := range intents {
		for _, f := range in.Files {
			uniqueURLs[f.URL] = true
			allURLs++
		}
	}
	if dup := 1 - float64(len(uniqueURLs))/float64(allURLs); dup < 0.7 {
		t.Fatalf("test data has %.0f%% duplicate URLs, want at least 70%%", dup*100)
	}

	h.start()
	h.waitDrained(60 * time.Second)

	want := lowerBound(t, h, intents)
	t.Logf("%d intents, %d unique URLs of %d, lower bound %d calls", len(intents), len(uniqueURLs), allURLs, want)
	if got := len(h.accepted()); got != want {
		t.Errorf("accepted calls = %d, want the lower bound %d", got, want)
	}
	if got := len(h.cf.Calls()); got != want {
		t.Errorf("calls received = %d (some refused), want %d", got, want)
	}
	h.coveredAfter(intents, published)
	if n := len(h.dlq()); n != 0 {
		t.Errorf("%d messages dead-lettered, want none", n)
	}
	ci, err := h.consumerInfo()
	if err != nil {
		t.Fatal(err)
	}
	// NumRedelivered only counts redelivered messages not yet acked;
	// consumer deliveries beyond the stream sequences are the cumulative count.
	if n := ci.Delivered.Consumer - ci.Delivered.Stream; n != 0 {
		t.Errorf("%d messages redelivered, want none", n)
	}
}
