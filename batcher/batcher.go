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

	// RememberKeys (batch.remember_keys) bounds how many keys of
	// successful calls the batcher remembers with their horizons, so that
	// messages stored before such a call and received after it are settled
	// without a call of their own. 0 remembers nothing.
	RememberKeys int
}

// Batcher coalesces the keys of many messages into as few purge calls as
// Cloudflare allows and tells the worker which messages those calls settle.
//
// A Batcher is not safe for concurrent use: the worker serialises every call
// with its own mutex. Times passed in must come from one clock and must not
// go backwards from one call to the next; they decide only when chunks are
// due. What a chunk settles is decided by stream sequences: see Horizon.
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
	earlier   uint64           // Stats.EarlierCall
	handed    uint64           // Stats.Chunks

	stored    uint64 // the highest sequence known to be stored: the horizon of the next chunk
	delivered uint64 // the highest sequence added
	memory    memory // keys of successful calls, with their horizons

	// Per-request maxima are trusted only once a chunk of that size has
	// succeeded: until then at most one larger chunk per zone and kind is
	// in flight, so a maximum lower than the plan's costs one refused call,
	// not one per chunk sent meanwhile.
	proven  map[zoneKind]int    // largest chunk that succeeded
	probing map[zoneKind]uint64 // the chunk in flight larger than proven
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
		proven:  make(map[zoneKind]int),
		probing: make(map[zoneKind]uint64),
		memory:  memory{limit: max(cfg.RememberKeys, 0)},
	}
	if b.maxKeys == nil {
		b.maxKeys = func(string, intent.Kind) int { return DefaultMaxKeys }
	}
	return b
}

// Add registers handle h, the message stored at stream sequence seq and
// received at received, as needing every key of parts, and reports whether
// it must wait for a call. It returns false, and holds nothing, when no key
// needs one: parts hold no key, or a call already made covers every key (see
// Horizon). The worker then acks the message at once.
//
// Per key, in this order: a remembered successful call whose horizon is at
// or above seq and whose keys equal or cover the key settles it; a chunk in
// flight with such a horizon and key takes it along (it is settled with that
// chunk, and put back pending if the chunk fails); a pending equal key is
// joined (the entry remembers every handle that needs it); a pending
// purge_everything, host or prefix that covers it holds it; otherwise it is
// a new pending key, and a new coverer takes in the pending keys it covers.
//
// The keys must be normalised as package intent does. Add panics on a key
// kind it does not know (changing nothing) and on a handle it already holds
// (after which the Batcher must not be used): both are programming errors.
func (b *Batcher) Add(h Handle, seq uint64, received time.Time, parts []intent.Part) bool {
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
	b.sawSeq(seq)
	if b.allRecalled(seq, parts) {
		// Every key was settled by a call already made: nothing to hold,
		// not even a handle record (most messages of a backlog's later
		// slices end here).
		b.earlier += uint64(n)
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
			b.addKey(sp, hd, k, p.Priority, seq, received)
		}
	}
	return true
}

// allRecalled reports whether remembered calls settle every key of parts
// for a message stored at seq.
func (b *Batcher) allRecalled(seq uint64, parts []intent.Part) bool {
	if b.memory.size() == 0 {
		return false
	}
	for _, p := range parts {
		if len(p.Keys) == 0 {
			continue
		}
		sp := b.space(p.ZoneID, p.Mode)
		for _, k := range p.Keys {
			if k.Kind == intent.KindEverything {
				k = everything
			}
			if !b.recalled(sp, k, intent.HostOf(k), seq) {
				return false
			}
		}
	}
	return true
}

// newHandle allocates handle records in slabs: Add is called once per
// message, and one allocation per message is most of its cost. A slab is
// freed once all its handles are reported or dropped, so slabs are small:
// one handle held for long (waiting for a backlog's last partial chunk)
// keeps its whole slab.
func (b *Batcher) newHandle(h Handle) *handle {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]handle, 0, 16)
	}
	b.slab = b.slab[:len(b.slab)+1]
	hd := &b.slab[len(b.slab)-1]
	hd.id = h
	return hd
}

// addKey records that hd, stored at seq, needs k in sp at priority prio.
func (b *Batcher) addKey(sp *space, hd *handle, k intent.Key, prio intent.Priority, seq uint64, received time.Time) {
	if k.Kind == intent.KindEverything {
		k = everything
	}
	host := intent.HostOf(k)
	if b.recalled(sp, k, host, seq) {
		b.earlier++
		return
	}
	if r := b.flyingCoverer(sp, k, host, seq); r != nil {
		b.ride(r, hd, k, host, received)
		b.earlier++
		return
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
	e := &entry{key: k, sp: sp, host: host, seq: b.seq, at: received, prio: prio, heapIdx: -1}
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
