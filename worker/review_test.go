package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// Tests written during the review of package worker. Each one demonstrates
// a bug and fails until it is fixed; see the review report for the cause
// and the proposed fix.

// fakeJSMsg is a fakeMsg that also implements jetstream.Msg, so that tests
// can drive Worker.receive (validation, metrics, wake-up policy) directly.
type fakeJSMsg struct {
	*fakeMsg
	seq     uint64
	pending uint64 // NumPending reported in the metadata
}

func (m *fakeJSMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{
		Sequence:     jetstream.SequencePair{Stream: m.seq, Consumer: m.seq},
		NumDelivered: 1,
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

// Semantics 3: a zone's items wait at most batch.window. wakeAfterIntake
// skips the wake-up while the stream reports more pending messages and the
// last wake-up is less than a window old, trusting the senders' own timers
// to enforce windows. But a sender only arms its timer when it looks; if it
// last looked when nothing was pending (here: right after a full chunk went
// and was acked), a key added without a wake-up was never looked at again
// until some later message happened to wake it. Here the trailing message
// says one more is pending, and that one never comes (with several
// replicas, or a full max_ack_pending, "more pending" messages simply never
// reach this worker). Its URL must still be purged within its window.
func TestReviewTrailingIntentIsStrandedWithoutWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		ctx := context.Background()
		start := time.Now()

		// A full chunk arrives alone: the wake-up sends it at once.
		full := jsMsg(t, urls("example.com", numbered("/full/", 100)...), "", 1, 0)
		u.w.receive(ctx, full)
		synctest.Wait()
		if acks, _, _ := full.settled(); acks != 1 {
			t.Fatalf("full intent not acked at once (acks=%d)", acks)
		}
		// 10ms later: one more intent, and the stream says one more
		// message is pending for us.
		time.Sleep(10 * time.Millisecond)
		trailing := jsMsg(t, urls("example.com", "/trailing"), "", 2, 1)
		u.w.receive(ctx, trailing)

		time.Sleep(time.Until(start.Add(time.Second + 10*time.Millisecond)))
		synctest.Wait()
		if acks, _, _ := trailing.settled(); acks != 1 {
			t.Errorf("trailing intent not acked at its window (window 1s); calls = %d",
				len(u.p.snapshot()))
		}
	})
}

// Semantics 4: "429: wait as told". A bisection step checks the account's
// pause only before it blocks on the rate limiter (account.waitTurn). When
// another call gets a 429 while the bisection waits for a flex token, the
// bisection's call goes out as soon as the token arrives, in the middle of
// the pause Cloudflare asked for.
func TestReviewBisectionHonoursA429ThatArrivesWhileItWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := planLimits(t, "free") // flex: one token every ~12s
		l.FlexBurst = 1
		u := newUnit(t, l, 100*time.Millisecond)
		defer u.stop()

		const retryAfter = 60 * time.Second
		var mu sync.Mutex
		var limitedAt time.Time
		filesCalls := 0
		u.p.respond = func(_ int, req cfclient.Request) error {
			if len(req.Files) > 0 {
				mu.Lock()
				filesCalls++
				first := filesCalls == 1
				mu.Unlock()
				if !first {
					return nil
				}
				time.Sleep(time.Second) // Cloudflare answers after 1s
				mu.Lock()
				limitedAt = time.Now()
				mu.Unlock()
				return &cfclient.Error{Kind: cfclient.KindRateLimited, Status: 429, RetryAfter: retryAfter}
			}
			for _, tag := range req.Tags {
				if tag == "bad" {
					return &cfclient.Error{Kind: cfclient.KindClient, Status: 400,
						Codes: []cfclient.Code{{Code: 1015, Message: "bad tag"}}}
				}
			}
			return nil
		}
		u.addQuiet(&intent.Intent{Zone: "example.com", Tags: []string{"good", "bad"}})
		u.addQuiet(urls("example.com", "/a"))
		u.w.wakeAll()

		time.Sleep(3 * time.Minute)
		synctest.Wait()

		mu.Lock()
		at := limitedAt
		mu.Unlock()
		if at.IsZero() {
			t.Fatal("the files call was never rate-limited: the test proves nothing")
		}
		until := at.Add(retryAfter)
		for _, c := range u.p.snapshot() {
			if c.at.After(at) && c.at.Before(until) {
				t.Errorf("call (%s) issued %s after a 429 that asked to wait %s",
					c.req.Type(), c.at.Sub(at), retryAfter)
			}
		}
	})
}

// Semantics 2 and 4: on a "too many" 400, halve the chunk for that zone and
// type. The sender runs up to MaxInFlight calls at once, so several full
// chunks are refused together, and each refusal halves the *current*
// maximum again (execute -> batcher.Shrink): eight refused chunks of 100
// take the maximum to 1 instead of 50, and 800 URLs that need 32 calls of 25
// cost 800 calls.
func TestReviewConcurrentTooManyKeysShrinkOnlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		const accountMax = 30 // what this account really accepts
		all8 := make(chan struct{})
		u.p.respond = func(n int, req cfclient.Request) error {
			if n < 8 {
				// Hold the first eight calls until all are in flight,
				// so the outcome does not depend on scheduling.
				if n == 7 {
					close(all8)
				}
				<-all8
			}
			if len(req.Files) > accountMax {
				return &cfclient.Error{Kind: cfclient.KindTooManyKeys, Status: 400,
					Codes: []cfclient.Code{{Code: 1094, Message: "too many files"}}}
			}
			return nil
		}
		var msgs []*fakeMsg
		for i := range 8 {
			var paths []string
			for j := range 100 {
				paths = append(paths, fmt.Sprintf("/s/%d/%d", i, j))
			}
			msgs = append(msgs, u.addQuiet(urls("example.com", paths...)))
		}
		u.w.wakeAll()
		time.Sleep(time.Minute)
		synctest.Wait()

		for i, m := range msgs {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Fatalf("intent %d not acked", i)
			}
		}
		ok := 0
		for _, c := range u.p.snapshot() {
			if len(c.req.Files) <= accountMax {
				ok++
			}
		}
		// Halving once per refused size gives chunks of 25: 32 calls, a
		// few more if a partial chunk goes while others are requeued.
		if ok > 64 {
			t.Errorf("%d accepted calls for 800 URLs, want about 32 (chunks of 25): "+
				"concurrent refusals shrank the chunk size far below half", ok)
		}
	})
}

// Metrics: items_total counts "keys in accepted intents". A redelivery of a
// message the worker still holds is counted as result="redelivered", not
// accepted, yet receive counts its items a second time.
func TestReviewRedeliveryDoesNotCountItemsTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		reg := prometheus.NewRegistry()
		reg.MustRegister(u.w.metrics.items, u.w.metrics.intents)
		ctx := context.Background()
		in := urls("example.com", "/a", "/b")
		u.w.receive(ctx, jsMsg(t, in, "", 7, 0))
		u.w.receive(ctx, jsMsg(t, in, "", 7, 0)) // redelivered while held
		if got := gathered(t, reg, "purge_worker_intents_total", "result", "redelivered"); got != 1 {
			t.Fatalf("redelivered = %v, want 1", got)
		}
		if got := gathered(t, reg, "purge_worker_items_total", "type", "files"); got != 2 {
			t.Errorf("items_total{type=files} = %v, want 2 (one intent with two URLs)", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
	})
}

// gathered returns the value of the counter name{label=value} in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Semantics 4 and /readyz: a call issued before Cloudflare refused the
// account's token, whose success arrives after the refusal, clears the
// auth report (account.succeeded) although the account stays paused and
// its messages were nak'ed: /readyz and purge_worker_account_auth_failed
// say all is well while the token is refused.
func TestReviewStaleSuccessDoesNotClearAuthFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		release := make(chan struct{})
		u.p.respond = func(_ int, req cfclient.Request) error {
			if len(req.Files) > 0 {
				<-release // issued before the refusal, answered after it
				return nil
			}
			return &cfclient.Error{Kind: cfclient.KindAuth, Status: 403,
				Codes: []cfclient.Code{{Code: 10000, Message: "Authentication error"}}}
		}
		u.addQuiet(urls("example.com", "/a"))
		u.addQuiet(&intent.Intent{Zone: "example.com", Tags: []string{"t"}})
		u.w.wakeAll()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if err := u.w.Ready(); err == nil {
			t.Fatal("Ready() = nil right after a 403: the test proves nothing")
		}
		close(release)
		synctest.Wait()
		if d := u.w.accounts[0].pausedFor(time.Now()); d <= 0 {
			t.Fatal("account not paused: the test proves nothing")
		}
		if err := u.w.Ready(); err == nil || !strings.Contains(err.Error(), "acct") {
			t.Errorf("Ready() = %v while the account is paused for a refused token; "+
				"a success of a call issued before the refusal cleared it", err)
		}
	})
}

// worker.Config is a public API ("tests build it directly"), and New hands
// the zones to intent.NewZones, which accepts an id in upper or mixed case
// and stores it lowercased, so every Part carries the lowercased id. New
// itself keys account.zones and byZone by the id as given. With an
// upper-case id no sender's hasZone ever matches the parts' zone: the keys
// are never handed out and the message is held, kept alive and never
// settled, while Ready reports nothing wrong. (config.Load lowercases ids,
// so the daemon is not affected today; any other caller is.)
func TestReviewUpperCaseZoneIDIsServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePurger{}
		w, err := New(nil, Config{
			Stream: "PURGE", Consumer: "c", DLQStream: "PURGE_DLQ",
			AckWait: 30 * time.Second, MaxAckPending: 1000, MaxDeliver: -1,
			Window:   100 * time.Millisecond,
			Accounts: []Account{{Name: "acct", Limits: planLimits(t, "pro"), Purger: p}},
			Zones:    []Zone{{ID: "023E105F4ECEF8AD9CA31A8372D0C353", Name: "example.com", Account: "acct"}},
		})
		if err != nil {
			t.Fatalf("New refused an upper-case zone id: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.runSender(ctx, w.accounts[0]) }()
		defer func() { cancel(); <-done; w.calls.Wait() }()

		parts, err := urls("example.com", "/a").Bind(w.zones)
		if err != nil {
			t.Fatal(err)
		}
		m := &fakeMsg{subject: "purge.test"}
		w.add(m, 1, time.Now(), parts)
		w.wakeAll()
		time.Sleep(time.Minute)
		synctest.Wait()
		if acks, _, _ := m.settled(); acks != 1 {
			t.Errorf("intent for a zone configured with an upper-case id: %d calls, acks=%d, held=%d; want it purged and acked",
				len(p.snapshot()), acks, w.heldCount())
		}
	})
}

// blockingDLQ is a dead-letter stream that does not answer (NATS down, or a
// stream without quorum): a publish returns only when its context ends.
type blockingDLQ struct{}

func (blockingDLQ) PublishMsg(ctx context.Context, _ *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Semantics 6 and Run's doc: shutdown completes within ShutdownTimeout. A
// call that ends in a dead letter during the flush publishes the copy with
// context.WithoutCancel(ctx) and its own 10s timeout (deadLetter), so
// cancelling the senders at the deadline does not stop it, and Run waits
// for it in w.calls.Wait: 10s past the deadline per refused message, one
// after the other.
func TestReviewShutdownDeadlineBoundsDeadLetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		u.w.cfg.ShutdownTimeout = time.Second
		u.w.dlq = blockingDLQ{}
		shuttingDown := make(chan struct{})
		u.p.respond = func(_ int, req cfclient.Request) error {
			<-shuttingDown
			time.Sleep(500 * time.Millisecond)
			return &cfclient.Error{Kind: cfclient.KindClient, Status: 400,
				Codes: []cfclient.Code{{Code: 1015, Message: "Unable to purge"}}}
		}
		// Three intents for the same refused URL: one call, three dead letters.
		var msgs []*fakeMsg
		for range 3 {
			msgs = append(msgs, u.addQuiet(urls("example.com", "/bad")))
		}
		u.w.wakeAll()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait() // the call is in flight

		// What Run does once intake has stopped.
		start := time.Now()
		close(shuttingDown)
		u.w.shutdown(u.cancel, nil)
		<-u.done
		u.w.calls.Wait()
		u.w.releaseAll()
		if took := time.Since(start); took > u.w.cfg.ShutdownTimeout+100*time.Millisecond {
			t.Errorf("shutdown took %s, want at most the shutdown timeout %s", took, u.w.cfg.ShutdownTimeout)
		}
		for i, m := range msgs {
			if acks, naks, terms := m.settled(); acks+naks+terms != 1 {
				t.Errorf("message %d settled acks=%d naks=%d terms=%d, want exactly once", i, acks, naks, terms)
			}
		}
	})
}
