package worker

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// account is the sending side of one Cloudflare account: its two token
// buckets (Cloudflare counts flex requests and URLs separately, per
// account), the pause it is under after a 429, a 5xx or a refused token, and
// the slots that bound its concurrent calls.
type account struct {
	name   string
	limits cfclient.Limits
	purger Purger
	zones  map[string]bool
	wakeCh chan struct{} // cap 1: something changed, look again
	slots  chan struct{} // one element per call in flight

	// fenced is set before Run starts the senders: calls then need the
	// ledger of the current lease term (see ledger.go). Without it (unit
	// tests of the sender) the buckets live in memory only.
	fenced bool
	ledger atomic.Pointer[ledger]

	mu          sync.Mutex
	flex        bucket // one token per tags/hosts/prefixes/everything call
	urls        bucket // one token per URL
	changes     uint64 // counts takes, empties and pauses: what the ledger must store
	pausedUntil time.Time
	pauseCause  string // what set pausedUntil: "rate_limited", "backoff" or "auth"
	authDown    bool
	authEpoch   uint64    // counts auth refusals; a success only counts if issued after the last one
	lastBackOff time.Time // when the backoff last grew
	back        *backoff.ExponentialBackOff
}

func newAccount(a Account, maxInFlight int) *account {
	l := a.Limits
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 500 * time.Millisecond
	b.Multiplier = 2
	b.MaxInterval = 30 * time.Second
	b.RandomizationFactor = 0.5
	b.MaxElapsedTime = 0 // never give up: the messages are kept alive meanwhile
	// The URL bucket must hold at least one full chunk, or a chunk could
	// never be paid for.
	urlBurst := max(math.Ceil(l.URLsPerSecond), float64(l.MaxURLsPerRequest))
	now := time.Now()
	return &account{
		name:   a.Name,
		limits: l,
		purger: a.Purger,
		flex:   newBucket(withMargin(l.FlexPerSecond), float64(l.FlexBurst), now),
		urls:   newBucket(withMargin(l.URLsPerSecond), urlBurst, now),
		zones:  make(map[string]bool),
		wakeCh: make(chan struct{}, 1),
		slots:  make(chan struct{}, maxInFlight),
		back:   b,
	}
}

// withMargin returns a refill rate slightly below Cloudflare's. Our bucket
// runs on our send times and Cloudflare's on its receive times; a call that
// travels faster than the one before it reaches Cloudflare earlier than our
// bucket assumed, and at the plan's exact rate would find an empty bucket.
// Each token is therefore taken to last 10% longer, capped at 50ms.
func withMargin(perSecond float64) float64 {
	interval := 1 / perSecond
	return 1 / (interval + min(interval/10, 0.05))
}

func (a *account) hasZone(id string) bool { return a.zones[id] }

func (a *account) wake() {
	select {
	case a.wakeCh <- struct{}{}:
	default:
	}
}

// pausedFor returns how long the account must still wait before its next
// call, or 0.
func (a *account) pausedFor(now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Before(a.pausedUntil) {
		return a.pausedUntil.Sub(now)
	}
	return 0
}

func (a *account) pauseUntil(t time.Time, cause string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.After(a.pausedUntil) {
		a.pausedUntil, a.pauseCause = t, cause
		a.changes++
	}
}

// rateLimited pauses the account for the wait Cloudflare asked for, or one
// refill period of the bucket that refused us when it gave none, and empties
// our local bucket: Cloudflare saw a bucket emptier than ours (another
// client shares the account), so ours must not be trusted until it refills.
func (a *account) rateLimited(now time.Time, retryAfter time.Duration, kind intent.Kind) time.Duration {
	wait := retryAfter
	if wait <= 0 {
		wait = time.Second
		if kind.Flex() {
			wait = a.limits.FlexRefill()
		}
	}
	a.mu.Lock()
	if kind.Flex() {
		a.flex.empty(now)
	} else {
		a.urls.empty(now)
	}
	a.changes++
	a.mu.Unlock()
	a.pauseUntil(now.Add(wait), "rate_limited")
	return wait
}

// backOff pauses the account after a server or network failure of a call
// issued at issued, for an exponentially growing, jittered interval. The
// interval grows once per failure episode, not once per failed call: calls
// that were already in flight when the previous failure paused the account
// fail for the same cause, and must not push the backoff to its cap at once.
func (a *account) backOff(now, issued time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !issued.After(a.lastBackOff) && now.Before(a.pausedUntil) {
		return a.pausedUntil.Sub(now)
	}
	d := a.back.NextBackOff()
	a.lastBackOff = now
	if t := now.Add(d); t.After(a.pausedUntil) {
		a.pausedUntil, a.pauseCause = t, "backoff"
	}
	return d
}

// succeeded resets the backoff and clears an auth pause. It reports whether
// the account had been paused for auth.
func (a *account) succeeded(issuedEpoch uint64) (wasAuthDown bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.back.Reset()
	if !a.authDown || issuedEpoch != a.authEpoch {
		// A call issued before the refusal says nothing about the
		// credentials now.
		return false
	}
	a.authDown = false
	return true
}

// epoch returns the auth epoch to record when a call is issued.
func (a *account) epoch() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authEpoch
}

func (a *account) authFailed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authDown
}

func (a *account) setAuthDown(until time.Time) {
	a.mu.Lock()
	a.authDown = true
	a.authEpoch++
	a.mu.Unlock()
	a.pauseUntil(until, "auth")
}

// gate reports which kinds of chunk the account can pay for now. A files
// chunk needs as many URL tokens as it has URLs, so files are allowed only
// when a full chunk could be paid; the call then never waits for tokens.
// Nothing is allowed while the account may not call at all (a standby).
func (a *account) gate(now time.Time) (flex, files bool) {
	if !a.mayCall(now) {
		return false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	flex = a.flex.avail(now) >= 1
	files = a.urls.avail(now) >= a.fullURLChunk()
	return flex, files
}

// fullURLChunk is the URL tokens a full files chunk needs. Callers hold a.mu.
func (a *account) fullURLChunk() float64 {
	return min(float64(a.limits.MaxURLsPerRequest), a.urls.burst)
}

// readyAt returns when the bucket for kind will allow a chunk.
func (a *account) readyAt(now time.Time, flex bool) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if flex {
		return a.flex.readyAt(now, 1)
	}
	return a.urls.readyAt(now, a.fullURLChunk())
}

// take reserves the tokens for a chunk of n keys of kind; false if they
// are not there (a bisecting call took them meanwhile). The call then
// persists the levels and spends the tokens as it leaves (spend), or gives
// them back (release).
func (a *account) take(now time.Time, kind intent.Kind, n int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, need := a.bucketFor(kind, n)
	if !b.reserve(now, need) {
		return false
	}
	a.changes++
	return true
}

// spend takes the reserved tokens of a call leaving at now. With recheck
// (the call waited for the limits write) it refuses, giving the
// reservation back, if the account was paused meanwhile (a 429 arrived) or
// the bucket no longer holds the tokens (Cloudflare's would not either):
// the call must not leave. Without, the tokens are taken whatever the
// level, as nothing happened since the sender checked.
func (a *account) spend(now time.Time, kind intent.Kind, n int, recheck bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, need := a.bucketFor(kind, n)
	if !recheck {
		b.release(need)
		b.advance(now)
		b.level -= need
		return true
	}
	if now.Before(a.pausedUntil) {
		b.release(need)
		return false
	}
	return b.spend(now, need)
}

// release gives back the reserved tokens of a call that will not leave.
func (a *account) release(kind intent.Kind, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, need := a.bucketFor(kind, n)
	b.release(need)
}

// bucketFor returns the bucket a call of n keys of kind is paid from and
// what it costs. Callers hold a.mu.
func (a *account) bucketFor(kind intent.Kind, n int) (*bucket, float64) {
	if kind.Flex() {
		return &a.flex, 1
	}
	return &a.urls, float64(n)
}

// waitTurn blocks until the account is not paused and has reserved the
// tokens for a call of n keys of kind (see take). Bisecting calls use it;
// the sender gates instead. Tokens are reserved only once the account is
// not paused: tokens taken before a pause that began meanwhile would be
// spent on no call.
func (a *account) waitTurn(ctx context.Context, kind intent.Kind, n int) error {
	if !kind.Flex() && float64(n) > a.urls.burst {
		return fmt.Errorf("a call of %d URLs exceeds the account's URL burst of %.0f", n, a.urls.burst)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		now := time.Now()
		if !a.mayCall(now) {
			return errNotActive
		}
		// A 429 or a failure elsewhere may have paused the account
		// while we waited for the token: the pause wins.
		if d := a.pausedFor(now); d > 0 {
			t.Reset(d)
			continue
		}
		if a.take(now, kind, n) {
			return nil
		}
		t.Reset(a.tokensReadyAt(now, kind, n).Sub(now))
	}
}

// tokensReadyAt returns when the bucket for kind will hold the tokens for a
// call of n keys of kind.
func (a *account) tokensReadyAt(now time.Time, kind intent.Kind, n int) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, need := a.bucketFor(kind, n)
	return b.readyAt(now, need)
}
