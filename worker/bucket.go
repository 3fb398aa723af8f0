package worker

import "time"

// bucket is a token bucket on an explicit clock. Unlike rate.Limiter its
// level can be read and set, because the levels of an account outlive the
// process: they are stored in KV before every call and restored by the
// next active replica. Callers serialise access (account.mu).
//
// A call is paid in two steps. When the sender picks a chunk its tokens are
// owed (reserve): no other chunk can be given them, and the level stored in
// KV already counts them as spent. When the call leaves, after that write,
// the tokens are taken (spend) at that moment, as Cloudflare will take them
// when the call arrives. Taking them at pick time instead would let a call
// held up by a slow write leave together with later ones, at a moment when
// Cloudflare's bucket, capped while it waited, holds fewer than ours.
type bucket struct {
	rate  float64 // tokens per second
	burst float64
	level float64 // tokens at `at`; negative after a 429 emptied a bucket we over-trusted
	at    time.Time
	owed  float64 // reserved for calls that have not left yet
}

func newBucket(rate, burst float64, now time.Time) bucket {
	return bucket{rate: rate, burst: burst, level: burst, at: now}
}

// tokensAt returns the level at now. Time before the last change earns
// nothing (a level restored from another host's clock may lie ahead).
func (b *bucket) tokensAt(now time.Time) float64 {
	if !now.After(b.at) {
		return b.level
	}
	return min(b.burst, b.level+now.Sub(b.at).Seconds()*b.rate)
}

func (b *bucket) advance(now time.Time) {
	b.level = b.tokensAt(now)
	if now.After(b.at) {
		b.at = now
	}
}

// avail returns the tokens at now that no call is owed.
func (b *bucket) avail(now time.Time) float64 { return b.tokensAt(now) - b.owed }

// reserve owes n tokens to a call if they are available.
func (b *bucket) reserve(now time.Time, n float64) bool {
	if b.avail(now) < n {
		return false
	}
	b.owed += n
	return true
}

// release gives back n owed tokens of a call that will not leave.
func (b *bucket) release(n float64) { b.owed = max(b.owed-n, 0) }

// spend takes n owed tokens as the call leaves at now; false (and the
// tokens released) if the bucket no longer holds them: the call must not
// leave now.
func (b *bucket) spend(now time.Time, n float64) bool {
	b.release(n)
	return b.take(now, n)
}

// take spends n tokens if the bucket holds them.
func (b *bucket) take(now time.Time, n float64) bool {
	b.advance(now)
	if b.level < n {
		return false
	}
	b.level -= n
	return true
}

// empty drops the level to zero (if it was above).
func (b *bucket) empty(now time.Time) {
	b.advance(now)
	b.level = min(b.level, 0)
}

// readyAt returns when the bucket will hold need tokens no call is owed.
func (b *bucket) readyAt(now time.Time, need float64) time.Time {
	have := b.avail(now)
	if have >= need {
		return now
	}
	secs := (need - have) / b.rate
	return now.Add(time.Duration(secs*float64(time.Second)) + time.Millisecond)
}

// lower sets the level to what a stored level, taken at at, has refilled
// to by now, if that is below the level the bucket has itself: whichever
// knows of more spending wins.
func (b *bucket) lower(stored float64, at, now time.Time) {
	if at.After(now) {
		at = now
	}
	s := bucket{rate: b.rate, burst: b.burst, level: min(stored, b.burst), at: at}
	b.advance(now)
	b.level = min(b.level, s.tokensAt(now))
}
