package worker

import (
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func TestBucketReservesThenSpendsWhenTheCallLeaves(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBucket(2, 4, t0) // 2 tokens a second, 4 at most
	for range 4 {
		if !b.reserve(t0, 1) {
			t.Fatal("a full bucket refused a reservation")
		}
	}
	if b.reserve(t0, 1) {
		t.Fatal("a fifth reservation was granted from a bucket of 4")
	}
	// The first three leave at once, the fourth 1s later (its limits write
	// was slow): it is spent then, from what the bucket holds then.
	for range 3 {
		if !b.spend(t0, 1) {
			t.Fatal("an owed token was not there when its call left")
		}
	}
	if got := b.avail(t0); got != 0 {
		t.Fatalf("avail = %v with one token owed, want 0", got)
	}
	t1 := t0.Add(time.Second)
	if !b.spend(t1, 1) {
		t.Fatal("the late call's token was not there")
	}
	if got := b.tokensAt(t1); got != 2 {
		t.Fatalf("level after the late call = %v, want 2 (1 left + 2 refilled - 1)", got)
	}
}

func TestBucketRefusesALateCallWhoseTokenIsGone(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBucket(1, 1, t0)
	if !b.reserve(t0, 1) {
		t.Fatal("reserve")
	}
	b.empty(t0) // a 429 meanwhile
	if b.spend(t0.Add(100*time.Millisecond), 1) {
		t.Fatal("a call left with a token the 429 took away")
	}
	if b.owed != 0 {
		t.Fatalf("owed = %v after a refused spend, want 0", b.owed)
	}
}

func TestBucketLowerKeepsTheEmptierLevel(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBucket(1, 10, t0)
	// Stored 2 tokens 3s ago: 5 now, below our 10.
	b.lower(2, t0.Add(-3*time.Second), t0)
	if got := b.tokensAt(t0); got != 5 {
		t.Fatalf("level = %v, want 5", got)
	}
	// Stored more than we have: ours stays.
	b.lower(9, t0, t0)
	if got := b.tokensAt(t0); got != 5 {
		t.Fatalf("level = %v, want 5", got)
	}
	// Written by a clock 10s ahead: no refill for the time it is ahead.
	b.lower(1, t0.Add(10*time.Second), t0)
	if got := b.tokensAt(t0); got != 1 {
		t.Fatalf("level = %v, want 1", got)
	}
}

// A call whose limits write was slow does not leave if a 429 paused the
// account meanwhile, and its reservation is given back.
func TestAccountPausedDuringTheWriteHoldsTheCall(t *testing.T) {
	a := newAccount(Account{Name: "acct", Limits: planLimits(t, "pro")}, 1)
	now := time.Now()
	if !a.take(now, intent.KindTag, 1) {
		t.Fatal("take")
	}
	a.rateLimited(now, 2*time.Second, intent.KindTag)
	if a.spend(now.Add(10*time.Millisecond), intent.KindTag, 1, true) {
		t.Fatal("a call left during a Retry-After pause")
	}
	if a.flex.owed != 0 {
		t.Fatalf("owed = %v, want the reservation given back", a.flex.owed)
	}
}
