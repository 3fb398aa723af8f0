package worker

import (
	"context"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/lease"
)

// BenchmarkHandover measures, on a 3-node cluster with the default lease
// TTL, how long a standby takes to become active after the active replica
// is killed (kill-s) and after it shuts down cleanly with nothing to flush
// (close-s). Run it once:
//
//	go test -run '^$' -bench Handover -benchtime 1x ./worker/
func BenchmarkHandover(b *testing.B) {
	for range b.N {
		s := newReplicaSet(b, withPlan("pro"))
		s.cfg.LeaseTTL = 15 * time.Second
		a := s.start("a")
		s.waitRole(a, RoleActive)
		bb := s.start("b")
		s.waitRole(bb, RoleStandby)
		closed := time.Now()
		if err := a.stop(); err != nil {
			b.Fatal(err)
		}
		s.waitRole(bb, RoleActive)
		b.ReportMetric(time.Since(closed).Seconds(), "close-s")

		c := s.start("c")
		s.waitRole(c, RoleStandby)
		// At an arbitrary moment: the lease then has between two
		// thirds of its TTL and all of it left.
		killed := time.Now()
		if err := bb.kill(); err != nil {
			b.Fatal(err)
		}
		s.waitRole(c, RoleActive)
		b.ReportMetric(time.Since(killed).Seconds(), "kill-s")
	}
}

// BenchmarkLimitsWrite measures what paying for a call costs: one
// compare-and-set of an account's levels in the R3 limits bucket.
func BenchmarkLimitsWrite(b *testing.B) {
	s := newReplicaSet(b, withPlan("pro"))
	leases, limits, err := ensureBuckets(context.Background(), s.js, s.cfg)
	if err != nil {
		b.Fatal(err)
	}
	term, err := lease.New(lease.Config{KV: leases, Name: "bench", Holder: "bench", TTL: 15 * time.Second}).
		Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer term.Release(context.Background())
	a := newAccount(s.cfg.Accounts[0], 1)
	a.fenced = true
	l, err := openLedger(context.Background(), limits, a, newFence(term, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	a.ledger.Store(l)
	b.ResetTimer()
	for range b.N {
		a.mu.Lock()
		a.changes++
		a.mu.Unlock()
		if err := a.persist(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
