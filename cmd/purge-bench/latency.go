package main

import (
	"slices"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/callkeys"
)

// sent is one published intent, remembered to find the calls that covered
// it.
type sent struct {
	at    time.Time // when publishing it started
	parts []intent.Part
}

// callIndex finds, for a key and a time, the first accepted call at or
// after that time that purged the key or a key covering it.
type callIndex map[space]*callSpace

// callSpace holds the receive times of the accepted calls of one zone and
// mode, by what they purged, each list sorted.
type callSpace struct {
	exact      map[intent.Key][]time.Time
	hosts      map[string][]time.Time
	prefixes   map[string][]time.Time
	everything []time.Time
}

// indexCalls builds the index from cftest's record.
func indexCalls(calls []cftest.Call) callIndex {
	idx := callIndex{}
	for _, c := range calls {
		if c.Outcome != cftest.OutcomeOK {
			continue
		}
		sp := space{zone: strings.ToLower(c.ZoneID)}
		if c.Endpoint == "invalidate_cache" {
			sp.mode = intent.ModeInvalidate
		}
		cs := idx[sp]
		if cs == nil {
			cs = &callSpace{exact: map[intent.Key][]time.Time{}, hosts: map[string][]time.Time{}, prefixes: map[string][]time.Time{}}
			idx[sp] = cs
		}
		for _, k := range callkeys.Of(c) {
			switch k.Kind {
			case intent.KindEverything:
				cs.everything = append(cs.everything, c.At)
				continue
			case intent.KindHost:
				cs.hosts[k.Value] = append(cs.hosts[k.Value], c.At)
			case intent.KindPrefix:
				cs.prefixes[k.Value] = append(cs.prefixes[k.Value], c.At)
			}
			cs.exact[k] = append(cs.exact[k], c.At)
		}
	}
	// cftest stamps a call when it arrives but records it when it has
	// decided, so concurrent calls can be recorded slightly out of order.
	for _, cs := range idx {
		slices.SortFunc(cs.everything, time.Time.Compare)
		for _, m := range []map[string][]time.Time{cs.hosts, cs.prefixes} {
			for _, ts := range m {
				slices.SortFunc(ts, time.Time.Compare)
			}
		}
		for _, ts := range cs.exact {
			slices.SortFunc(ts, time.Time.Compare)
		}
	}
	return idx
}

// covered returns the receive time of the first accepted call at or after
// t that purged k, or a key that covers k, in sp.
func (idx callIndex) covered(sp space, k intent.Key, t time.Time) (time.Time, bool) {
	cs := idx[sp]
	if cs == nil {
		return time.Time{}, false
	}
	var best time.Time
	found := false
	consider := func(ts []time.Time) {
		if at, ok := firstFrom(ts, t); ok && (!found || at.Before(best)) {
			best, found = at, true
		}
	}
	consider(cs.exact[k])
	consider(cs.everything) // covers every key, and is a duplicate of itself
	if k.Kind == intent.KindFile || k.Kind == intent.KindPrefix {
		consider(cs.hosts[intent.HostOf(k)])
		for _, p := range intent.CoverPaths(k) {
			consider(cs.prefixes[p])
		}
	}
	return best, found
}

// firstFrom returns the first time in the sorted ts that is not before t.
func firstFrom(ts []time.Time, t time.Time) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(ts, t, time.Time.Compare)
	if i == len(ts) {
		return time.Time{}, false
	}
	return ts[i], true
}

// latencies returns, for every intent, the time from when the worker could
// first see it (its publish time, or from, the worker's start, if later)
// to the last of the calls that covered its keys, and how many intents had
// a key that no call issued after their publish covered (must be 0).
func latencies(idx callIndex, intents []sent, from time.Time) (lat []time.Duration, uncovered int) {
	lat = make([]time.Duration, 0, len(intents))
	for _, in := range intents {
		avail := in.at
		if from.After(avail) {
			avail = from
		}
		var worst time.Duration
		ok := true
		for _, p := range in.parts {
			for _, k := range p.Keys {
				at, found := idx.covered(space{p.ZoneID, p.Mode}, k, in.at)
				if !found {
					ok = false
					continue
				}
				worst = max(worst, at.Sub(avail))
			}
		}
		if !ok {
			uncovered++
			continue
		}
		lat = append(lat, worst)
	}
	return lat, uncovered
}

// percentile returns the nearest-rank p-th percentile of sorted d, or 0.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p/100+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}
