package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

// callKey identifies one key of an accepted call: where it was purged, how,
// and what.
type callKey struct{ zone, endpoint, kind, key string }

// callIndex holds, for every key an accepted call purged, the arrival time
// of the latest such call and how many calls purged it.
type callIndex struct {
	latest map[callKey]time.Time
	times  map[callKey][]time.Time // arrival times, in order
}

func indexCalls(calls []cftest.Call) *callIndex {
	ix := &callIndex{latest: map[callKey]time.Time{}, times: map[callKey][]time.Time{}}
	for _, c := range calls {
		if c.Outcome != cftest.OutcomeOK {
			continue
		}
		for _, k := range c.Keys {
			if c.Kind == "tags" {
				k = strings.ToLower(k) // tags are case-insensitive at Cloudflare
			}
			ck := callKey{strings.ToLower(c.ZoneID), c.Endpoint, c.Kind, k}
			if c.At.After(ix.latest[ck]) {
				ix.latest[ck] = c.At
			}
			ix.times[ck] = append(ix.times[ck], c.At)
		}
	}
	for _, ts := range ix.times {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	}
	return ix
}

func endpointOf(m intent.Mode) string {
	if m == intent.ModeInvalidate {
		return "invalidate_cache"
	}
	return "purge_cache"
}

// keyOf is how cftest records a key an intent holds.
func keyOf(zone string, mode intent.Mode, k intent.Key) callKey {
	ck := callKey{zone: strings.ToLower(zone), endpoint: endpointOf(mode), kind: k.Kind.String(), key: k.String()}
	if k.Kind == intent.KindEverything {
		ck.key = "purge_everything"
	}
	return ck
}

// coveredAt reports whether an accepted call that arrived at or after t
// purged k itself or a key that covers it (its host, a prefix of it, or the
// whole zone), and whether that was k itself.
func (ix *callIndex) coveredAt(zone string, mode intent.Mode, k intent.Key, t time.Time) (covered, exact bool) {
	if !ix.latest[keyOf(zone, mode, k)].Before(t) {
		return true, true
	}
	var broader []intent.Key
	if k.Kind == intent.KindFile || k.Kind == intent.KindPrefix {
		broader = append(broader, intent.Key{Kind: intent.KindHost, Value: intent.HostOf(k)})
		for _, p := range intent.CoverPaths(k) {
			broader = append(broader, intent.Key{Kind: intent.KindPrefix, Value: p})
		}
	}
	broader = append(broader, intent.Key{Kind: intent.KindEverything})
	for _, b := range broader {
		if intent.Covers(b, k) && !ix.latest[keyOf(zone, mode, b)].Before(t) {
			return true, false
		}
	}
	return false, false
}

// coverage is the outcome of checking every key of every valid intent.
type coverage struct {
	keys, exact, byBroader int
	lost                   []string // descriptions of keys never covered
	unbindable             []string // generated intents the zones refuse: a test bug
}

// checkCoverage checks that every key of every valid intent was covered by
// an accepted call of its zone and endpoint that arrived at Cloudflare no
// earlier than the intent was first published.
func checkCoverage(zones *intent.Zones, pubs []*pub, ix *callIndex) coverage {
	var cv coverage
	for _, p := range pubs {
		if p.in == nil {
			continue
		}
		parts, err := p.in.Bind(zones)
		if err != nil {
			cv.unbindable = append(cv.unbindable, fmt.Sprintf("%s: %v", p.id, err))
			continue
		}
		for _, part := range parts {
			for _, k := range part.Keys {
				cv.keys++
				covered, exact := ix.coveredAt(part.ZoneID, part.Mode, k, p.at)
				switch {
				case !covered:
					cv.lost = append(cv.lost, fmt.Sprintf("intent %s: %s key %q of zone %s (%s), published %s",
						p.id, k.Kind, k.String(), part.ZoneID, part.Mode, p.at.Format(time.RFC3339Nano)))
				case exact:
					cv.exact++
				default:
					cv.byBroader++
				}
			}
		}
	}
	return cv
}

// repeats counts keys purged more than once: all repeats, and those for
// which no intent holding the key was published after (a second before)
// the previous purge of it, which only a redelivery explains.
func repeats(zones *intent.Zones, pubs []*pub, ix *callIndex) (all, unexplained int) {
	published := map[callKey][]time.Time{}
	for _, p := range pubs {
		if p.in == nil {
			continue
		}
		parts, err := p.in.Bind(zones)
		if err != nil {
			continue
		}
		for _, part := range parts {
			for _, k := range part.Keys {
				ck := keyOf(part.ZoneID, part.Mode, k)
				published[ck] = append(published[ck], p.at)
			}
		}
	}
	for ck, ts := range ix.times {
		pts := published[ck]
		sort.Slice(pts, func(i, j int) bool { return pts[i].Before(pts[j]) })
		for i := 1; i < len(ts); i++ {
			all++
			from := ts[i-1].Add(-time.Second)
			j := sort.Search(len(pts), func(j int) bool { return pts[j].After(from) })
			if j == len(pts) || pts[j].After(ts[i]) {
				unexplained++
			}
		}
	}
	return all, unexplained
}
