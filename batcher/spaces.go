package batcher

import (
	"cmp"
	"slices"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// SpaceStats is the pending state of one zone and mode, for operators.
type SpaceStats struct {
	ZoneID string
	Mode   intent.Mode
	// PendingKeys counts distinct pending keys, keys held under a pending
	// coverer included.
	PendingKeys int
	// Oldest is the receive time of the oldest pending key.
	Oldest time.Time
	// Due is when Next would first hand out a chunk of this zone and mode
	// under the filter given to Spaces, rate tokens aside.
	Due time.Time
}

// Spaces returns the zones and modes that have pending keys, oldest first,
// with when each is due under f (see dueAt; f's Zone, Flex and Files are
// not consulted).
func (b *Batcher) Spaces(f Filter) []SpaceStats {
	byKey := make(map[*space]*SpaceStats)
	var out []*SpaceStats
	stuck := b.stuck(f)
	for _, g := range b.active {
		oldest, due := g.oldest(), b.dueAt(g, f, stuck)
		s := byKey[g.sp]
		if s == nil {
			s = &SpaceStats{ZoneID: g.sp.zone, Mode: g.sp.mode, PendingKeys: len(g.sp.pending), Oldest: oldest, Due: due}
			byKey[g.sp] = s
			out = append(out, s)
			continue
		}
		if oldest.Before(s.Oldest) {
			s.Oldest = oldest
		}
		if due.Before(s.Due) {
			s.Due = due
		}
	}
	res := make([]SpaceStats, len(out))
	for i, s := range out {
		res[i] = *s
	}
	slices.SortFunc(res, func(a, b SpaceStats) int {
		return cmp.Or(a.Oldest.Compare(b.Oldest), cmp.Compare(a.ZoneID, b.ZoneID), cmp.Compare(a.Mode, b.Mode))
	})
	return res
}
