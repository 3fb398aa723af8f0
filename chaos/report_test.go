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
	repeats, unexplained        int
	rate                        rateStats
	logs                        logFigures
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
	zones := intentZones(t)
	ix := indexCalls(calls)
	f := figures{total: r.pl.total, published: len(all), calls: len(calls), outcomes: callCounts(calls),
		faults: faults.set(), kills: r.kills, natsRestarts: len(r.ns.recorded()),
		redelivered: redelivered, quiets: len(r.quiets)}

	for _, err := range pubs.refused() {
		t.Errorf("publish: %v", err)
	}
	f.cv = checkCoverage(zones, all, ix)
	for _, u := range f.cv.unbindable {
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
	f.logs = r.checkLogs(incs)
	f.startFailures = r.checkExits(incs)
	f.held, f.heldKnown = r.checkHeldRedeliveries(incs)
	f.rate = rateFigures(r.cf, calls, incs)
	f.repeats, f.unexplained = repeats(zones, all, ix)
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
	fmt.Fprintf(&b, "  accepted calls: %d; key purges repeated: %d, of which %d with no newer intent (redeliveries after kills)\n",
		f.accepted, f.repeats, f.unexplained)
	fmt.Fprintf(&b, "  refused for rate (real 429s): %d, of which %d within %s of a worker start; "+
		"429s after a 429 within its Retry-After with nothing accepted between, as Cloudflare saw them: %d, of which %d after a start\n",
		f.rate.real, f.rate.realAfterStart, afterStartWindow, f.rate.repeated, f.rate.repeatedAfterStart)
	for _, e := range f.rate.examples {
		fmt.Fprintf(&b, "    repeated 429: %s\n", e)
	}
	fmt.Fprintf(&b, "  Retry-After pauses in the worker logs: %d; calls started during one: %d\n", f.logs.pauses, len(f.logs.duringPause))
	fmt.Fprintf(&b, "  redeliveries (consumer, cumulative): %d; in %d quiet segments: %d; "+
		"redeliveries of held messages (worker metric, %d of %d incarnations read): %d\n",
		f.redelivered, f.quiets, f.quietGrowth, f.heldKnown, f.incarnations, f.held)
	fmt.Fprintf(&b, "  dead-lettered: %d (%d repeats of invalid intents whose publish was retried)\n", f.dead, f.dlqRepeats)
	return b.String()
}
