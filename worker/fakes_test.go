package worker

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// fakeMsg records how the worker settled it.
type fakeMsg struct {
	mu       sync.Mutex
	data     []byte
	subject  string
	acks     int
	naks     int
	terms    int
	wip      int
	nakDelay time.Duration
	reason   string
}

func (m *fakeMsg) Data() []byte         { return m.data }
func (m *fakeMsg) Headers() nats.Header { return nats.Header{} }
func (m *fakeMsg) Subject() string      { return m.subject }
func (m *fakeMsg) Ack() error           { m.mu.Lock(); m.acks++; m.mu.Unlock(); return nil }
func (m *fakeMsg) Nak() error           { m.mu.Lock(); m.naks++; m.mu.Unlock(); return nil }
func (m *fakeMsg) InProgress() error    { m.mu.Lock(); m.wip++; m.mu.Unlock(); return nil }
func (m *fakeMsg) NakWithDelay(d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.naks++
	m.nakDelay = d
	return nil
}
func (m *fakeMsg) TermWithReason(r string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.terms++
	m.reason = r
	return nil
}

// settled returns (acks, naks, terms).
func (m *fakeMsg) settled() (int, int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acks, m.naks, m.terms
}

type fakeCall struct {
	at   time.Time
	zone string
	mode cfclient.Mode
	req  cfclient.Request
}

// fakePurger records calls and answers with respond (nil: success).
type fakePurger struct {
	mu      sync.Mutex
	calls   []fakeCall
	respond func(n int, req cfclient.Request) error
}

func (p *fakePurger) Purge(ctx context.Context, zone string, mode cfclient.Mode, req cfclient.Request) (cfclient.Response, error) {
	p.mu.Lock()
	n := len(p.calls)
	p.calls = append(p.calls, fakeCall{at: time.Now(), zone: zone, mode: mode, req: req})
	respond := p.respond
	p.mu.Unlock()
	if respond != nil {
		if err := respond(n, req); err != nil {
			return cfclient.Response{}, err
		}
	}
	return cfclient.Response{ID: "ok"}, nil
}

func (p *fakePurger) snapshot() []fakeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// fakeDLQ records dead-lettered copies.
type fakeDLQ struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (d *fakeDLQ) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, m)
	return &jetstream.PubAck{Stream: "PURGE_DLQ", Sequence: uint64(len(d.msgs))}, nil
}

// unit is a Worker without NATS: its sender loop runs against a fakePurger,
// and messages are added directly, so that windows, pauses and backoff can
// be tested in a synctest bubble.
type unit struct {
	t      *testing.T
	w      *Worker
	p      *fakePurger // nil for newUnitWith
	dlq    *fakeDLQ
	cancel context.CancelFunc
	done   chan struct{}
	seq    uint64
}

func newUnit(t *testing.T, limits cfclient.Limits, window time.Duration) *unit {
	t.Helper()
	p := &fakePurger{}
	u := newUnitWith(t, limits, window, p)
	u.p = p
	return u
}

// newUnitWith is newUnit with the account's calls going to purger.
func newUnitWith(t *testing.T, limits cfclient.Limits, window time.Duration, p Purger) *unit {
	t.Helper()
	w, err := New(nil, Config{
		Stream: "PURGE", Consumer: "c", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 1000, MaxDeliver: -1,
		Window: window, AuthRetry: 30 * time.Second,
		Accounts: []Account{{Name: "acct", Limits: limits, Purger: p}},
		Zones:    testZones,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{t: t, w: w, dlq: &fakeDLQ{}, done: make(chan struct{})}
	w.dlq = u.dlq
	w.consumer.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go func() {
		defer close(u.done)
		w.runSender(ctx, w.accounts[0])
	}()
	return u
}

// stop ends the sender and waits for every call it started.
func (u *unit) stop() {
	u.cancel()
	<-u.done
	u.w.calls.Wait()
}

// add hands an intent to the worker as if intake had received it now.
func (u *unit) add(in *intent.Intent) *fakeMsg {
	u.t.Helper()
	parts, err := in.Bind(u.w.zones)
	if err != nil {
		u.t.Fatal(err)
	}
	u.seq++
	m := &fakeMsg{subject: "purge.test"}
	u.w.add(m, u.seq, time.Now(), parts)
	u.w.wakeAll()
	return m
}

func urls(zone string, paths ...string) *intent.Intent {
	in := &intent.Intent{Zone: zone}
	for _, p := range paths {
		in.Files = append(in.Files, intent.File{URL: "https://www." + zone + p})
	}
	return in
}

func planLimits(t *testing.T, plan string) cfclient.Limits {
	l, ok := cfclient.PlanLimits(plan)
	if !ok {
		t.Fatal(plan)
	}
	return l
}

// numbered returns n paths: prefix followed by 0 to n-1.
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}
