package worker

import (
	"context"
	"encoding/json"
	"errors"
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
	header   nats.Header
	subject  string
	acks     int
	naks     int
	terms    int
	wip      int
	nakDelay time.Duration
	reason   string
}

func (m *fakeMsg) Data() []byte         { return m.data }
func (m *fakeMsg) Headers() nats.Header { return m.header }
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

// blockingDLQ is a dead-letter stream that does not answer (NATS down, or a
// stream without quorum): a publish returns only when its context ends.
type blockingDLQ struct{}

func (blockingDLQ) PublishMsg(ctx context.Context, _ *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// slowDLQ stores a copy after delay, unless the publish's context ends
// first.
type slowDLQ struct {
	delay time.Duration
	fakeDLQ
}

func (d *slowDLQ) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	t := time.NewTimer(d.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	return d.fakeDLQ.PublishMsg(ctx, m, opts...)
}

// failingDLQ refuses every copy, as a dead-letter stream that is full
// (DiscardNew) or gone does.
type failingDLQ struct{}

func (failingDLQ) PublishMsg(context.Context, *nats.Msg, ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return nil, errors.New("nats: maximum messages exceeded")
}

// gatedDLQ stores nothing until its gate is closed (or the publish's
// context ends).
type gatedDLQ struct {
	gate chan struct{}
	fakeDLQ
}

func (d *gatedDLQ) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-d.gate:
	}
	return d.fakeDLQ.PublishMsg(ctx, m, opts...)
}

// unit is a Worker without NATS: its sender, keep-alive and dead-letter
// loops run against a fakePurger and a fakeDLQ, and messages are added
// directly, so that windows, pauses and backoff can be tested in a synctest
// bubble.
type unit struct {
	t       *testing.T
	w       *Worker
	p       *fakePurger // nil for newUnitWith
	dlq     *fakeDLQ
	bg      *background
	stopped bool
	seq     uint64
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
		Window: window, AuthRetry: 30 * time.Second, RememberKeys: 1000,
		Accounts: []Account{{Name: "acct", Limits: limits, Purger: p}},
		Zones:    testZones,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{t: t, w: w, dlq: &fakeDLQ{}}
	w.dlq = u.dlq
	w.consumer.Store(true)
	w.setRole(RoleActive)
	u.bg = w.startBackground(context.Background())
	return u
}

// stop ends the loops without a flush: it cancels the senders, waits for
// every call they started, then for the dead letters those queued.
func (u *unit) stop() {
	if u.stopped {
		return
	}
	u.stopped = true
	u.bg.stopSenders()
	u.bg.senders.Wait()
	u.w.calls.Wait()
	u.w.closeDeadLetters()
	u.bg.dead.Wait()
	u.bg.stopDead()
}

// shutdown is what Run does once intake has stopped.
func (u *unit) shutdown() {
	u.stopped = true
	u.w.stopBackground(u.bg, nil)
}

// add hands an intent to the worker as if intake had received it now, and
// wakes the sender.
func (u *unit) add(in *intent.Intent) *fakeMsg {
	u.t.Helper()
	m := u.addQuiet(in)
	u.w.wakeAll()
	return m
}

// addQuiet hands an intent to the batcher without waking the sender.
func (u *unit) addQuiet(in *intent.Intent) *fakeMsg {
	u.t.Helper()
	parts, err := in.Bind(u.w.zones)
	if err != nil {
		u.t.Fatal(err)
	}
	u.seq++
	m := &fakeMsg{subject: "purge.test"}
	u.w.add(m, u.seq, time.Now(), parts)
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

// fakeJSMsg is a fakeMsg that also implements jetstream.Msg, so that tests
// can drive Worker.receive (validation, metrics, wake-up policy) directly.
type fakeJSMsg struct {
	*fakeMsg
	seq       uint64
	pending   uint64 // NumPending reported in the metadata
	delivered uint64 // NumDelivered reported in the metadata; 0 means 1
}

func (m *fakeJSMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{
		Sequence:     jetstream.SequencePair{Stream: m.seq, Consumer: m.seq},
		NumDelivered: max(m.delivered, 1),
		NumPending:   m.pending,
		Stream:       "PURGE",
		Consumer:     "c",
	}, nil
}
func (m *fakeJSMsg) Reply() string                   { return "" }
func (m *fakeJSMsg) DoubleAck(context.Context) error { return m.Ack() }
func (m *fakeJSMsg) Term() error                     { return m.TermWithReason("") }

// jsMsg builds a JetStream message carrying in (or body, if in is nil)
// with stream sequence seq and pending messages still in the stream.
func jsMsg(t *testing.T, in *intent.Intent, body string, seq, pending uint64) *fakeJSMsg {
	t.Helper()
	data := []byte(body)
	if in != nil {
		var err error
		if data, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeJSMsg{fakeMsg: &fakeMsg{data: data, subject: "purge.test"}, seq: seq, pending: pending}
}
