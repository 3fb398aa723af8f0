package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// spaceKey names the keys that may cover or duplicate one another: the
// same key in another zone or mode is another purge.
type spaceKey struct {
	zone string
	mode intent.Mode
}

// space is the pending state of one zone and mode. Every lookup that Add
// needs is a map access: duplicates through pending, candidate coverers by
// building the key they would have (purge_everything, the host, each of
// intent.CoverPaths), and the keys a new host or prefix covers through
// byHost, keyed by intent.HostOf. intent.Covers decides every candidate, so
// the coverage rules live in one place.
type space struct {
	zone    string
	mode    intent.Mode
	pending map[intent.Key]*entry // every pending entry, roots and children
	byHost  map[string]*entry     // head of the list of pending file and prefix roots per host
	count   [len(intent.Kinds)]int
	groups  [len(intent.Kinds)]group

	flying    map[intent.Key]*entry // roots in flight, by key (see fly)
	flyCount  kindCount
	memo      map[intent.Key]*memo // keys of successful calls (see memory)
	memoCount kindCount
}

// everything is the one purge_everything key of a space.
var everything = intent.Key{Kind: intent.KindEverything}

// space returns the space of zone and mode, creating it on first use.
func (b *Batcher) space(zone string, mode intent.Mode) *space {
	if sp := b.lastSpace; sp != nil && sp.mode == mode && sp.zone == zone {
		return sp // messages come in runs for one zone
	}
	k := spaceKey{zone, mode}
	if sp := b.spaces[k]; sp != nil {
		b.lastSpace = sp
		return sp
	}
	sp := &space{
		zone:    zone,
		mode:    mode,
		pending: make(map[intent.Key]*entry),
		byHost:  make(map[string]*entry),
	}
	for i := range sp.groups {
		b.seq++
		sp.groups[i] = group{sp: sp, kind: intent.Kind(i), seq: b.seq, active: -1}
	}
	b.spaces[k] = sp
	b.lastSpace = sp
	return sp
}

func (sp *space) group(k intent.Kind) *group { return &sp.groups[k] }

func (sp *space) index(e *entry) {
	sp.pending[e.key] = e
	sp.count[e.key.Kind]++
}

func (sp *space) unindex(e *entry) {
	delete(sp.pending, e.key)
	sp.count[e.key.Kind]--
}

// place makes the detached pending entry e part of its space: merged into an
// equal pending entry, held under a pending root that covers it, or a root
// of its own that takes in the pending roots it covers. fromAdd says whether
// e is a new key, which is what the Covered statistic counts.
func (b *Batcher) place(e *entry, fromAdd bool) {
	sp := e.sp
	if p := sp.pending[e.key]; p != nil {
		b.merge(e, p)
		return
	}
	c := b.covererOf(sp, e)
	sp.index(e)
	if c != nil {
		linkChild(c, e)
		b.lower(c, e.at)
		b.raise(c, e.prio)
		if fromAdd {
			b.covered++
		}
		return
	}
	b.makeRoot(e)
	if isCoverer(e.key.Kind) {
		n := b.sweep(e)
		if fromAdd {
			b.covered += uint64(n)
		}
	}
}

// merge folds the detached entry e into the pending entry p with the same
// key; e forwards to p so its holders still find their need.
func (b *Batcher) merge(e, p *entry) {
	p.holders = append(p.holders, e.holders...)
	p.live += e.live
	e.holders, e.live = nil, 0
	e.fwd, e.state = p, stateDone
	b.lower(p, e.at)
	b.raise(p, e.prio)
}

// covererOf returns the pending root that will purge e's key if one covers
// it, in O(path depth) map lookups. The keys covering a key form a chain
// (everything, its host, its prefixes from shortest to longest), each
// covering the next, and pending keys are held flat under the broadest
// pending coverer, so any pending coverer leads to the right root.
func (b *Batcher) covererOf(sp *space, e *entry) *entry {
	k := e.key
	if k.Kind == intent.KindEverything {
		return nil
	}
	if sp.count[intent.KindEverything] > 0 {
		if c := sp.pending[everything]; c != nil {
			return c
		}
	}
	if !hasHost(k.Kind) {
		return nil
	}
	if sp.count[intent.KindHost] > 0 {
		if c := sp.pending[intent.Key{Kind: intent.KindHost, Value: e.host}]; c != nil && intent.Covers(c.key, k) {
			return c.root()
		}
	}
	if sp.count[intent.KindPrefix] > 0 {
		for _, p := range intent.CoverPaths(k) {
			if c := sp.pending[intent.Key{Kind: intent.KindPrefix, Value: p}]; c != nil && intent.Covers(c.key, k) {
				return c.root()
			}
		}
	}
	return nil
}

// sweep moves under the new root c every pending root it covers, with their
// children, and returns how many roots it moved. purge_everything takes the
// whole space; a host or prefix looks only at the roots on its host.
func (b *Batcher) sweep(c *entry) int {
	sp, n := c.sp, 0
	if c.key.Kind == intent.KindEverything {
		for i := range sp.groups {
			g := &sp.groups[i]
			if g.kind == intent.KindEverything || g.n == 0 {
				continue
			}
			for _, r := range b.takeAll(g) {
				sp.hostUnlink(r)
				b.adopt(c, r)
				n++
			}
		}
		return n
	}
	for r := sp.byHost[c.host]; r != nil; {
		next := r.hostNext
		if r != c && intent.Covers(c.key, r.key) {
			b.unroot(r)
			b.adopt(c, r)
			n++
		}
		r = next
	}
	return n
}

// adopt moves the unrooted entry r and its children under the root c.
func (b *Batcher) adopt(c, r *entry) {
	for x := r.child; x != nil; {
		next := x.nextSib
		linkChild(c, x)
		x = next
	}
	r.child = nil
	linkChild(c, r)
	b.lower(c, r.at)
	b.raise(c, r.prio)
}

// lower moves e's receive time back to t if t is earlier, and its root's
// with it, keeping the heap in order.
func (b *Batcher) lower(e *entry, t time.Time) {
	for ; e != nil; e = e.parent {
		if !t.Before(e.at) {
			return
		}
		e.at = t
		if e.heapIdx >= 0 {
			e.sp.group(e.key.Kind).moveUp(e)
		}
	}
}

// raise lifts e's priority to p if p is higher, and its root's with it: a
// root is sent with its children, so it carries the highest priority among
// them. This is how coalescing spans priorities: a high key equal to, or
// covered by, a pending low one makes that one high.
func (b *Batcher) raise(e *entry, p intent.Priority) {
	for ; e != nil && p > e.prio; e = e.parent {
		if e.heapIdx < 0 {
			e.prio = p
			continue
		}
		g := e.sp.group(e.key.Kind)
		b.unheap(g, e)
		e.prio = p
		b.push(g, e)
	}
}

// makeRoot puts e in its group and, for files and prefixes, its host list.
func (b *Batcher) makeRoot(e *entry) {
	b.push(e.sp.group(e.key.Kind), e)
	if hasHost(e.key.Kind) {
		e.sp.hostLink(e)
	}
}

// unroot takes the root e out of its group and host list.
func (b *Batcher) unroot(e *entry) {
	if e.heapIdx >= 0 {
		b.unheap(e.sp.group(e.key.Kind), e)
	}
	e.sp.hostUnlink(e)
}

// remove deletes the pending entry e that nothing needs any more, and its
// parent if that was only kept for e.
func (b *Batcher) remove(e *entry) {
	e.sp.unindex(e)
	e.state = stateDone
	if c := e.parent; c != nil {
		unlinkChild(e)
		if !c.needed() {
			b.remove(c)
		}
		return
	}
	b.unroot(e)
}

func (sp *space) hostLink(e *entry) {
	head := sp.byHost[e.host]
	e.hostPrev, e.hostNext = nil, head
	if head != nil {
		head.hostPrev = e
	}
	sp.byHost[e.host] = e
	e.inHost = true
}

func (sp *space) hostUnlink(e *entry) {
	if !e.inHost {
		return
	}
	switch {
	case e.hostPrev != nil:
		e.hostPrev.hostNext = e.hostNext
	case e.hostNext != nil:
		sp.byHost[e.host] = e.hostNext
	default:
		delete(sp.byHost, e.host)
	}
	if e.hostNext != nil {
		e.hostNext.hostPrev = e.hostPrev
	}
	e.hostNext, e.hostPrev, e.inHost = nil, nil, false
}
