package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// group holds the pending root keys of one zone, mode and kind: the keys one
// chunk may carry together. Roots sit in one lane per priority, each a
// min-heap ordered by receive time (then arrival). A chunk empties the
// highest lane first, oldest first within it, so when the account's tokens
// cannot pay for everything pending, high-priority keys take the next call;
// the group's window starts at its oldest key in any lane.
type group struct {
	sp     *space
	kind   intent.Kind
	seq    uint64 // creation order, to break ties between groups
	lanes  [numPriorities]lane
	n      int // pending roots in all lanes
	active int // index in Batcher.active, -1 when the group is empty
}

// numPriorities is the number of lanes, one per intent.Priority.
const numPriorities = int(intent.PriorityHigh-intent.PriorityLow) + 1

// lane is a min-heap of the pending roots of one priority.
type lane []*entry

func (g *group) lane(p intent.Priority) *lane { return &g.lanes[p-intent.PriorityLow] }

// oldest returns the receive time of the group's oldest pending key.
func (g *group) oldest() time.Time {
	var t time.Time
	for _, l := range g.lanes {
		if len(l) > 0 && (t.IsZero() || l[0].at.Before(t)) {
			t = l[0].at
		}
	}
	return t
}

// top returns the highest priority pending in g.
func (g *group) top() intent.Priority {
	for p := intent.PriorityHigh; p > intent.PriorityLow; p-- {
		if len(*g.lane(p)) > 0 {
			return p
		}
	}
	return intent.PriorityLow
}

// push adds the root e to the lane of its priority and activates the group
// if it was empty. e.prio must not change while e is in a lane.
func (b *Batcher) push(g *group, e *entry) {
	l := g.lane(e.prio)
	e.heapIdx = len(*l)
	*l = append(*l, e)
	l.up(e.heapIdx)
	g.n++
	if g.active < 0 {
		g.active = len(b.active)
		b.active = append(b.active, g)
	}
}

// pop removes and returns the oldest root of the highest non-empty lane.
func (b *Batcher) pop(g *group) *entry {
	e := (*g.lane(g.top()))[0]
	b.unheap(g, e)
	return e
}

// unheap removes the root e from g and deactivates g when it empties.
func (b *Batcher) unheap(g *group, e *entry) {
	l := g.lane(e.prio)
	i, last := e.heapIdx, len(*l)-1
	if i != last {
		l.swap(i, last)
	}
	(*l)[last] = nil
	*l = (*l)[:last]
	e.heapIdx = -1
	if i != last {
		l.fix(i)
	}
	if g.n--; g.n == 0 {
		b.deactivate(g)
	}
}

// takeAll empties g and returns its roots, detached from the lanes.
func (b *Batcher) takeAll(g *group) []*entry {
	var roots []*entry
	for i := range g.lanes {
		for _, r := range g.lanes[i] {
			r.heapIdx = -1
			roots = append(roots, r)
		}
		g.lanes[i] = nil
	}
	g.n = 0
	b.deactivate(g)
	return roots
}

// moveUp restores heap order after the root e's receive time moved back.
func (g *group) moveUp(e *entry) { g.lane(e.prio).up(e.heapIdx) }

// deactivate takes the empty group g out of the active list.
func (b *Batcher) deactivate(g *group) {
	if g.active < 0 {
		return
	}
	last := len(b.active) - 1
	moved := b.active[last]
	b.active[g.active] = moved
	moved.active = g.active
	b.active[last] = nil
	b.active = b.active[:last]
	g.active = -1
	for i := range g.lanes {
		if cap(g.lanes[i]) > 1024 {
			// Let a burst's backing array go once it has drained.
			g.lanes[i] = nil
		}
	}
}

// fix restores heap order after the entry at i changed its time.
func (l lane) fix(i int) {
	if !l.down(i) {
		l.up(i)
	}
}

func (l lane) swap(i, j int) {
	l[i], l[j] = l[j], l[i]
	l[i].heapIdx = i
	l[j].heapIdx = j
}

func (l lane) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !earlier(l[i], l[p]) {
			return
		}
		l.swap(i, p)
		i = p
	}
}

// down sifts the entry at i down and reports whether it moved.
func (l lane) down(i int) bool {
	start, n := i, len(l)
	for {
		left := 2*i + 1
		if left >= n {
			break
		}
		m := left
		if r := left + 1; r < n && earlier(l[r], l[left]) {
			m = r
		}
		if !earlier(l[m], l[i]) {
			break
		}
		l.swap(i, m)
		i = m
	}
	return i > start
}
