package chaos

import (
	"fmt"
	"sort"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// rateStats are the fake Cloudflare's refusals for rate (real 429s, not
// injected ones), counted apart in the first seconds after a worker start:
// a new worker starts with full buckets while Cloudflare's may still be
// drained by its predecessor, so a 429 then is expected, and the worker
// must then wait.
type rateStats struct {
	real, realAfterStart int
	// repeated counts real 429s that arrived after an earlier 429 was
	// answered, within its Retry-After, with nothing accepted between. As
	// Cloudflare sees it, this includes calls the worker issued
	// concurrently, before the first 429 reached it; the worker logs tell
	// those apart (see logFigures.duringPause).
	repeated, repeatedAfterStart int
	examples                     []string
}

// afterStartWindow is how long after a worker start a 429 is put down to
// the restart.
const afterStartWindow = 5 * time.Second

func rateFigures(cf *fakeCF, calls []cftest.Call, incs []*incarnation) rateStats {
	var rs rateStats
	type refusal struct {
		answered   time.Time
		retryAfter time.Duration
	}
	var refusals []refusal // every 429 answered, real or injected
	var accepted []time.Time
	for _, c := range calls {
		a, ok := cf.answerOf(c)
		switch {
		case c.Outcome == cftest.OutcomeOK:
			accepted = append(accepted, c.At)
		case ok && a.status == 429:
			refusals = append(refusals, refusal{a.answered, a.retryAfter})
		}
	}
	sort.Slice(refusals, func(i, j int) bool { return refusals[i].answered.Before(refusals[j].answered) })
	sort.Slice(accepted, func(i, j int) bool { return accepted[i].Before(accepted[j]) })
	between := func(ts []time.Time, from, to time.Time) bool {
		i := sort.Search(len(ts), func(i int) bool { return ts[i].After(from) })
		return i < len(ts) && ts[i].Before(to)
	}
	var starts []time.Time
	for _, inc := range incs {
		starts = append(starts, inc.started)
	}
	for _, c := range calls {
		if c.Outcome != cftest.OutcomeRateLimited {
			continue
		}
		afterStart := false
		for _, s := range starts {
			if !c.At.Before(s) && c.At.Before(s.Add(afterStartWindow)) {
				afterStart = true
			}
		}
		rs.real++
		if afterStart {
			rs.realAfterStart++
		}
		// The latest 429 answered before this call arrived.
		i := sort.Search(len(refusals), func(i int) bool { return !refusals[i].answered.Before(c.At) }) - 1
		if i < 0 {
			continue
		}
		prev := refusals[i]
		if !c.At.Before(prev.answered.Add(prev.retryAfter)) ||
			between(accepted, prev.answered, c.At) || between(starts, prev.answered, c.At) {
			continue
		}
		rs.repeated++
		if afterStart {
			rs.repeatedAfterStart++
		} else if len(rs.examples) < 5 {
			rs.examples = append(rs.examples, fmt.Sprintf("%s call arrived at %s, %s after a 429 (Retry-After %s) was answered",
				c.Kind, c.At.Format("15:04:05.000000"), c.At.Sub(prev.answered), prev.retryAfter))
		}
	}
	return rs
}
