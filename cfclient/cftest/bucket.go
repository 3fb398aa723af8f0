package cftest

import (
	"math"
	"time"
)

// bucket is a token bucket driven by explicit times, as Cloudflare
// describes its purge limits: tokens refill at a constant rate up to a
// capacity, a call is allowed only if the tokens it costs are there.
type bucket struct {
	rate     float64 // tokens per second
	capacity float64
	tokens   float64
	last     time.Time
}

// epsilon absorbs float rounding: 12s at 5/60 tokens per second must
// yield exactly one token, not 0.9999999999999999.
const epsilon = 1e-9

func newBucket(rate, capacity float64) bucket {
	return bucket{rate: rate, capacity: capacity, tokens: capacity}
}

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.last = now
		return
	}
	// A clock that goes backwards (a test rewinding WithClock) refills
	// nothing rather than draining.
	if now.After(b.last) {
		b.tokens = math.Min(b.capacity, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
	}
}

// take removes n tokens if they are there. If not, it removes nothing and
// returns how long until they will be.
func (b *bucket) take(now time.Time, n float64) (wait time.Duration, ok bool) {
	b.refill(now)
	if b.tokens+epsilon >= n {
		b.tokens = math.Max(0, b.tokens-n)
		return 0, true
	}
	secs := (n - b.tokens) / b.rate
	return time.Duration(secs * float64(time.Second)), false
}

// retryAfterSeconds renders a wait as Retry-After does: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds() - 1e-6))
	return max(s, 1)
}
