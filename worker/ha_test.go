package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/lease"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// replicaSet is a 3-node JetStream cluster (R3 streams, consumer and KV
// buckets), a cftest fake of Cloudflare, and any number of worker replicas,
// each with its own NATS connection, as separate processes would have.
type replicaSet struct {
	*harness
	cl *testutil.Cluster

	mu    sync.Mutex
	calls []termCall
}

// termCall is a call a replica issued, and the lease term it held then.
type termCall struct {
	replica string
	term    uint64
}

type replica struct {
	name   string
	w      *Worker
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
	dead   atomic.Bool
}

func newReplicaSet(t testing.TB, opts ...harnessOpt) *replicaSet {
	t.Helper()
	cl := testutil.StartCluster(t, 3)
	h := &harness{t: t}
	h.nc, h.js = testutil.ConnectJS(t, cl.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	// Replicated streams, created before the worker's Ensure, which uses
	// them as they are; the consumer and the buckets inherit R3.
	for _, sc := range []jetstream.StreamConfig{StreamConfig("PURGE"), DLQStreamConfig("PURGE_DLQ")} {
		sc.Replicas = 3
		testutil.Eventually(h.t, 30*time.Second, "R3 stream "+sc.Name, func() bool {
			_, err := h.js.CreateOrUpdateStream(context.Background(), sc)
			return err == nil
		})
	}
	h.setUp(opts...)
	// The buckets too: right after start-up a node may not be known to
	// the others yet, and placement of an R3 bucket fails meanwhile.
	for _, kc := range []jetstream.KeyValueConfig{lease.BucketConfig(3*time.Second, 3), LimitsBucketConfig(3)} {
		testutil.Eventually(h.t, 30*time.Second, "R3 bucket "+kc.Bucket, func() bool {
			_, err := h.js.CreateOrUpdateKeyValue(context.Background(), kc)
			return err == nil
		})
	}
	h.cfg.LeaseTTL = 3 * time.Second
	h.cfg.ShutdownTimeout = 10 * time.Second
	return &replicaSet{harness: h, cl: cl}
}

// start runs a new replica named name.
func (s *replicaSet) start(name string) *replica {
	s.t.Helper()
	r := &replica{name: name, done: make(chan error, 1)}
	var js jetstream.JetStream
	r.nc, js = testutil.ConnectJS(s.t, s.cl.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	cfg := s.cfg
	cfg.Replica = name
	cfg.Registerer = prometheus.NewRegistry()
	cfg.Accounts = slices.Clone(cfg.Accounts)
	cfg.Accounts[0].Purger = &termPurger{set: s, r: r, next: cfg.Accounts[0].Purger}
	w, err := New(js, cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	r.w = w
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- w.Run(ctx) }()
	s.t.Cleanup(func() {
		if err := r.stop(); err != nil {
			s.t.Error(err)
		}
	})
	return r
}

// stop shuts the replica down cleanly and waits for Run to return.
func (r *replica) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the next stop
		if err != nil && !r.dead.Load() {
			return fmt.Errorf("replica %s: %w", r.name, err)
		}
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("replica %s did not stop within 60s", r.name)
	}
}

// kill makes the replica vanish as a SIGKILLed process does: it issues no
// call from now on and its NATS connection is gone, with nothing released.
func (r *replica) kill() error {
	r.dead.Store(true)
	r.nc.Close()
	return r.stop() // its Run winds down without reaching anything
}

// termPurger records the lease term under which each call was issued.
type termPurger struct {
	set  *replicaSet
	r    *replica
	next Purger
}

func (p *termPurger) Purge(ctx context.Context, zone string, mode cfclient.Mode, req cfclient.Request) (cfclient.Response, error) {
	if p.r.dead.Load() {
		return cfclient.Response{}, errors.New("the process is dead")
	}
	var term uint64
	if l := p.r.w.accounts[0].ledger.Load(); l != nil {
		term = l.fence.term.ID()
	}
	p.set.mu.Lock()
	p.set.calls = append(p.set.calls, termCall{p.r.name, term})
	p.set.mu.Unlock()
	return p.next.Purge(ctx, zone, mode, req)
}

// callsBy returns how many calls each replica issued, and fails the test if
// two replicas ever called under the same lease term.
func (s *replicaSet) callsBy() map[string]int {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	by := map[string]int{}
	owner := map[uint64]string{}
	for _, c := range s.calls {
		by[c.replica]++
		if c.term == 0 {
			continue // the term ended while the call was being issued
		}
		if o, ok := owner[c.term]; ok && o != c.replica {
			s.t.Errorf("replicas %s and %s both called in lease term %d", o, c.replica, c.term)
		}
		owner[c.term] = c.replica
	}
	return by
}

func (s *replicaSet) waitRole(r *replica, role Role) {
	s.t.Helper()
	testutil.Eventually(s.t, 60*time.Second, r.name+" "+string(role), func() bool { return r.w.Role() == role })
}

// checkOutcome asserts what every scenario promises: nothing lost (every key
// purged by a call issued after its intent was published, every message
// acked, nothing dead-lettered) and Cloudflare never refused a call for rate.
func (s *replicaSet) checkOutcome(intents []*intent.Intent, published []time.Time) {
	s.t.Helper()
	s.waitDrained(120 * time.Second)
	s.coveredAfter(intents, published)
	if n := s.refusedForRate(); n != 0 {
		s.t.Errorf("Cloudflare refused %d calls for rate, want 0", n)
		s.dumpCalls()
	}
	if n := len(s.dlq()); n != 0 {
		s.t.Errorf("%d dead-lettered, want 0", n)
	}
}

// slowFlex are limits under which a burst of tags takes seconds: every
// call carries at most 5 tags and the flex bucket holds 4 calls and refills
// 4 a second, so there is always a moment to fail over "mid-burst".
func slowFlex(t *testing.T) cfclient.Limits {
	l := planLimits(t, "pro")
	l.MaxKeysPerRequest = 5
	l.FlexPerSecond = 4
	l.FlexBurst = 4
	return l
}

// publishTags publishes n intents of one new tag each and returns them
// with their publication times.
func (s *replicaSet) publishTags(prefix string, n int) ([]*intent.Intent, []time.Time) {
	var ins []*intent.Intent
	var at []time.Time
	for i := range n {
		in := &intent.Intent{Zone: testZones[i%len(testZones)].Name, ID: fmt.Sprintf("%s-%d", prefix, i),
			Tags: []string{fmt.Sprintf("%s-%d", prefix, i)}}
		at = append(at, time.Now())
		s.publish(in)
		ins = append(ins, in)
	}
	return ins, at
}

// Two replicas started together on a backlog behave as one: one of them
// makes every call, the calls are the lower bound, and none is refused.
func TestTwoReplicasMakeTheCallsOfOne(t *testing.T) {
	s := newReplicaSet(t, withPlan("pro"))
	s.cfg.Window = 3 * time.Second // a generous window, as in the burst test
	intents := burst(400, 7)
	var published []time.Time
	for _, in := range intents {
		published = append(published, time.Now())
		s.publish(in)
	}
	a, b := s.start("a"), s.start("b")
	s.checkOutcome(intents, published)
	by := s.callsBy()
	if len(by) != 1 {
		t.Errorf("calls by replica = %v, want all from one", by)
	}
	if got, want := len(s.accepted()), lowerBound(t, s.harness, intents); got != want {
		t.Errorf("%d calls, want the lower bound %d", got, want)
	}
	// The burst may be over before the slower replica has even reached
	// NATS: wait for it to settle as the standby.
	testutil.Eventually(s.t, 60*time.Second, "one replica active and one standby", func() bool {
		roles := []Role{a.w.Role(), b.w.Role()}
		return slices.Contains(roles, RoleActive) && slices.Contains(roles, RoleStandby)
	})
}

// The active replica is closed mid-burst, then its successor is killed
// mid-burst: each time the standby finishes, nothing is lost, Cloudflare
// refuses nothing, and no two replicas ever call in the same term.
func TestStandbyTakesOverMidBurst(t *testing.T) {
	s := newReplicaSet(t, withLimits(slowFlex(t)))
	a := s.start("a")
	s.waitRole(a, RoleActive)
	b := s.start("b")
	s.waitRole(b, RoleStandby)

	first, firstAt := s.publishTags("close", 60)
	testutil.Eventually(s.t, 60*time.Second, "the first calls", func() bool { return len(s.accepted()) >= 3 })
	closed := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- a.stop() }()
	more, moreAt := s.publishTags("after-close", 40)
	s.waitRole(b, RoleActive)
	t.Logf("handover after a clean shutdown (flush, then release): %s", time.Since(closed).Round(time.Millisecond))
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	s.checkOutcome(append(first, more...), append(firstAt, moreAt...))

	c := s.start("c")
	s.waitRole(c, RoleStandby)
	before := len(s.accepted())
	second, secondAt := s.publishTags("kill", 60)
	testutil.Eventually(s.t, 60*time.Second, "calls of the second burst", func() bool { return len(s.accepted()) >= before+3 })
	killed := time.Now()
	if err := b.kill(); err != nil {
		t.Fatal(err)
	}
	s.waitRole(c, RoleActive)
	took := time.Since(killed)
	t.Logf("takeover after a kill: %s (lease_ttl %s, window %s)", took.Round(time.Millisecond),
		s.cfg.LeaseTTL, s.cfg.Window)
	// Loosely: a loaded machine may add seconds, never a second lease.
	if bound := 2*s.cfg.LeaseTTL + s.cfg.Window + 10*time.Second; took > bound {
		t.Errorf("takeover took %s, more than %s", took, bound)
	}
	s.checkOutcome(second, secondAt)
	by := s.callsBy()
	if by["a"] == 0 || by["b"] == 0 || by["c"] == 0 {
		t.Errorf("calls by replica = %v, want each replica to have served its term", by)
	}
}

// The node that leads the intent stream is shut down mid-burst, then the
// one that leads the lease bucket, then the one that leads the limits
// bucket (each comes back before the next goes: three nodes keep a quorum
// with one down): nothing is lost, nothing is refused for rate, and no two
// replicas ever call in the same lease term.
func TestNodeLossMidBurstLosesNothing(t *testing.T) {
	s := newReplicaSet(t, withLimits(slowFlex(t)))
	s.start("a")
	s.start("b")
	intents, published := s.publishTags("nodes", 300)
	testutil.Eventually(s.t, 60*time.Second, "the first calls", func() bool { return len(s.accepted()) >= 3 })
	streams := []string{"PURGE", "KV_" + lease.Bucket, "KV_" + LimitsBucket}
	for _, name := range streams {
		var leader *server.Server
		testutil.Eventually(s.t, 60*time.Second, "a leader of "+name, func() bool {
			leader = s.cl.StreamLeader(name)
			return leader != nil
		})
		s.cl.Restart(leader)
		testutil.Eventually(s.t, 60*time.Second, "every node current after restarting the leader of "+name,
			func() bool { return s.cl.Current(streams...) })
	}
	if s.drained() {
		t.Log("the burst was over before the last node came back")
	}
	s.checkOutcome(intents, published)
	t.Logf("calls by replica: %v", s.callsBy())
}

// dumpCalls logs every call Cloudflare received, for a failed test.
func (s *replicaSet) dumpCalls() {
	calls := s.cf.Calls()
	if len(calls) == 0 {
		return
	}
	for _, c := range calls {
		s.t.Logf("%8.3fs %-12s %s x%d", c.At.Sub(calls[0].At).Seconds(), c.Outcome, c.Kind, len(c.Keys))
	}
}
