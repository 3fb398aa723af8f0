package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// The promise of the daemon, under the faults of production: purge-worker
// runs as a process against JetStream and a fake Cloudflare that answers
// 5xx, 429 with Retry-After, slowly, or not at all, while intents (5% of
// them invalid) are published; the worker is killed with SIGKILL at random
// moments and restarted, and the NATS server is restarted on the same
// store. Once publishing stops and the stream drains:
//
//   - every key of every valid intent was covered by an accepted call of
//     its zone and endpoint that arrived after the intent was published;
//   - every message was settled: the stream is empty, nothing ack-pending;
//   - PURGE_DLQ holds exactly the invalid intents, each with a reason;
//   - no message was redelivered while a live worker held it: in segments
//     without kills or NATS restarts, longer than twice ack_wait, the
//     consumer's redelivery count does not grow;
//   - no call reached Cloudflare while the worker was to wait for a
//     Retry-After, so Cloudflare never has to say 429 twice; real 429s
//     come only after a worker start (its buckets start full), bar rare
//     jitter;
//   - a key is purged again with no newer intent only after a SIGKILL or
//     a NATS restart, which redeliver messages whose purge succeeded;
//   - the worker's own counts of accepted and rate-limited calls (read
//     from /metrics) match what Cloudflare answered;
//   - the worker never crashed on its own (other than failing to start
//     while NATS was down), never logged a secret, and stops cleanly.
func TestChaos(t *testing.T) {
	pl := chaosPlan(t)
	seed := chaosSeed(t)
	t.Logf("chaos: seed %d (PURGE_CHAOS_SEED), %s of chaos (PURGE_CHAOS_DURATION), race detector %v",
		seed, pl.total, raceEnabled)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	dir := t.TempDir()
	logDir := t.TempDir()
	if keep := os.Getenv("PURGE_CHAOS_KEEP"); keep != "" {
		logDir = keep
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ns := startNATS(t, freePort(t), filepath.Join(dir, "nats"), 0)
	cf := startFakeCF(t, "pro", int64(seed))
	httpAddr := hostPort(freePort(t))
	cfgPath := writeConfig(t, dir, ns.url(), cf.url, httpAddr)
	js := connectJS(t, ns.url())
	createStreams(t, js)

	wp := startWorkerProc(t, cfgPath, logDir, httpAddr, secretEnv())
	testutil.Eventually(t, 2*time.Minute, "the worker to become ready", wp.ready)

	pubs := newPublishers(js, 5)
	pubs.start(3, seed)
	t.Cleanup(pubs.stop)
	faults := startFaults(cf, seed)
	t.Cleanup(faults.stop)

	r := &run{t: t, pl: pl, rng: rng, ns: ns, cf: cf, js: js, wp: wp, faults: faults}
	start := time.Now()
	for cycle := 0; cycle == 0 || time.Since(start) < pl.total; cycle++ {
		if cycle > 0 {
			// Let the redeliveries that kills and restarts cause come
			// back before measuring a quiet segment.
			time.Sleep(pl.settle)
		}
		r.quiet()
		r.chaos()
	}
	pubs.stop()
	faults.stop()
	t.Logf("chaos: publishing stopped after %s; waiting for the stream to drain", time.Since(start).Round(time.Second))
	if !testutil.WaitFor(pl.drain, func() bool { return drained(js) }) {
		// Go on: the checks below say what is missing.
		t.Errorf("the stream did not drain within %s: %s", pl.drain, consumerState(js))
	}
	redelivered := r.redeliveries()
	stopErr := wp.stop()

	r.verify(pubs, faults, redelivered, stopErr, logDir)
}

// plan says how long a run lasts and how much happens in it.
type plan struct {
	total       time.Duration // of publishing and faults, before the drain
	quiet       time.Duration // a segment without kills or NATS restarts
	settle      time.Duration // after disruption, before a quiet segment
	chaos       time.Duration // a segment with kills and NATS restarts
	kills, nats int           // per chaos segment
	drain       time.Duration // how long the drain may take, generously
}

func chaosPlan(t *testing.T) plan {
	t.Helper()
	p := plan{
		total: 45 * time.Second, quiet: 3 * chaosAckWait, settle: 2 * chaosAckWait,
		chaos: 30 * time.Second, kills: 2, nats: 1, drain: 3 * time.Minute,
	}
	if s := os.Getenv("PURGE_CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("PURGE_CHAOS_DURATION %q: want a positive duration such as 10m", s)
		}
		p.total, p.chaos, p.kills, p.drain = d, 60*time.Second, 3, 5*time.Minute
	}
	return p
}

func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("PURGE_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PURGE_CHAOS_SEED %q: want an unsigned integer", s)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

func connectJS(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	_, js := testutil.ConnectJS(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	return js
}

// createStreams creates the streams as the worker would, so that
// publishing can start before the worker first runs.
func createStreams(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, sc := range []jetstream.StreamConfig{worker.StreamConfig(streamName), worker.DLQStreamConfig(dlqName)} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
}

// run is the state of one chaos run.
type run struct {
	t   *testing.T
	pl  plan
	rng *rand.Rand
	ns  *natsServer
	cf  *fakeCF
	js  jetstream.JetStream
	wp  *workerProc

	faults *faultInjector

	quiets []quietSegment
	kills  int
}

// quietSegment is a stretch with Cloudflare faults but no kills and no
// NATS restarts, and the consumer's redelivery count at both ends.
type quietSegment struct {
	from, to   time.Time
	before, at uint64
}

// quiet runs a quiet segment: with the worker up, Cloudflare failing and
// slow, nothing may be redelivered, since the worker keeps every message
// it holds alive with InProgress. For the first ack_wait of it, every
// answer takes one and a half ack_wait, so that the worker certainly holds
// messages longer than ack_wait: without the keep-alive they would come
// back.
func (r *run) quiet() {
	testutil.Eventually(r.t, 2*time.Minute, "the worker to be ready", r.wp.ready)
	q := quietSegment{from: time.Now(), before: r.redeliveries()}
	r.faults.hold(chaosAckWait*3/2, chaosAckWait)
	time.Sleep(r.pl.quiet) // the segment itself; its length is not asserted on
	q.at, q.to = r.redeliveries(), time.Now()
	r.quiets = append(r.quiets, q)
}

// redeliveries reads the consumer's cumulative redelivery count, waiting
// out a NATS restart.
func (r *run) redeliveries() uint64 {
	var n uint64
	testutil.Eventually(r.t, time.Minute, "consumer info", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		n, err = redeliveries(ctx, r.js)
		return err == nil
	})
	return n
}

// chaos runs a chaos segment: kills of the worker and restarts of NATS at
// random moments in it, each kind from its own goroutine so that they may
// overlap.
func (r *run) chaos() {
	seg := r.pl.chaos
	killAt := offsets(r.rng, r.pl.kills, seg)
	natsAt := offsets(r.rng, r.pl.nats, seg)
	killPause := make([]time.Duration, len(killAt))
	waitInFlight := make([]bool, len(killAt))
	for i := range killAt {
		killPause[i] = time.Duration(r.rng.IntN(1500)) * time.Millisecond
		waitInFlight[i] = r.rng.IntN(2) == 0
	}
	natsDown := make([]time.Duration, len(natsAt))
	for i := range natsAt {
		natsDown[i] = time.Duration(200+r.rng.IntN(1800)) * time.Millisecond
	}
	start := time.Now()
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		for i, at := range killAt {
			time.Sleep(time.Until(start.Add(at)))
			if waitInFlight[i] {
				// Kill while a call is in flight: its result is lost,
				// and its keys must be purged again.
				deadline := time.Now().Add(2 * time.Second)
				for r.cf.InFlight() == 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			r.wp.kill(killPause[i])
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		for i, at := range natsAt {
			time.Sleep(time.Until(start.Add(at)))
			r.ns.restart(natsDown[i])
		}
	}()
	<-done
	<-done
	time.Sleep(time.Until(start.Add(seg)))
	r.kills += len(killAt)
}

// offsets returns n sorted random moments in [0, within).
func offsets(rng *rand.Rand, n int, within time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(rng.Int64N(int64(within)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// callCounts counts cftest's calls by outcome, splitting injected answers
// by status class.
func callCounts(calls []cftest.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		k := c.Outcome
		if k == cftest.OutcomeInjected {
			k = fmt.Sprintf("injected %dxx", c.Status/100)
			if c.Status == 429 {
				k = "injected 429"
			}
		}
		out[k]++
	}
	return out
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}
