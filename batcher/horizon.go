package batcher

import (
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// Horizons. A call purges the content as it was when the call was issued, so
// it serves every message stored in the stream before that moment, whether
// the worker has received it yet or not. The batcher knows "stored before"
// without clocks, by stream sequence: every sequence added, and every
// sequence the worker passes to Stored (the stream's last sequence, read
// before it asks Next for a chunk), was stored before the next chunk is
// handed out. The highest of them is the chunk's horizon.
//
// A successful chunk settles a key of a message stored at seq when seq is at
// or below its horizon and one of its keys equals or covers the key
// (intent.Covers). Messages added after the chunk was handed out benefit
// too: while it is in flight they ride along with it; once it has succeeded
// the batcher remembers its keys with the horizon (RememberKeys of them, the
// lowest horizons dropped first) and Add settles such keys at once. A key of
// a message stored after every covering chunk's horizon needs a new call.
//
// Invariant (the property tests check it against a model): no handle is
// settled by a chunk whose horizon is below the handle's sequence.

// Stored records that the stream has stored every sequence up to seq (the
// worker read it as the stream's last sequence): chunks handed out from now
// on carry a horizon of at least seq. Lower values than already known
// change nothing; a stream that was deleted and created again is reported
// with Rewind.
func (b *Batcher) Stored(seq uint64) {
	b.stored = max(b.stored, seq)
}

// Rewind forgets every horizon: the stream was deleted and created again,
// so its sequences start over and no earlier call says anything about the
// messages it will hold. Chunks in flight take no more messages along;
// those they already carry are settled by them as usual.
func (b *Batcher) Rewind() {
	b.stored, b.delivered = 0, 0
	b.memory.clear()
	for _, c := range b.chunks {
		c.horizon = 0
		for _, r := range c.roots {
			r.horizon = 0
		}
	}
}

// sawSeq records that the message stored at seq was added.
func (b *Batcher) sawSeq(seq uint64) {
	b.stored = max(b.stored, seq)
	if seq > b.delivered {
		b.delivered = seq
		// A remembered horizon below every sequence delivered from now
		// on can only serve redeliveries: let it go.
		b.memory.forgetBelow(seq)
	}
}

// kindCount counts an index's keys by kind, so that lookups skip the kinds
// it does not hold (most keys are files, and listing the prefixes that
// could cover a file allocates).
type kindCount [len(intent.Kinds)]int

// candidates calls visit with every key that equals or may cover k in one
// space and whose kind n holds, the broadest first: purge_everything, k's
// host, the prefixes that could cover it, k itself. It stops and returns
// true when visit does. Whether a candidate really covers k is
// intent.Covers's decision, made by the caller.
func candidates(k intent.Key, host string, n *kindCount, visit func(intent.Key) bool) bool {
	if k.Kind != intent.KindEverything && n[intent.KindEverything] > 0 && visit(everything) {
		return true
	}
	if hasHost(k.Kind) {
		if n[intent.KindHost] > 0 && visit(intent.Key{Kind: intent.KindHost, Value: host}) {
			return true
		}
		if n[intent.KindPrefix] > 0 {
			for _, p := range intent.CoverPaths(k) {
				if visit(intent.Key{Kind: intent.KindPrefix, Value: p}) {
					return true
				}
			}
		}
	}
	return n[k.Kind] > 0 && visit(k)
}

// settles reports whether a call with key c settles key k.
func settles(c, k intent.Key) bool {
	return c == k || intent.Covers(c, k)
}

// recalled reports whether a remembered call settles k for a message stored
// at seq.
func (b *Batcher) recalled(sp *space, k intent.Key, host string, seq uint64) bool {
	if len(sp.memo) == 0 {
		return false
	}
	return candidates(k, host, &sp.memoCount, func(c intent.Key) bool {
		m := sp.memo[c]
		return m != nil && m.horizon >= seq && settles(c, k)
	})
}

// flyingCoverer returns a root in flight whose chunk settles k for a
// message stored at seq, or nil.
func (b *Batcher) flyingCoverer(sp *space, k intent.Key, host string, seq uint64) *entry {
	if len(sp.flying) == 0 {
		return nil
	}
	var found *entry
	candidates(k, host, &sp.flyCount, func(c intent.Key) bool {
		if r := sp.flying[c]; r != nil && r.horizon >= seq && settles(c, k) {
			found = r
			return true
		}
		return false
	})
	return found
}

// ride attaches hd's need for k to the root r in flight: r itself when it
// is k, else a new entry held under r, in flight with it.
func (b *Batcher) ride(r *entry, hd *handle, k intent.Key, host string, received time.Time) {
	if r.key == k {
		b.hold(r, hd)
		return
	}
	b.seq++
	x := &entry{key: k, sp: r.sp, host: host, seq: b.seq, at: received, heapIdx: -1, state: stateInFlight}
	b.hold(x, hd)
	linkChild(r, x)
	b.flying++
}

// fly indexes the root r, just handed out in a chunk with horizon h, so
// that later messages stored at or below h can ride along with it.
func (b *Batcher) fly(r *entry, h uint64) {
	r.horizon = h
	sp := r.sp
	if sp.flying == nil {
		sp.flying = make(map[intent.Key]*entry)
	}
	// Chunks are handed out with non-decreasing horizons: the latest
	// chunk with a key serves at least as many messages as an earlier one.
	if sp.flying[r.key] == nil {
		sp.flyCount[r.key.Kind]++
	}
	sp.flying[r.key] = r
}

// land takes the root r, whose chunk was just settled, out of the flight
// index.
func (b *Batcher) land(r *entry) {
	if sp := r.sp; sp.flying[r.key] == r {
		delete(sp.flying, r.key)
		sp.flyCount[r.key.Kind]--
	}
}
