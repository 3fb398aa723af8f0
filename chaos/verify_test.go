package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// The checks read what Cloudflare saw by its own rules (testutil.Coverage),
// not by the worker's: package intent's Covers and Bind are what the
// batcher relies on, so they cannot judge it.

// coverageOracle is testutil's oracle for the test zones.
func coverageOracle() *testutil.Coverage {
	var zs []testutil.Zone
	for _, z := range testZones() {
		zs = append(zs, testutil.Zone{ID: z.ID, Name: z.Name})
	}
	return testutil.NewCoverage(zs...)
}

// coverage is the outcome of checking every item of every valid intent.
type coverage struct {
	keys, exact, byBroader int
	lost                   []string // descriptions of items never purged
	unroutable             []string // generated intents the zones refuse: a test bug
}

// checkCoverage checks that every item of every valid intent was purged by
// an accepted call of its zone and endpoint that arrived at Cloudflare no
// earlier than the intent was first published.
func checkCoverage(pubs []*pub, calls []cftest.Call) coverage {
	oracle := coverageOracle()
	ix := testutil.IndexCalls(calls)
	var cv coverage
	for _, p := range pubs {
		if p.in == nil {
			continue
		}
		targets, err := oracle.Targets(p.in)
		if err != nil {
			cv.unroutable = append(cv.unroutable, fmt.Sprintf("%s: %v", p.id, err))
			continue
		}
		for _, t := range targets {
			cv.keys++
			switch purged, exact := ix.Purged(t, p.at); {
			case !purged:
				cv.lost = append(cv.lost, fmt.Sprintf("intent %s: %s of zone %s (%s), published %s",
					p.id, t.Target, t.ZoneID, t.Endpoint, p.at.Format(time.RFC3339Nano)))
			case exact:
				cv.exact++
			default:
				cv.byBroader++
			}
		}
	}
	return cv
}

// repeat is a target purged again with no intent holding it published
// since (a second before) the previous purge: only a redelivery explains
// it.
type repeat struct {
	what string
	at   time.Time // when the repeated purge arrived
}

// repeats counts targets purged more than once, and returns those that no
// newer intent explains.
func repeats(pubs []*pub, calls []cftest.Call) (all int, unexplained []repeat) {
	type where struct{ zone, endpoint, key string }
	purged := map[where][]time.Time{}
	for _, c := range calls {
		if c.Outcome != cftest.OutcomeOK {
			continue
		}
		for _, t := range testutil.CallTargets(c) {
			w := where{strings.ToLower(c.ZoneID), c.Endpoint, t.Key()}
			purged[w] = append(purged[w], c.At)
		}
	}
	oracle := coverageOracle()
	published := map[where][]time.Time{}
	for _, p := range pubs {
		if p.in == nil {
			continue
		}
		targets, err := oracle.Targets(p.in)
		if err != nil {
			continue
		}
		for _, t := range targets {
			w := where{t.ZoneID, t.Endpoint, t.Key()}
			published[w] = append(published[w], p.at)
		}
	}
	for w, ts := range purged {
		slices.SortFunc(ts, time.Time.Compare)
		pts := published[w]
		slices.SortFunc(pts, time.Time.Compare)
		for i := 1; i < len(ts); i++ {
			all++
			from := ts[i-1].Add(-time.Second)
			j := sort.Search(len(pts), func(j int) bool { return pts[j].After(from) })
			if j == len(pts) || pts[j].After(ts[i]) {
				unexplained = append(unexplained, repeat{
					what: fmt.Sprintf("%q in zone %s (%s)", strings.ReplaceAll(w.key, "\x00", " "), w.zone, w.endpoint),
					at:   ts[i],
				})
			}
		}
	}
	return all, unexplained
}
