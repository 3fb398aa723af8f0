package batcher

import (
	"fmt"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// DefaultMaxKeys is the per-request maximum used when Config.MaxKeys is nil:
// Cloudflare's limit for files (below Enterprise), tags, hosts and prefixes.
const DefaultMaxKeys = 100

// Config parameterises a Batcher.
type Config struct {
	// Window (batch.window) is the longest a group waits after its oldest
	// pending key arrived before Next hands it out. Negative means 0.
	Window time.Duration

	// MaxKeys returns the per-request maximum for a zone and kind, from the
	// account's plan. Results below 1 count as 1; nil means DefaultMaxKeys.
	// purge_everything is always 1 whatever it returns.
	MaxKeys func(zoneID string, k intent.Kind) int
}

// Batcher coalesces the keys of many messages into as few purge calls as
// Cloudflare allows and tells the worker which messages those calls settle.
//
// A Batcher is not safe for concurrent use: the worker serialises every call
// with its own mutex. Times passed in must come from one clock and must not
// go backwards from one call to the next (a message's receive time is never
// later than the now of a Next that follows its Add), because a chunk only
// satisfies handles received at or before it was handed out.
type Batcher struct {
	window  time.Duration
	maxKeys func(zoneID string, k intent.Kind) int

	spaces    map[spaceKey]*space
	lastSpace *space // the space of the last part added
	handles   map[Handle]*handle
	slab      []handle // handle records not yet handed out
	chunks    map[uint64]*chunk
	active    []*group         // groups with pending roots
	shrunk    map[zoneKind]int // maxima lowered by Shrink
	seq       uint64           // entry and group creation order
	lastID    uint64           // last chunk id handed out
	flying    int              // entries in flight
	dups      uint64           // Stats.Duplicates
	covered   uint64           // Stats.Covered
	handed    uint64           // Stats.Chunks
}

// zoneKind keys the maxima: Cloudflare's limits are per zone and type, the
// same for purge and invalidate.
type zoneKind struct {
	zone string
	kind intent.Kind
}

// New returns an empty Batcher.
func New(cfg Config) *Batcher {
	b := &Batcher{
		window:  max(cfg.Window, 0),
		maxKeys: cfg.MaxKeys,
		spaces:  make(map[spaceKey]*space),
		handles: make(map[Handle]*handle),
		chunks:  make(map[uint64]*chunk),
		shrunk:  make(map[zoneKind]int),
	}
	if b.maxKeys == nil {
		b.maxKeys = func(string, intent.Kind) int { return DefaultMaxKeys }
	}
	return b
}

// Add registers handle h, received at received, as needing every key of
// parts, and reports whether it did. It returns false, and remembers
// nothing, when parts hold no key at all: such a message needs no call and
// the worker acks it at once.
//
// A key equal to a pending key of the same zone and mode joins it (the entry
// remembers every handle that needs it); a key that a pending
// purge_everything, host or prefix covers is held under that coverer and
// settled by its call; a new coverer takes in the pending keys it covers. A
// key equal to or covered by a key in flight is not attached to that call:
// it waits, pending, for the next one.
//
// The keys must be normalised as package intent does. Add panics on a key
// kind it does not know (changing nothing) and on a handle it already holds
// (after which the Batcher must not be used): both are programming errors.
func (b *Batcher) Add(h Handle, received time.Time, parts []intent.Part) bool {
	n := 0
	for _, p := range parts {
		for _, k := range p.Keys {
			if k.Kind > intent.KindEverything {
				panic(fmt.Sprintf("batcher: key %q has unknown kind %d", k.Value, k.Kind))
			}
		}
		n += len(p.Keys)
	}
	if n == 0 {
		return false
	}
	hd := b.newHandle(h)
	if n == 1 {
		hd.entries = hd.one[:0]
	} else {
		hd.entries = make([]*entry, 0, n)
	}
	// One map operation instead of a lookup and an insert: this is the
	// hottest line of Add.
	held := len(b.handles)
	if b.handles[h] = hd; len(b.handles) == held {
		panic(fmt.Sprintf("batcher: handle %d added twice", h))
	}
	for _, p := range parts {
		if len(p.Keys) == 0 {
			continue
		}
		sp := b.space(p.ZoneID, p.Mode)
		for _, k := range p.Keys {
			b.addKey(sp, hd, k, p.Priority, received)
		}
	}
	return true
}

// newHandle allocates handle records in slabs: Add is called once per
// message, and one allocation per message is most of its cost. A slab is
// freed once all its handles are reported or dropped.
func (b *Batcher) newHandle(h Handle) *handle {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]handle, 0, 128)
	}
	b.slab = b.slab[:len(b.slab)+1]
	hd := &b.slab[len(b.slab)-1]
	hd.id = h
	return hd
}

// addKey records that hd needs k in sp.
func (b *Batcher) addKey(sp *space, hd *handle, k intent.Key, prio intent.Priority, received time.Time) {
	if k.Kind == intent.KindEverything {
		k = everything
	}
	if e := sp.pending[k]; e != nil {
		if last := len(e.holders) - 1; last >= 0 && e.holders[last] == hd {
			// The message lists the key twice; Add is the only place
			// that appends holders, so hd would be last.
			return
		}
		b.hold(e, hd)
		b.dups++
		b.lower(e, received)
		b.raise(e, prio)
		return
	}
	b.seq++
	e := &entry{key: k, sp: sp, host: intent.HostOf(k), seq: b.seq, at: received, prio: prio, heapIdx: -1}
	b.hold(e, hd)
	b.place(e, true)
}

// hold makes hd a holder of e.
func (b *Batcher) hold(e *entry, hd *handle) {
	e.holders = append(e.holders, hd)
	e.live++
	hd.entries = append(hd.entries, e)
	hd.outstanding++
}
