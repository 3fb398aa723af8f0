package batcher

import "slices"

// Handle is an opaque message handle assigned by the worker. A handle must
// never be reused: once reported (acked or dead) or dropped, the batcher
// forgets it.
type Handle uint64

// handle is what the batcher knows about one message.
type handle struct {
	id          Handle
	outstanding int      // needs not yet satisfied by a successful chunk
	done        bool     // reported or dropped: never counted again
	entries     []*entry // one per need; follow entry.resolve
	one         [1]*entry
}

// Drop forgets handle h, for the worker to nak it (its account's token was
// revoked, or shutdown). Its pending keys that no other handle needs are
// removed; its keys in flight stay in flight but will not ack h. Drop of an
// unknown or already reported handle is a no-op.
func (b *Batcher) Drop(h Handle) {
	hd := b.handles[h]
	if hd == nil {
		return
	}
	b.forget(hd)
}

// forget retires hd and releases its keys.
func (b *Batcher) forget(hd *handle) {
	hd.done = true
	delete(b.handles, hd.id)
	for _, e := range hd.entries {
		b.release(e.resolve())
	}
}

// release takes one live holder away from e and removes e if it was pending
// and nothing needs it any more. An entry in flight is left to its chunk.
func (b *Batcher) release(e *entry) {
	switch e.state {
	case statePending:
		e.live--
		if !e.needed() {
			b.remove(e)
		}
	case stateInFlight:
		e.live--
	}
}

// Holding returns, in ascending order, the handles that still need at least
// one key (pending or in flight) in a zone accepted by zone; a nil zone
// accepts every zone. The worker naks them when an account is paused.
func (b *Batcher) Holding(zone func(zoneID string) bool) []Handle {
	var out []Handle
	for id, hd := range b.handles {
		for _, e := range hd.entries {
			e = e.resolve()
			if e.state != stateDone && (zone == nil || zone(e.sp.zone)) {
				out = append(out, id)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
