package lease

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

func bucket(t *testing.T, url string, ttl time.Duration) (*nats.Conn, jetstream.KeyValue) {
	t.Helper()
	nc, js := testutil.ConnectJS(t, url)
	kv, err := js.CreateOrUpdateKeyValue(context.Background(), BucketConfig(ttl, 1))
	if err != nil {
		t.Fatal(err)
	}
	return nc, kv
}

func acquire(t *testing.T, l *Lease, within time.Duration) *Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	term, err := l.Acquire(ctx)
	if err != nil {
		t.Fatalf("%s: acquire: %v", l.cfg.Holder, err)
	}
	return term
}

// One holder at a time; a release hands over at once, to a later term.
func TestReleaseHandsOver(t *testing.T) {
	ns := testutil.StartJetStream(t, t.TempDir(), -1)
	_, kv := bucket(t, ns.ClientURL(), 3*time.Second)
	a := New(Config{KV: kv, Name: "purge-worker", Holder: "a", TTL: 3 * time.Second})
	b := New(Config{KV: kv, Name: "purge-worker", Holder: "b", TTL: 3 * time.Second})
	ta := acquire(t, a, 10*time.Second)

	got := make(chan *Term, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tb, err := b.Acquire(ctx)
		if err != nil {
			close(got)
			return
		}
		got <- tb
	}()
	// Several renewals pass and b still waits.
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-got:
			t.Fatal("b acquired a held lease")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ta.Valid(time.Now()) {
		t.Fatal("a's term is not valid while it renews")
	}
	rec, term, ok, err := Current(context.Background(), kv, "purge-worker")
	if err != nil || !ok || rec.Holder != "a" || term != ta.ID() {
		t.Fatalf("current = %+v term %d ok %v err %v; want a, term %d", rec, term, ok, err, ta.ID())
	}
	if err := ta.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ta.Valid(time.Now()) {
		t.Error("a's term is valid after release")
	}
	select {
	case tb := <-got:
		if tb == nil {
			t.Fatal("b's campaign failed")
		}
		if tb.ID() <= ta.ID() {
			t.Errorf("b's term %d is not after a's %d", tb.ID(), ta.ID())
		}
		_ = tb.Release(context.Background())
	case <-time.After(30 * time.Second):
		t.Fatal("b did not take over after the release")
	}
}

// A holder that can no longer reach NATS gives its term up before the key
// expires, and a standby takes over once it has.
func TestUnreachableHolderStepsDownBeforeExpiry(t *testing.T) {
	ns := testutil.StartJetStream(t, t.TempDir(), -1)
	const ttl = 2 * time.Second
	ncA, kvA := bucket(t, ns.ClientURL(), ttl)
	_, kvB := bucket(t, ns.ClientURL(), ttl)
	a := New(Config{KV: kvA, Name: "c", Holder: "a", TTL: ttl})
	b := New(Config{KV: kvB, Name: "c", Holder: "b", TTL: ttl})
	ta := acquire(t, a, 10*time.Second)
	ncA.Close() // a crashes as far as NATS can tell
	tb := acquire(t, b, 30*time.Second)
	defer tb.Release(context.Background())
	// b can only win once the key expired, and a must have given its
	// term up before that.
	select {
	case <-ta.Lost():
	default:
		t.Fatal("b holds the lease while a still believes it does")
	}
	if tb.ID() <= ta.ID() {
		t.Errorf("b's term %d is not after a's %d", tb.ID(), ta.ID())
	}
}

// A holder whose key was overwritten learns it at its next renewal.
func TestOvertakenHolderLosesItsTerm(t *testing.T) {
	ns := testutil.StartJetStream(t, t.TempDir(), -1)
	_, kv := bucket(t, ns.ClientURL(), 3*time.Second)
	a := New(Config{KV: kv, Name: "c", Holder: "a", TTL: 3 * time.Second})
	ta := acquire(t, a, 10*time.Second)
	if _, err := kv.Put(context.Background(), "c", []byte(`{"holder":"intruder","term":999}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ta.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("a kept a term it no longer holds")
	}
	if err := ta.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, _, ok, _ := Current(context.Background(), kv, "c")
	if !ok || rec.Holder != "intruder" {
		t.Errorf("release deleted someone else's lease: %+v %v", rec, ok)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{"purge-worker": "purge-worker", "a b": "b64_YSBi", "acct#1": "b64_YWNjdCMx"} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}
