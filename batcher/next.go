package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// Filter selects the groups Next and Due may consider and tells them what
// the worker knows that the batcher does not.
type Filter struct {
	// Zone accepts the zones the caller sends for; nil accepts every zone
	// (the worker has one sender per Cloudflare account).
	Zone func(zoneID string) bool
	// Flex allows tags, hosts, prefixes and purge_everything chunks, which
	// draw on the account's flex request bucket.
	Flex bool
	// Files allows files chunks, which draw on the URL rate.
	Files bool
	// Force ignores windows and hands out whatever is pending (the
	// shutdown flush).
	Force bool
	// Capped says the worker holds as many messages as JetStream will
	// give it: nothing more arrives until some are settled, so waiting
	// for the window gains nothing. Full groups are due at once; when no
	// group is full and no chunk is in flight (nothing else will free a
	// message), every group is, the oldest first.
	Capped bool
	// Relieving says the worker was capped and has not yet settled
	// enough messages for JetStream to deliver freely again: full groups
	// stay due at once, so that one cap costs one round of calls rather
	// than one per call slot.
	Relieving bool
	// HoldUntil, when set, is the earliest time a window may end: the
	// stream still holds messages for the worker that it has not received
	// (a backlog being pulled), and they may hold duplicates and coverers
	// of what is pending, or more keys for a partial chunk. The worker
	// moves it forward while messages keep arriving.
	HoldUntil time.Time
}

// accepts reports whether f selects group g.
func (f Filter) accepts(g *group) bool {
	if g.kind.Flex() && !f.Flex || !g.kind.Flex() && !f.Files {
		return false
	}
	return f.Zone == nil || f.Zone(g.sp.zone)
}

// Chunk is one purge call's worth of keys, handed out by Next and settled by
// exactly one of Resolve, Succeed, Requeue or Shrink.
type Chunk struct {
	ID     uint64
	ZoneID string
	Mode   intent.Mode
	Kind   intent.Kind
	Keys   []intent.Key // 1..max keys, all of Kind, oldest first
	// Horizon is the highest stream sequence known to be stored when the
	// chunk was handed out: if it succeeds, it settles its keys for every
	// message stored at or below it.
	Horizon uint64
}

// chunk is the batcher's record of a chunk in flight.
type chunk struct {
	id      uint64
	sp      *space
	kind    intent.Kind
	horizon uint64
	roots   []*entry // in the order of Chunk.Keys
}

// Next hands out one chunk and marks its keys in flight, or returns false
// when no group is due at now (see dueAt, the one place that decides). Of
// the due groups it picks the one with the highest pending priority, then
// (when the worker is capped or relieving) a full one (as many pending keys
// as the current maximum for its zone and kind; purge_everything is always
// full), then the one whose oldest key has waited longest. A chunk never
// mixes zones, modes or kinds; it takes the group's keys highest priority
// first and in the group's order within a priority (see earlier), up to the
// maximum. Keys covered by a key of the chunk ride along with it.
func (b *Batcher) Next(now time.Time, f Filter) (Chunk, bool) {
	g := b.pick(now, f)
	if g == nil {
		return Chunk{}, false
	}
	zk := zoneKind{g.sp.zone, g.kind}
	n := min(b.max(g.sp.zone, g.kind), g.n)
	b.lastID++
	b.handed++
	c := &chunk{id: b.lastID, sp: g.sp, kind: g.kind, horizon: b.stored, roots: make([]*entry, n)}
	keys := make([]intent.Key, n)
	for i := range n {
		r := b.pop(g)
		b.handOut(r)
		b.fly(r, c.horizon)
		c.roots[i] = r
		keys[i] = r.key
	}
	if b.unproven(zk, n) {
		b.probing[zk] = c.id
	}
	b.chunks[c.id] = c
	return Chunk{ID: c.id, ZoneID: g.sp.zone, Mode: g.sp.mode, Kind: g.kind, Keys: keys, Horizon: c.horizon}, true
}

// Due returns the earliest time at which Next(now, f) would hand out a chunk
// (a time not after now, the oldest key's receive time, if it would now) and
// false if nothing matching f can become due by time alone. The worker arms
// its timer with it.
func (b *Batcher) Due(f Filter) (time.Time, bool) {
	var due time.Time
	found := false
	stuck := b.stuck(f)
	for _, g := range b.active {
		if !f.accepts(g) || b.waitsForProbe(g) {
			continue
		}
		t := b.dueAt(g, f, stuck)
		if !found || t.Before(due) {
			due, found = t, true
		}
	}
	return due, found
}

// dueAt is the rule for when group g is due: at once (its oldest key's
// receive time) at shutdown, while the worker is capped or relieving for a
// full group, and when capped and stuck for any; otherwise batch.window after its oldest key
// arrived, full or not, so that duplicates and coverers later in a burst join
// it, and not before f.HoldUntil.
func (b *Batcher) dueAt(g *group, f Filter, stuck bool) time.Time {
	if f.Force || f.Capped && stuck || (f.Capped || f.Relieving) && b.full(g) {
		return g.oldest()
	}
	t := g.oldest().Add(b.window)
	if t.Before(f.HoldUntil) {
		t = f.HoldUntil
	}
	return t
}

// stuck reports whether a capped worker can only make progress by sending
// a partial chunk: no group is full and no chunk is in flight.
func (b *Batcher) stuck(f Filter) bool {
	if !f.Capped || b.flying > 0 {
		return false
	}
	for _, g := range b.active {
		if b.full(g) {
			return false
		}
	}
	return true
}

// pick returns the group Next should hand out from at now, or nil.
func (b *Batcher) pick(now time.Time, f Filter) *group {
	var best *group
	bestFull := false
	stuck := b.stuck(f)
	for _, g := range b.active {
		if !f.accepts(g) || b.waitsForProbe(g) || now.Before(b.dueAt(g, f, stuck)) {
			continue
		}
		// A capped worker frees the most messages with full chunks.
		full := (f.Capped || f.Relieving) && b.full(g)
		if best == nil || before(g, full, best, bestFull) {
			best, bestFull = g, full
		}
	}
	return best
}

// before orders the groups due to go: the highest pending priority first,
// so that keys of a high intent take the next token; then full groups (a
// capped worker frees the most messages with them); then the longest
// wait.
func before(a *group, aFull bool, b *group, bFull bool) bool {
	if pa, pb := a.top(), b.top(); pa != pb {
		return pa > pb
	}
	if aFull != bFull {
		return aFull
	}
	return olderGroup(a, b)
}

// olderGroup orders groups by oldest pending key, then by creation.
func olderGroup(a, b *group) bool {
	if c := a.oldest().Compare(b.oldest()); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// full reports whether g has at least a whole chunk pending.
func (b *Batcher) full(g *group) bool {
	return g.n >= b.max(g.sp.zone, g.kind)
}

// unproven reports whether a chunk of n keys for zk is larger than any that
// has succeeded, so that Cloudflare may refuse it for its size.
func (b *Batcher) unproven(zk zoneKind, n int) bool {
	return zk.kind != intent.KindEverything && n > max(b.proven[zk], 1)
}

// waitsForProbe reports whether g's next chunk must wait for the unproven
// chunk of its zone and kind to be answered.
func (b *Batcher) waitsForProbe(g *group) bool {
	zk := zoneKind{g.sp.zone, g.kind}
	return b.probing[zk] != 0 && b.unproven(zk, min(b.max(zk.zone, zk.kind), g.n))
}

// max returns the current per-request maximum for zone and kind: the plan's
// (at least 1), lowered by Shrink, and always 1 for purge_everything.
func (b *Batcher) max(zone string, kind intent.Kind) int {
	if kind == intent.KindEverything {
		return 1
	}
	m := max(b.maxKeys(zone, kind), 1)
	if s, ok := b.shrunk[zoneKind{zone, kind}]; ok && s < m {
		m = s
	}
	return m
}

// handOut marks the root r, just popped from its group, and its children in
// flight: they leave the pending index, so equal keys arriving now are
// pending again unless their message was stored at or below the chunk's
// horizon (see ride).
func (b *Batcher) handOut(r *entry) {
	sp := r.sp
	sp.hostUnlink(r)
	sp.unindex(r)
	r.state = stateInFlight
	b.flying++
	for x := r.child; x != nil; x = x.nextSib {
		sp.unindex(x)
		x.state = stateInFlight
		b.flying++
	}
}
