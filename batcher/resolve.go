package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// Outcome is the answer to one chunk's call(s), as the worker worked it out
// (after bisecting a refused chunk, for example).
type Outcome struct {
	// Failed lists keys of the chunk that failed permanently, with the
	// reason. Every handle that needs such a key itself is dead-lettered;
	// keys the failed key covered are put back pending on their own.
	Failed map[intent.Key]string
	// Retry lists keys of the chunk to put back pending (retryable failure,
	// or not attempted), keeping their receive times and the keys they
	// cover.
	Retry []intent.Key
	// Every other key of the chunk succeeded. Keys that are not in the
	// chunk are ignored.
}

// Dead is a handle to dead-letter and the key that condemned it.
type Dead struct {
	Handle Handle
	Key    intent.Key
	Reason string
}

// Result lists the handles a settled chunk decided. Each handle appears in
// at most one Result ever, in Acked or in Dead, never both.
type Result struct {
	Acked []Handle // every key they need was purged by a call whose horizon is at or above their sequence
	Dead  []Dead   // they need a key that failed permanently
}

// Resolve settles chunk id with the outcome out, which arrived at now. A
// handle is acked once every key it needs has been purged, by its own key or
// by a covering one, in chunks whose horizon is at or above its sequence;
// the keys that succeeded are remembered with the chunk's horizon. A
// dead-lettered handle is removed from every other key it needs; pending
// keys nobody else needs are dropped. Resolve of an unknown or already
// settled id does nothing.
//
// Settling does not depend on now: what a chunk satisfies is fixed by its
// horizon. The parameter keeps the time-taking API uniform.
func (b *Batcher) Resolve(id uint64, now time.Time, out Outcome) Result {
	c := b.take(id)
	if c == nil {
		return Result{}
	}
	var retry map[intent.Key]bool
	if len(out.Retry) > 0 {
		retry = make(map[intent.Key]bool, len(out.Retry))
		for _, k := range out.Retry {
			retry[k] = true
		}
	}
	var res Result
	// Failures first, so a handle condemned by this chunk is never acked by
	// the rest of it.
	for _, r := range c.roots {
		if reason, failed := out.Failed[r.key]; failed {
			b.fail(r, reason, &res)
		}
	}
	for _, r := range c.roots {
		switch _, failed := out.Failed[r.key]; {
		case failed:
		case retry[r.key]:
			b.repend(r)
		default:
			b.succeed(c, r, &res)
		}
	}
	if len(out.Failed) == 0 && len(retry) == 0 && c.kind != intent.KindEverything {
		zk := zoneKind{c.sp.zone, c.kind}
		b.proven[zk] = max(b.proven[zk], len(c.roots))
	}
	return res
}

// Succeed settles chunk id as wholly successful; it is
// Resolve(id, now, Outcome{}).
func (b *Batcher) Succeed(id uint64, now time.Time) Result {
	return b.Resolve(id, now, Outcome{})
}

// Requeue puts every key of chunk id back pending, as it was: the call was
// not made or its result is unknown.
func (b *Batcher) Requeue(id uint64) {
	if c := b.take(id); c != nil {
		for _, r := range c.roots {
			b.repend(r)
		}
	}
}

// Shrink handles Cloudflare refusing chunk id for holding too many keys,
// and returns the maximum that now applies to the chunk's zone and kind
// (see Lower). Every key goes back pending. Shrink of an unknown or
// already settled id returns 0.
func (b *Batcher) Shrink(id uint64, stated int) int {
	c := b.take(id)
	if c == nil {
		return 0
	}
	m := b.Lower(c.sp.zone, c.kind, len(c.roots), stated)
	for _, r := range c.roots {
		b.repend(r)
	}
	return m
}

// Lower records that Cloudflare refused a call of n keys of zone and kind
// for holding too many, and returns the maximum that now applies: stated,
// the maximum the refusal named, when it is between 1 and n; otherwise half
// of n (never below 1). It halves the refused call, not the current
// maximum, so that calls refused together do not halve it once each. From
// now on the smaller of it and Config.MaxKeys applies; purge_everything
// stays at 1.
func (b *Batcher) Lower(zone string, kind intent.Kind, n, stated int) int {
	if kind != intent.KindEverything {
		m := max(n/2, 1)
		if stated >= 1 && stated < n {
			m = stated
		}
		b.shrunk[zoneKind{zone, kind}] = min(b.max(zone, kind), m)
	}
	return b.max(zone, kind)
}

// take removes chunk id from the chunks in flight: its roots take no more
// messages along.
func (b *Batcher) take(id uint64) *chunk {
	c := b.chunks[id]
	if c == nil {
		return nil
	}
	delete(b.chunks, id)
	zk := zoneKind{c.sp.zone, c.kind}
	if b.probing[zk] == id {
		delete(b.probing, zk)
	}
	for _, r := range c.roots {
		b.land(r)
	}
	return c
}

// succeed settles the root r of chunk c and the keys it covers as purged,
// and remembers r's key with c's horizon.
func (b *Batcher) succeed(c *chunk, r *entry, res *Result) {
	for _, x := range takeChildren(r) {
		b.settle(x, res)
	}
	b.settle(r, res)
	b.memory.remember(r.sp, r.key, c.horizon)
}

// settle marks the in-flight entry e purged and acks the handles it
// completes.
func (b *Batcher) settle(e *entry, res *Result) {
	e.state = stateDone
	b.flying--
	for _, hd := range e.holders {
		if hd.done {
			continue
		}
		hd.outstanding--
		if hd.outstanding == 0 {
			hd.done = true
			delete(b.handles, hd.id)
			res.Acked = append(res.Acked, hd.id)
		}
	}
	e.holders, e.live = nil, 0
}

// fail settles the root r as permanently failed: its own holders are
// dead-lettered, the keys it covered go back pending on their own.
func (b *Batcher) fail(r *entry, reason string, res *Result) {
	kids := takeChildren(r)
	r.state = stateDone
	b.flying--
	holders := r.holders
	r.holders, r.live = nil, 0
	for _, hd := range holders {
		if !hd.done {
			res.Dead = append(res.Dead, Dead{Handle: hd.id, Key: r.key, Reason: reason})
			b.forget(hd)
		}
	}
	for _, x := range kids {
		b.rependOne(x)
	}
}

// repend puts the in-flight root r and the keys it covers back pending,
// keeping their receive times; keys that no live handle needs any more are
// retired instead. r goes first so that its keys find it again.
func (b *Batcher) repend(r *entry) {
	kids := takeChildren(r)
	keep := r.live > 0
	for _, x := range kids {
		keep = keep || x.live > 0
	}
	b.flying--
	if !keep {
		r.state = stateDone
	} else {
		r.state = statePending
		b.place(r, false)
	}
	for _, x := range kids {
		b.rependOne(x)
	}
	// r may have been kept only for keys that found another coverer or an
	// equal pending key.
	if r.state == statePending && !r.needed() {
		b.remove(r)
	}
}

// rependOne puts the detached in-flight entry e, which covers nothing, back
// pending if a live handle needs it, and retires it otherwise.
func (b *Batcher) rependOne(e *entry) {
	b.flying--
	if e.live == 0 {
		e.state = stateDone
		return
	}
	e.state = statePending
	b.place(e, false)
}
