package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// The zones every integration test uses, all in one account.
var testZones = []Zone{
	{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "example.com", Account: "acct"},
	{ID: "1b2c3d4e5f60718293a4b5c6d7e8f901", Name: "example.org", Account: "acct"},
	{ID: "abcdefabcdefabcdefabcdefabcdef12", Name: "example.net", Account: "acct"},
}

const testToken = "test-token-0123456789"

// harness is a real embedded JetStream server, a cftest fake of Cloudflare,
// and a Worker wired to both, as the daemon wires them.
type harness struct {
	t    testing.TB
	ns   *server.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	cf   *cftest.Server
	acct *cftest.Account
	cfg  Config

	mu      sync.Mutex
	w       *Worker
	cancel  context.CancelFunc
	done    chan error
	started []time.Time // when each published intent was published, by index
	reg     *prometheus.Registry
}

type harnessOpt func(*harness)

func withPlan(plan string) harnessOpt {
	return func(h *harness) {
		l, _ := cfclient.PlanLimits(plan)
		h.acct.SetLimits(l)
		h.cfg.Accounts[0].Limits = l
	}
}

func withLimits(l cfclient.Limits) harnessOpt {
	return func(h *harness) {
		h.acct.SetLimits(l)
		h.cfg.Accounts[0].Limits = l
	}
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t}
	h.ns = startNATS(t, t.TempDir(), -1)
	h.nc, h.js = testutil.ConnectJS(t, h.ns.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	return h.setUp(opts...)
}

// setUp adds the Cloudflare fake and the worker config to a harness
// connected to NATS, and ensures the streams.
func (h *harness) setUp(opts ...harnessOpt) *harness {
	t := h.t
	t.Helper()
	h.cf = cftest.NewServer()
	t.Cleanup(h.cf.Close)
	h.acct = h.cf.AddAccount("acct", "free", testToken)
	for _, z := range testZones {
		h.cf.AddZone(z.ID, z.Name, h.acct)
	}
	limits, _ := cfclient.PlanLimits("free")
	h.cfg = Config{
		Stream: "PURGE", Consumer: "purge-worker", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 20000, MaxDeliver: -1,
		Window: 200 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
		AuthRetry: 300 * time.Millisecond, RememberKeys: 1_000_000,
		Accounts: []Account{{Name: "acct", Limits: limits,
			Purger: cfclient.New(h.cf.URL, cfclient.Auth{Token: testToken}, nil)}},
		Zones:  testZones,
		Logger: testLogger(t),
	}
	for _, o := range opts {
		o(h)
	}
	// Create the streams up front so tests can publish before a worker runs.
	if _, err := Ensure(context.Background(), h.js, h.cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("PURGE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

func startNATS(t *testing.T, dir string, port int) *server.Server {
	return testutil.StartJetStream(t, dir, port)
}

// start runs a new Worker until stop.
func (h *harness) start() *Worker {
	h.t.Helper()
	cfg := h.cfg
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	w, err := New(h.js, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	h.mu.Lock()
	h.w, h.cancel, h.done, h.reg = w, cancel, done, reg
	h.mu.Unlock()
	h.t.Cleanup(func() { h.stop() })
	testutil.Eventually(h.t, 10*time.Second, "worker consuming", func() bool { return w.Ready() == nil || w.consumer.Load() })
	return w
}

// stop stops the running worker and waits for Run to return.
func (h *harness) stop() error {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		h.t.Fatal("worker did not stop within 30s")
		return nil
	}
}

// publish stores an intent and records when.
func (h *harness) publish(in *intent.Intent) int {
	h.t.Helper()
	h.mu.Lock()
	idx := len(h.started)
	h.started = append(h.started, time.Now())
	h.mu.Unlock()
	if _, err := intent.Publish(context.Background(), h.js, intent.Subject(in), in); err != nil {
		h.t.Fatalf("publish: %v", err)
	}
	return idx
}

// publishRaw stores an arbitrary body on subject.
func (h *harness) publishRaw(subject string, body []byte) {
	h.t.Helper()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, intent.NewID())
	if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
		h.t.Fatalf("publish raw: %v", err)
	}
}

// drained reports whether every intent was settled: the work-queue stream
// is empty and the consumer holds nothing.
func (h *harness) drained() bool {
	st, err := h.js.Stream(context.Background(), h.cfg.Stream)
	if err != nil {
		return false
	}
	info, err := st.Info(context.Background())
	if err != nil || info.State.Msgs != 0 {
		return false
	}
	ci, err := h.consumerInfo()
	return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0
}

func (h *harness) waitDrained(timeout time.Duration) {
	h.t.Helper()
	testutil.Eventually(h.t, timeout, "stream drained and nothing ack-pending", h.drained)
}

func (h *harness) consumerInfo() (*jetstream.ConsumerInfo, error) {
	c, err := h.js.Consumer(context.Background(), h.cfg.Stream, h.cfg.Consumer)
	if err != nil {
		return nil, err
	}
	return c.Info(context.Background())
}

// dlq returns every message in the dead-letter stream.
func (h *harness) dlq() []*jetstream.RawStreamMsg {
	h.t.Helper()
	return testutil.NamedStreamMsgs(h.t, h.js, h.cfg.DLQStream)
}

// accepted returns the calls cftest accepted.
func (h *harness) accepted() []cftest.Call { return h.cf.Accepted() }

// refusedForRate counts calls cftest refused because a bucket was empty,
// excluding 429s a test injected on purpose.
func (h *harness) refusedForRate() int {
	n := 0
	for _, c := range h.cf.Calls() {
		if c.Outcome == "rate_limited" {
			n++
		}
	}
	return n
}

// coveredAfter checks, by Cloudflare's rules (testutil.Coverage, not the
// worker's own intent.Covers), that every item of every published intent
// was purged by an accepted call of its zone received after the intent was
// published.
func (h *harness) coveredAfter(intents []*intent.Intent, published []time.Time) {
	h.t.Helper()
	cv := h.coverage()
	ix := testutil.IndexCalls(h.accepted())
	for i, in := range intents {
		missed, err := cv.Uncovered(ix, in, published[i])
		if err != nil {
			h.t.Fatalf("intent %d: %v", i, err)
		}
		for _, m := range missed {
			h.t.Errorf("intent %d (%s): %s of zone %s never purged by a call received after %s",
				i, in.ID, m.Target, m.ZoneID, published[i].Format(time.RFC3339Nano))
		}
	}
}

// coverage is the oracle for the harness's zones.
func (h *harness) coverage() *testutil.Coverage {
	zs := make([]testutil.Zone, len(h.cfg.Zones))
	for i, z := range h.cfg.Zones {
		zs[i] = testutil.Zone{ID: z.ID, Name: z.Name}
	}
	return testutil.NewCoverage(zs...)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}

// metric returns the value of a counter or gauge of the running worker's
// registry with the given labels, or 0 if it has not been set.
func (h *harness) metric(name string, labels map[string]string) float64 {
	h.t.Helper()
	h.mu.Lock()
	reg := h.reg
	h.mu.Unlock()
	return metricValue(h.t, reg, name, labels)
}

// metricValue returns the value of the counter or gauge name whose labels
// include labels, or 0 if it has not been set.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}
