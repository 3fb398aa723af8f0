package worker

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// account is the sending side of one Cloudflare account: its two rate
// limiters (Cloudflare counts flex requests and URLs separately, per
// account), the pause it is under after a 429, a 5xx or a refused token, and
// the slots that bound its concurrent calls.
type account struct {
	name   string
	limits cfclient.Limits
	purger Purger
	flex   *rate.Limiter // one token per tags/hosts/prefixes/everything call
	urls   *rate.Limiter // one token per URL
	zones  map[string]bool
	wakeCh chan struct{} // cap 1: something changed, look again
	slots  chan struct{} // one element per call in flight

	mu          sync.Mutex
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
	urlBurst := max(int(math.Ceil(l.URLsPerSecond)), l.MaxURLsPerRequest)
	return &account{
		name:   a.Name,
		limits: l,
		purger: a.Purger,
		flex:   rate.NewLimiter(withMargin(l.FlexPerSecond), l.FlexBurst),
		urls:   rate.NewLimiter(withMargin(l.URLsPerSecond), urlBurst),
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
func withMargin(perSecond float64) rate.Limit {
	interval := 1 / perSecond
	return rate.Limit(1 / (interval + min(interval/10, 0.05)))
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
	}
}

// rateLimited pauses the account for the wait Cloudflare asked for, or one
// refill period of the bucket that refused us when it gave none, and empties
// our local bucket: Cloudflare saw a bucket emptier than ours (another
// client shares the account), so ours must not be trusted until it refills.
func (a *account) rateLimited(now time.Time, retryAfter time.Duration, kind intent.Kind) time.Duration {
	wait := retryAfter
	lim := a.urls
	if kind.Flex() {
		lim = a.flex
	}
	if wait <= 0 {
		wait = time.Second
		if kind.Flex() {
			wait = a.limits.FlexRefill()
		}
	}
	if n := int(lim.TokensAt(now)); n > 0 {
		lim.AllowN(now, n)
	}
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
func (a *account) gate(now time.Time) (flex, files bool) {
	flex = a.flex.TokensAt(now) >= 1
	files = a.urls.TokensAt(now) >= float64(min(a.limits.MaxURLsPerRequest, a.urls.Burst()))
	return flex, files
}

// readyAt returns when the bucket for kind will allow a chunk.
func (a *account) readyAt(now time.Time, flex bool) time.Time {
	lim, need := a.urls, float64(min(a.limits.MaxURLsPerRequest, a.urls.Burst()))
	if flex {
		lim, need = a.flex, 1
	}
	have := lim.TokensAt(now)
	if have >= need {
		return now
	}
	secs := (need - have) / float64(lim.Limit())
	return now.Add(time.Duration(secs*float64(time.Second)) + time.Millisecond)
}

// take spends the tokens for a chunk of n keys of kind; false if they are
// not there (a bisecting call took them meanwhile).
func (a *account) take(now time.Time, kind intent.Kind, n int) bool {
	if kind.Flex() {
		return a.flex.AllowN(now, 1)
	}
	return a.urls.AllowN(now, n)
}

// waitTurn blocks until the account is not paused and holds the tokens for
// a call of n keys of kind. Bisecting calls use it; the sender gates instead.
func (a *account) waitTurn(ctx context.Context, kind intent.Kind, n int) error {
	for {
		if d := a.pausedFor(time.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		var err error
		if kind.Flex() {
			err = a.flex.Wait(ctx)
		} else {
			err = a.urls.WaitN(ctx, n)
		}
		if err != nil {
			return err
		}
		// A 429 or a failure elsewhere may have paused the account
		// while we waited for the token: the pause wins.
		if a.pausedFor(time.Now()) == 0 {
			return nil
		}
	}
}
