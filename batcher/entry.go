package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// state is where an entry is in its life.
type state uint8

const (
	statePending  state = iota // in its space's index, waiting for a chunk
	stateInFlight              // handed out in a chunk, waiting for Resolve
	stateDone                  // succeeded, failed, dropped, or merged into another entry
)

// entry is one key of one zone and mode, with the handles that need it. At
// most one pending entry exists per key and space; an entry in flight is out
// of the index, so an equal key arriving meanwhile gets an entry of its own.
//
// Coverage is kept flat: a root entry sits in its group's heap and may hold
// children (keys it covers) in a doubly linked list; a child never has
// children of its own, so moving a root under a broader coverer moves its
// children too.
type entry struct {
	key  intent.Key
	sp   *space
	host string // intent.HostOf(key), cached for the host index
	seq  uint64 // creation order, the FIFO tie-breaker

	// at is the earliest receive time among the handles this entry carries,
	// its children's included for a root, so a key folded under a coverer
	// never waits longer than it would have on its own.
	at time.Time
	// prio is the highest priority among the handles this entry carries,
	// its children's included for a root; it picks the root's lane.
	prio intent.Priority

	holders []*handle // every handle that ever needed this entry; done ones are skipped
	live    int       // holders not yet reported or dropped
	state   state
	fwd     *entry // set when this entry was merged into an equal pending one
	horizon uint64 // for a root in flight: its chunk's horizon

	parent           *entry // the covering root, for a child
	child            *entry // first child, for a root
	nextSib, prevSib *entry // siblings under the same parent

	heapIdx            int    // position in the group heap, -1 when not a pending root
	hostNext, hostPrev *entry // the host index list of pending file and prefix roots
	inHost             bool
}

// resolve follows merge forwarding to the entry that now carries e's holders.
func (e *entry) resolve() *entry {
	for e.fwd != nil {
		e = e.fwd
	}
	return e
}

// root returns the entry that will be handed out to purge e.
func (e *entry) root() *entry {
	if e.parent != nil {
		return e.parent
	}
	return e
}

// needed reports whether the entry still serves a live handle, itself or
// as the coverer of live children (children are removed once unneeded).
func (e *entry) needed() bool {
	return e.live > 0 || e.child != nil
}

// isCoverer reports whether keys of this kind can cover other keys.
func isCoverer(k intent.Kind) bool {
	return k == intent.KindHost || k == intent.KindPrefix || k == intent.KindEverything
}

// hasHost reports whether keys of this kind live in the host index.
func hasHost(k intent.Kind) bool {
	return k == intent.KindFile || k == intent.KindPrefix
}

// linkChild puts x under the root c.
func linkChild(c, x *entry) {
	x.parent = c
	x.prevSib = nil
	x.nextSib = c.child
	if c.child != nil {
		c.child.prevSib = x
	}
	c.child = x
}

// unlinkChild takes the child x out of its parent's list.
func unlinkChild(x *entry) {
	c := x.parent
	if x.prevSib != nil {
		x.prevSib.nextSib = x.nextSib
	} else {
		c.child = x.nextSib
	}
	if x.nextSib != nil {
		x.nextSib.prevSib = x.prevSib
	}
	x.parent, x.nextSib, x.prevSib = nil, nil, nil
}

// takeChildren detaches and returns every child of the root c.
func takeChildren(c *entry) []*entry {
	var kids []*entry
	for x := c.child; x != nil; {
		next := x.nextSib
		x.parent, x.nextSib, x.prevSib = nil, nil, nil
		kids = append(kids, x)
		x = next
	}
	c.child = nil
	return kids
}

// earlier reports whether a sorts before b in FIFO order.
func earlier(a, b *entry) bool {
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}
