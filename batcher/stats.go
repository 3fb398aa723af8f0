package batcher

import "time"

// Stats is a snapshot of the batcher for metrics.
type Stats struct {
	PendingKeys  int       // distinct pending keys (not in flight), keys held under a coverer included
	InFlightKeys int       // keys in chunks not yet settled, covered keys included
	Handles      int       // handles known and not yet reported or dropped
	Oldest       time.Time // receive time of the oldest pending key (zero if none)
	Duplicates   uint64    // cumulative keys coalesced because an equal key was pending
	Covered      uint64    // cumulative keys coalesced because a pending broader key covers them
	EarlierCall  uint64    // cumulative keys settled by a call handed out before they were added (see Horizon)
	Chunks       uint64    // cumulative chunks handed out
	Remembered   int       // keys of successful calls remembered with their horizons
}

// Stats returns a snapshot of the batcher's state and counters.
func (b *Batcher) Stats() Stats {
	s := Stats{
		InFlightKeys: b.flying,
		Handles:      len(b.handles),
		Duplicates:   b.dups,
		Covered:      b.covered,
		EarlierCall:  b.earlier,
		Chunks:       b.handed,
		Remembered:   b.memory.size(),
	}
	for _, sp := range b.spaces {
		s.PendingKeys += len(sp.pending)
	}
	for _, g := range b.active {
		if t := g.oldest(); s.Oldest.IsZero() || t.Before(s.Oldest) {
			s.Oldest = t
		}
	}
	return s
}

// Coalesced returns Stats().Duplicates, Covered and EarlierCall without the
// walk over groups that the rest of Stats needs: the worker reads them
// after every Add.
func (b *Batcher) Coalesced() (duplicates, covered, earlierCall uint64) {
	return b.dups, b.covered, b.earlier
}
