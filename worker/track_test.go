package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/status"
)

// publishTracked stores in with the Purge-Track header.
func (h *harness) publishTracked(in *intent.Intent) *jetstream.PubAck {
	h.t.Helper()
	ack, err := intent.Publish(context.Background(), h.js, intent.Subject(in), in, intent.Tracked())
	if err != nil {
		h.t.Fatalf("publish: %v", err)
	}
	return ack
}

// record waits until the status record of id is settled and returns it.
func (h *harness) record(id string) status.Record {
	h.t.Helper()
	var rec status.Record
	testutil.Eventually(h.t, 30*time.Second, "settled record of "+id, func() bool {
		kv, err := status.Open(context.Background(), h.js)
		if err != nil {
			return false
		}
		rec, err = status.Get(context.Background(), kv, id)
		return err == nil && rec.Settled()
	})
	return rec
}

func TestTrackedIntentRecordsTheCoveringCalls(t *testing.T) {
	h := newHarness(t, withPlan("enterprise"))
	h.start()
	published := time.Now()
	a := &intent.Intent{Zone: "example.com", ID: "deploy-1",
		Files: []intent.File{{URL: "https://www.example.com/a.css"}, {URL: "https://www.example.com/b.css"}},
		Tags:  []string{"post-1"}}
	// An id that is no valid KV key as it is.
	b := &intent.Intent{Zone: "example.org", ID: "cms.delivery/7+x", Tags: []string{"post-2"}}
	untracked := &intent.Intent{Zone: "example.com", ID: "plain-1", Tags: []string{"post-3"}}
	ackA := h.publishTracked(a)
	ackB := h.publishTracked(b)
	h.publish(untracked)

	ra := h.record(a.ID)
	if ra.State != status.Purged || ra.Seq != ackA.Sequence || ra.Subject != "purge.example_com" {
		t.Fatalf("record of a = %+v", ra)
	}
	types := map[string]bool{}
	for _, c := range ra.Calls {
		types[c.Type] = true
		if c.ZoneID != testZones[0].ID || c.Mode != "purge" || c.CloudflareID == "" || c.Issued.Before(published.Add(-time.Second)) {
			t.Errorf("call of a = %+v", c)
		}
	}
	if !types["files"] || !types["tags"] || len(ra.Calls) != 2 {
		t.Errorf("calls of a = %+v, want one files and one tags call", ra.Calls)
	}
	// Every call it lists is one Cloudflare accepted.
	if got := len(h.accepted()); got < len(ra.Calls) {
		t.Errorf("cloudflare accepted %d calls, the record lists %d", got, len(ra.Calls))
	}
	rb := h.record(b.ID)
	if rb.State != status.Purged || rb.Seq != ackB.Sequence || len(rb.Calls) != 1 || rb.Calls[0].ZoneID != testZones[1].ID {
		t.Fatalf("record of b = %+v", rb)
	}
	h.waitDrained(30 * time.Second)
	kv := must(status.Open(context.Background(), h.js))
	if _, err := status.Get(context.Background(), kv, untracked.ID); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("untracked intent has a record: err %v", err)
	}
	if st := must(kv.Status(context.Background())); st.TTL() != 24*time.Hour {
		t.Errorf("bucket TTL %s, want the 24h default", st.TTL())
	}
}

// A tracked intent stored before a call that covers it, and received only
// after that call (a backlog beyond max_ack_pending), is acked on arrival
// without a call of its own: its record still says purged.
func TestTrackedIntentSettledByAnEarlierCallIsRecordedPurged(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.MaxAckPending = 2
	const n = 8
	var ids []string
	for i := range n {
		in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("backlog-%d", i),
			Files: []intent.File{{URL: "https://www.example.com/same"}}}
		h.publishTracked(in)
		ids = append(ids, in.ID)
	}
	h.start()
	h.waitDrained(30 * time.Second)
	if got := len(h.accepted()); got != 1 {
		t.Fatalf("%d calls, want 1: the first call covers the whole backlog", got)
	}
	for _, id := range ids {
		if r := h.record(id); r.State != status.Purged {
			t.Errorf("record of %s = %+v, want purged", id, r)
		}
	}
	if got := h.metric("purge_worker_coalesced_total", map[string]string{"reason": "earlier_call"}); got == 0 {
		t.Error("no intent was settled by the earlier call: the test did not reach the case it is for")
	}
}

func TestTrackedIntentDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start()
	// Refused on arrival: unknown zone.
	bad := &nats.Msg{Subject: "purge.x", Data: []byte(`{"zone":"nope.example","tags":["t"]}`), Header: nats.Header{}}
	bad.Header.Set(nats.MsgIdHdr, "bad-1")
	bad.Header.Set(intent.HeaderTrack, "true")
	if _, err := h.js.PublishMsg(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	// Refused by Cloudflare.
	h.cf.RejectKeys("https://www.example.com/refused")
	h.publishTracked(&intent.Intent{Zone: "example.com", ID: "refused-1",
		Files: []intent.File{{URL: "https://www.example.com/refused"}}})

	r := h.record("bad-1")
	if r.State != status.DeadLettered || !strings.Contains(r.Reason, "nope.example") {
		t.Errorf("record of the invalid intent = %+v", r)
	}
	r = h.record("refused-1")
	if r.State != status.DeadLettered || !strings.Contains(r.Reason, "https://www.example.com/refused") || len(r.Calls) != 0 {
		t.Errorf("record of the refused intent = %+v", r)
	}
}

// failingKV refuses the first fails writes, then stores.
type failingKV struct {
	mu    sync.Mutex
	fails int
	tries int
	puts  map[string][]byte
}

func (f *failingKV) PublishMsgAsync(m *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	fut := &doneFuture{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1), msg: m}
	if f.fails > 0 {
		f.fails--
		fut.err <- errors.New("kv unavailable")
		return fut, nil
	}
	f.puts[strings.TrimPrefix(m.Subject, kvSubject)] = m.Data
	fut.ok <- &jetstream.PubAck{Stream: "KV_" + status.Bucket}
	return fut, nil
}

// doneFuture is a publish already answered.
type doneFuture struct {
	ok  chan *jetstream.PubAck
	err chan error
	msg *nats.Msg
}

func (f *doneFuture) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f *doneFuture) Err() <-chan error            { return f.err }
func (f *doneFuture) Msg() *nats.Msg               { return f.msg }

func (f *failingKV) stored(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.puts[key])
}

func (f *failingKV) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

func TestStatusWritesWaitRetryAndKeepOnlyTheLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kv := &failingKV{fails: 3, puts: map[string][]byte{}}
		m := newMetrics(nil)
		wr := newWriter(nil, time.Hour, testLogger(t), m)
		wr.open = func(context.Context) (asyncPublisher, error) { return kv, nil }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			wr.run(ctx, nil, func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			})
		}()

		// A pending record waits, in case the intent is settled soon.
		wr.put(status.Record{ID: "x", State: status.Pending, Updated: time.Now()})
		time.Sleep(pendingDelay - time.Millisecond)
		synctest.Wait()
		if n := kv.attempts(); n != 0 {
			t.Fatalf("%d writes before the pending record was due", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := kv.attempts(); n != 1 {
			t.Fatalf("%d writes once the pending record was due, want 1 (failed)", n)
		}
		// The write failed; before the retry the intent is purged: the
		// retries write the purged record.
		wr.put(status.Record{ID: "x", State: status.Purged, Updated: time.Now()})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := kv.stored("x"); !strings.Contains(got, `"state":"purged"`) {
			t.Errorf("stored %q, want the purged record", got)
		}
		var failed dto.Metric
		_ = m.statusWrites.WithLabelValues("failed").Write(&failed)
		if f := failed.GetCounter().GetValue(); f != 3 {
			t.Errorf("failed writes counted %v, want 3", f)
		}

		// An intent settled before its pending record was due: one write.
		before := kv.attempts()
		wr.put(status.Record{ID: "y", State: status.Pending, Updated: time.Now()})
		time.Sleep(time.Second)
		wr.put(status.Record{ID: "y", State: status.DeadLettered, Updated: time.Now()})
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := kv.attempts() - before; n != 1 || !strings.Contains(kv.stored("y"), "dead_lettered") {
			t.Errorf("%d writes for y (%s), want one, the final record", n, kv.stored("y"))
		}

		// At shutdown, a pending record not yet due is written too.
		wr.put(status.Record{ID: "z", State: status.Pending, Updated: time.Now()})
		cancel()
		<-done
		if !strings.Contains(kv.stored("z"), "pending") {
			t.Errorf("pending record not written at shutdown: %q", kv.stored("z"))
		}
	})
}

func TestPurgesGoOnWhileStatusWritesFail(t *testing.T) {
	h := newHarness(t)
	// A stream in the bucket's place that it cannot be turned into: every
	// attempt to open the bucket fails.
	if _, err := h.js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "KV_" + status.Bucket, Subjects: []string{"$KV." + status.Bucket + ".>"},
		Retention: jetstream.WorkQueuePolicy,
	}); err != nil {
		t.Fatal(err)
	}
	h.start()
	for i := range 20 {
		h.publishTracked(&intent.Intent{Zone: "example.com", ID: "t-" + string(rune('a'+i)),
			Files: []intent.File{{URL: "https://www.example.com/p" + string(rune('a'+i))}}})
	}
	h.waitDrained(30 * time.Second)
	testutil.Eventually(h.t, 30*time.Second, "failed status writes counted", func() bool {
		return h.metric("purge_worker_status_writes_total", map[string]string{"result": "failed"}) > 0
	})
}

// The status bucket exists by the time the worker is ready (even as a
// standby), with the configured TTL: a publisher that waits for records
// may publish the moment /readyz says 200.
func TestStatusBucketCreatedAtStartWithTheConfiguredTTL(t *testing.T) {
	h := newHarness(t)
	h.cfg.StatusTTL = 90 * time.Minute
	w := h.start()
	testutil.Eventually(h.t, 30*time.Second, "worker ready", func() bool { return w.Role() != RoleStarting && w.Ready() == nil })
	kv, err := status.Open(context.Background(), h.js)
	if err != nil {
		t.Fatalf("status bucket once the worker is ready: %v", err)
	}
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 90*time.Minute {
		t.Errorf("bucket TTL %s, want 1h30m", st.TTL())
	}
}
