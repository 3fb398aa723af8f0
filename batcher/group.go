package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// group holds the pending root keys of one zone, mode and kind: the keys one
// chunk may carry together. Roots sit in a min-heap ordered by receive time
// (then arrival), so a chunk takes the oldest first and the window of the
// group starts at its oldest key.
type group struct {
	sp     *space
	kind   intent.Kind
	seq    uint64   // creation order, to break ties between groups
	heap   []*entry // pending roots
	active int      // index in Batcher.active, -1 when the group is empty
}

// oldest returns the receive time of the group's oldest pending key.
func (g *group) oldest() time.Time { return g.heap[0].at }

// push adds the root e to the group and activates the group if it was empty.
func (b *Batcher) push(g *group, e *entry) {
	e.heapIdx = len(g.heap)
	g.heap = append(g.heap, e)
	g.up(e.heapIdx)
	if g.active < 0 {
		g.active = len(b.active)
		b.active = append(b.active, g)
	}
}

// pop removes and returns the oldest root of g.
func (b *Batcher) pop(g *group) *entry {
	e := g.heap[0]
	b.unheap(g, e)
	return e
}

// unheap removes the root e from g and deactivates g when it empties.
func (b *Batcher) unheap(g *group, e *entry) {
	i, last := e.heapIdx, len(g.heap)-1
	if i != last {
		g.swap(i, last)
	}
	g.heap[last] = nil
	g.heap = g.heap[:last]
	e.heapIdx = -1
	if i != last {
		g.fix(i)
	}
	if len(g.heap) == 0 {
		b.deactivate(g)
	}
}

// deactivate takes the empty group g out of the active list.
func (b *Batcher) deactivate(g *group) {
	last := len(b.active) - 1
	moved := b.active[last]
	b.active[g.active] = moved
	moved.active = g.active
	b.active[last] = nil
	b.active = b.active[:last]
	g.active = -1
	if cap(g.heap) > 1024 {
		// Let a burst's backing array go once it has drained.
		g.heap = nil
	}
}

// fix restores heap order after the entry at i changed its time.
func (g *group) fix(i int) {
	if !g.down(i) {
		g.up(i)
	}
}

func (g *group) swap(i, j int) {
	g.heap[i], g.heap[j] = g.heap[j], g.heap[i]
	g.heap[i].heapIdx = i
	g.heap[j].heapIdx = j
}

func (g *group) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !earlier(g.heap[i], g.heap[p]) {
			return
		}
		g.swap(i, p)
		i = p
	}
}

// down sifts the entry at i down and reports whether it moved.
func (g *group) down(i int) bool {
	start, n := i, len(g.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && earlier(g.heap[r], g.heap[l]) {
			m = r
		}
		if !earlier(g.heap[m], g.heap[i]) {
			break
		}
		g.swap(i, m)
		i = m
	}
	return i > start
}
