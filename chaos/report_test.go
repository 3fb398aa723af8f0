package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// figures are what a run reports.
type figures struct {
	total                       time.Duration
	published, valid, retried   int
	cv                          coverage
	calls, accepted             int
	outcomes, faults            map[string]int
	kills, natsRestarts         int
	startFailures, incarnations int
	repeats                     int
	unexplained                 []repeat
	repeatLatest                time.Duration // from its kill or NATS restart to the latest repeat
	rate                        rateStats
	rateLimitedSeen             float64 // 429s the worker counted, over the incarnations read
	countsRead                  int     // incarnations whose /metrics were read
	redelivered, quietGrowth    uint64
	quiets                      int
	held                        uint64
	heldKnown                   int
	dead, dlqRepeats            int
}

// verify checks the outcome of a run and reports its figures.
func (r *run) verify(pubs *publishers, faults *faultInjector, redelivered uint64, stopErr error, logDir string) {
	t := r.t
	all := pubs.all()
	calls := r.cf.Calls()
	f := figures{total: r.pl.total, published: len(all), calls: len(calls), outcomes: callCounts(calls),
		faults: faults.set(), kills: r.kills, natsRestarts: len(r.ns.recorded()),
		redelivered: redelivered, quiets: len(r.quiets)}

	for _, err := range pubs.refused() {
		t.Errorf("publish: %v", err)
	}
	f.cv = checkCoverage(all, calls)
	for _, u := range f.cv.unroutable {
		t.Errorf("the generator made an intent the zones refuse: %s", u)
	}
	for i, l := range f.cv.lost {
		if i == 20 {
			t.Errorf("... and %d more lost keys", len(f.cv.lost)-20)
			break
		}
		t.Errorf("lost: %s", l)
	}
	f.dead, f.dlqRepeats = r.checkDLQ(all)
	f.quietGrowth = r.checkQuiet()
	if stopErr != nil {
		t.Errorf("final stop: %v", stopErr)
	}
	incs := r.wp.incarnations()
	f.incarnations = len(incs)
	r.checkLogs(incs)
	f.startFailures = r.checkExits(incs)
	f.held, f.heldKnown = r.checkHeldRedeliveries(incs)
	f.rate = rateFigures(r.cf, calls, incs)
	f.countsRead = r.checkWorkerCounts(calls, incs)
	for _, inc := range incs {
		f.rateLimitedSeen += inc.calls["rate_limited"]
	}
	f.repeats, f.unexplained = repeats(all, calls)
	f.repeatLatest = r.checkRepeats(f.unexplained, incs)
	for _, p := range all {
		if p.in != nil {
			f.valid++
		}
		if p.attempts > 1 {
			f.retried++
		}
	}
	for _, c := range calls {
		if c.Outcome == cftest.OutcomeOK {
			f.accepted++
		}
	}
	r.checkRate(f.rate, f.accepted)
	report := f.String()
	t.Log(report)
	if os.Getenv("PURGE_CHAOS_KEEP") != "" {
		_ = os.WriteFile(filepath.Join(logDir, "report.txt"), []byte(report), 0o644)
	}
}

func (f figures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos figures (%s of chaos, race detector %v):\n", f.total, raceEnabled)
	fmt.Fprintf(&b, "  intents published: %d (%d valid, %d invalid); %d publishes retried across NATS restarts\n",
		f.published, f.valid, f.published-f.valid, f.retried)
	fmt.Fprintf(&b, "  keys of valid intents: %d; covered by a later accepted call: %d by the key itself, %d by a host or prefix; lost: %d\n",
		f.cv.keys, f.cv.exact, f.cv.byBroader, len(f.cv.lost))
	fmt.Fprintf(&b, "  calls received by the fake Cloudflare: %d; by outcome: %s\n", f.calls, sortedCounts(f.outcomes))
	fmt.Fprintf(&b, "  faults set: %s\n", sortedCounts(f.faults))
	fmt.Fprintf(&b, "  worker SIGKILLs: %d; NATS restarts: %d; worker start-up failures while NATS was down: %d; incarnations: %d\n",
		f.kills, f.natsRestarts, f.startFailures, f.incarnations)
	fmt.Fprintf(&b, "  accepted calls: %d; purges repeated: %d, of which %d with no newer intent (redeliveries after kills and NATS restarts, "+
		"the latest %s after its disruption; %s allowed)\n",
		f.accepted, f.repeats, len(f.unexplained), f.repeatLatest.Round(time.Millisecond), redeliveryWindow)
	fmt.Fprintf(&b, "  refused for rate (real 429s): %d, of which %d within %s of a worker start; "+
		"calls that arrived during a Retry-After, as Cloudflare saw them: %d, of which %d refused for rate again\n",
		f.rate.real, f.rate.realAfterStart, afterStartWindow, f.rate.duringPause, f.rate.repeated)
	for _, e := range f.rate.examples {
		fmt.Fprintf(&b, "    during a Retry-After: %s\n", e)
	}
	fmt.Fprintf(&b, "  429s the worker counted (/metrics, %d of %d incarnations read): %v\n",
		f.countsRead, f.incarnations, f.rateLimitedSeen)
	fmt.Fprintf(&b, "  redeliveries (consumer, cumulative): %d; in %d quiet segments: %d; "+
		"redeliveries of held messages (worker metric, %d of %d incarnations read): %d\n",
		f.redelivered, f.quiets, f.quietGrowth, f.heldKnown, f.incarnations, f.held)
	fmt.Fprintf(&b, "  dead-lettered: %d (%d repeats of invalid intents whose publish was retried)\n", f.dead, f.dlqRepeats)
	return b.String()
}
