package chaos

import (
	"fmt"
	"sort"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// rateStats are what Cloudflare saw of the worker's pacing: its refusals
// for rate (real 429s, not injected ones), counted apart in the first
// seconds after a worker start (a new worker starts with full buckets while
// Cloudflare's may still be drained by its predecessor, so a 429 then is
// expected, and the worker must then wait); and the calls that arrived
// while the worker should have been waiting for a Retry-After.
type rateStats struct {
	real, realAfterStart int
	// duringPause counts calls that arrived more than pauseSlack after a
	// 429 was answered and before its Retry-After ran out, with no worker
	// start between: the worker had the answer and was to wait.
	duringPause int
	// repeated counts the real 429s among them: Cloudflare had to say it
	// twice.
	repeated int
	examples []string
}

// afterStartWindow is how long after a worker start a 429 is put down to
// the restart.
const afterStartWindow = 5 * time.Second

// pauseSlack is how long after Cloudflare answered a 429 a call may still
// arrive without having ignored it: it was issued, concurrently, before
// the answer reached the worker, and the loopback round trip and the
// scheduling of a loaded machine delayed it. A call that ignores the pause
// can come at any time within it, usually much later.
const pauseSlack = 250 * time.Millisecond

// maxRealRateRefusals is how many real 429s a run may see outside the
// windows after starts: the worker's buckets run on its send times and
// Cloudflare's on arrival times, and its 10% margin absorbs the jitter
// between the two except in rare stalls of a loaded machine. A worker
// that ignored its limits would see them by the hundred.
func maxRealRateRefusals(accepted int) int { return max(2, accepted/100) }

func rateFigures(cf *fakeCF, calls []cftest.Call, incs []*incarnation) rateStats {
	var rs rateStats
	type refusal struct {
		answered   time.Time
		retryAfter time.Duration
	}
	var refusals []refusal // every 429 answered, real or injected
	for _, c := range calls {
		if a, ok := cf.answerOf(c); ok && a.status == 429 {
			refusals = append(refusals, refusal{a.answered, a.retryAfter})
		}
	}
	sort.Slice(refusals, func(i, j int) bool { return refusals[i].answered.Before(refusals[j].answered) })
	var starts []time.Time
	for _, inc := range incs {
		starts = append(starts, inc.started)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	startedBetween := func(from, to time.Time) bool {
		i := sort.Search(len(starts), func(i int) bool { return starts[i].After(from) })
		return i < len(starts) && starts[i].Before(to)
	}
	for _, c := range calls {
		real := c.Outcome == cftest.OutcomeRateLimited
		if real {
			rs.real++
			if startedBetween(c.At.Add(-afterStartWindow), c.At.Add(time.Nanosecond)) {
				rs.realAfterStart++
			}
		}
		// Any 429 answered before this call arrived whose Retry-After
		// still ran.
		n := sort.Search(len(refusals), func(i int) bool { return !refusals[i].answered.Before(c.At) })
		for _, r := range refusals[:n] {
			if !c.At.After(r.answered.Add(pauseSlack)) || !c.At.Before(r.answered.Add(r.retryAfter)) ||
				startedBetween(r.answered, c.At) {
				continue
			}
			rs.duringPause++
			if real {
				rs.repeated++
			}
			if len(rs.examples) < 5 {
				rs.examples = append(rs.examples, fmt.Sprintf("%s call (%s) arrived at %s, %s after a 429 (Retry-After %s) was answered",
					c.Kind, c.Outcome, c.At.Format("15:04:05.000000"), c.At.Sub(r.answered), r.retryAfter))
			}
			break
		}
	}
	return rs
}
