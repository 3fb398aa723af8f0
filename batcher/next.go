package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// Filter selects the groups Next and Due may consider.
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
	// shutdown flush, or a worker holding as many messages as JetStream
	// will give it).
	Force bool
	// Patient makes full groups wait for their window too. The worker sets
	// it while the stream still holds messages for it: a full chunk sent
	// now would miss the duplicates of its keys further down the backlog,
	// and each of those would then cost a call of its own. The window still
	// bounds every key's wait. Force overrides it.
	Patient bool
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
}

// chunk is the batcher's record of a chunk in flight.
type chunk struct {
	id    uint64
	sp    *space
	kind  intent.Kind
	at    time.Time // when it was handed out
	roots []*entry  // in the order of Chunk.Keys
}

// Next hands out one chunk and marks its keys in flight. It picks a full
// group first (as many pending keys as the current maximum for its zone and
// kind; purge_everything is always full), otherwise the group whose oldest
// pending key has waited Window or longer at now, oldest first, and
// otherwise returns false. With f.Patient a full group waits for its window
// like any other; with f.Force every non-empty group is ready. A
// chunk never mixes zones, modes or kinds; it takes the group's oldest keys,
// up to the maximum. Keys covered by a key of the chunk ride along with it.
func (b *Batcher) Next(now time.Time, f Filter) (Chunk, bool) {
	g := b.pick(now, f)
	if g == nil {
		return Chunk{}, false
	}
	n := min(b.max(g.sp.zone, g.kind), len(g.heap))
	b.lastID++
	b.handed++
	c := &chunk{id: b.lastID, sp: g.sp, kind: g.kind, at: now, roots: make([]*entry, n)}
	keys := make([]intent.Key, n)
	for i := range n {
		r := b.pop(g)
		b.handOut(r)
		c.roots[i] = r
		keys[i] = r.key
	}
	b.chunks[c.id] = c
	return Chunk{ID: c.id, ZoneID: g.sp.zone, Mode: g.sp.mode, Kind: g.kind, Keys: keys}, true
}

// Due returns the earliest time at which Next(now, f) would hand out a chunk
// (a time not after now, the oldest key's receive time, if it would now) and
// false if nothing matching f is pending. The worker arms its timer with it.
func (b *Batcher) Due(f Filter) (time.Time, bool) {
	var due time.Time
	found := false
	for _, g := range b.active {
		if !f.accepts(g) {
			continue
		}
		t := b.due(g, f)
		if !found || t.Before(due) {
			due, found = t, true
		}
	}
	return due, found
}

// due returns when g is ready under f: at its oldest key's receive time if
// it is full (and f is not patient) or f forces it, else a window later.
func (b *Batcher) due(g *group, f Filter) time.Time {
	t := g.oldest()
	if !f.Force && (f.Patient || !b.full(g)) {
		t = t.Add(b.window)
	}
	return t
}

// pick returns the group Next should hand out from at now, or nil.
func (b *Batcher) pick(now time.Time, f Filter) *group {
	var best *group
	bestFull := false
	for _, g := range b.active {
		if !f.accepts(g) {
			continue
		}
		full := !f.Patient && b.full(g)
		if !full && !f.Force && now.Before(g.oldest().Add(b.window)) {
			continue
		}
		if best == nil || full && !bestFull || full == bestFull && olderGroup(g, best) {
			best, bestFull = g, full
		}
	}
	return best
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
	return len(g.heap) >= b.max(g.sp.zone, g.kind)
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
// flight: they leave the index, so equal keys arriving now wait for the next
// call.
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
