package chaos

import (
	"bytes"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/worker"
)

// checkQuiet checks that no quiet segment saw a redelivery, and returns
// how many there were in all of them.
func (r *run) checkQuiet() uint64 {
	var n uint64
	for _, q := range r.quiets {
		if q.at != q.before {
			r.t.Errorf("%d messages redelivered between %s and %s, a segment without kills or NATS restarts: "+
				"the worker held them and failed to keep them alive",
				q.at-q.before, q.from.Format(time.TimeOnly), q.to.Format(time.TimeOnly))
		}
		n += q.at - q.before
	}
	return n
}

// checkHeldRedeliveries checks the worker's own count of messages
// redelivered to it while it still held them: only a NATS restart during
// an incarnation's life (a lost connection, lost keep-alives) may cause
// one. It returns the total and how many incarnations could be read.
func (r *run) checkHeldRedeliveries(incs []*incarnation) (total uint64, known int) {
	outages := r.ns.recorded()
	for _, inc := range incs {
		if !inc.redeliveredKnown {
			continue
		}
		known++
		total += inc.redeliveredHeld
		if inc.redeliveredHeld == 0 {
			continue
		}
		exposed := false
		for _, o := range outages {
			// Redeliveries after an outage come within ack_wait of it.
			if o.down.Before(inc.ended) && o.up.Add(2*chaosAckWait).After(inc.started) {
				exposed = true
			}
		}
		if exposed {
			r.t.Logf("worker %d: %d messages redelivered while it held them, across a NATS restart", inc.n, inc.redeliveredHeld)
		} else {
			r.t.Errorf("worker %d: %d messages redelivered while it held them, with NATS up all along", inc.n, inc.redeliveredHeld)
		}
	}
	return total, known
}

// checkDLQ checks that the dead-letter stream holds exactly the invalid
// intents, each with its body, subject and a reason naming the problem. An
// invalid intent may be there twice only if its publish was retried: the
// retry may have been stored again when the stream's duplicate record was
// lost with a NATS restart.
func (r *run) checkDLQ(all []*pub) (dead, repeated int) {
	t := r.t
	bad := map[string]*pub{}
	for _, p := range all {
		if p.in == nil {
			bad[p.id] = p
		}
	}
	seen := map[string]int{}
	msgs := dlqMessages(t, r.js)
	for _, m := range msgs {
		id := m.Header.Get(worker.HeaderOrigID)
		p := bad[id]
		if p == nil {
			t.Errorf("dead-lettered message %q is not an invalid intent: Purge-Error %q, body %.200q",
				id, m.Header.Get(worker.HeaderError), m.Data)
			continue
		}
		seen[id]++
		if !bytes.Equal(m.Data, p.bad.body) {
			t.Errorf("dead letter %s: body %.200q, want the original %.200q", id, m.Data, p.bad.body)
		}
		if got := m.Header.Get(worker.HeaderSubject); got != p.subject {
			t.Errorf("dead letter %s: Purge-Subject %q, want %q", id, got, p.subject)
		}
		if reason := m.Header.Get(worker.HeaderError); !strings.Contains(strings.ToLower(reason), strings.ToLower(p.bad.mention)) {
			t.Errorf("dead letter %s: Purge-Error %q does not mention %q", id, reason, p.bad.mention)
		}
	}
	for id, p := range bad {
		switch n := seen[id]; {
		case n == 0:
			t.Errorf("invalid intent %s (%.100q) was not dead-lettered", id, p.bad.body)
		case n > 1 && p.attempts == 1:
			t.Errorf("invalid intent %s was dead-lettered %d times, but published once", id, n)
		case n > 1:
			repeated += n - 1
		}
	}
	return len(msgs), repeated
}

// checkLogs reads every incarnation's log: no secret, no race report, no
// panic.
func (r *run) checkLogs(incs []*incarnation) {
	t := r.t
	for _, inc := range incs {
		wl, err := readWorkerLog(inc.logPath)
		if err != nil {
			t.Errorf("worker log %d: %v", inc.n, err)
			continue
		}
		for name, s := range map[string]string{"Cloudflare token": cfToken, "ingest token": ingestToken} {
			if strings.Contains(wl.raw, s) {
				t.Errorf("worker log %d shows the %s", inc.n, name)
			}
		}
		for _, l := range wl.bad {
			if strings.Contains(l, "DATA RACE") || strings.Contains(l, "panic") || strings.Contains(l, "fatal error") {
				t.Errorf("worker log %d (%s): %s", inc.n, inc.logPath, l)
			}
		}
	}
}

// checkRate checks the worker's pacing as Cloudflare saw it: no call while
// a Retry-After ran (so no 429 said twice), and real 429s outside the
// moments after a start only as rare as jitter makes them.
func (r *run) checkRate(rs rateStats, accepted int) {
	if rs.duringPause > 0 {
		r.t.Errorf("%d calls (%d of them refused for rate again) arrived at Cloudflare while the worker was to wait for a Retry-After, e.g.:\n  %s",
			rs.duringPause, rs.repeated, strings.Join(rs.examples, "\n  "))
	}
	if n, most := rs.real-rs.realAfterStart, maxRealRateRefusals(accepted); n > most {
		r.t.Errorf("%d real 429s outside the %s after a worker start (at most %d for %d accepted calls): the worker does not keep to its rate limits",
			n, afterStartWindow, most, accepted)
	}
}

// redeliveryWindow is how long after a SIGKILL or a NATS restart its
// consequences may show: messages the killed worker held (or whose acks
// the restart lost) come back after ack_wait, and are purged again once
// the next worker has started and sent them.
const redeliveryWindow = 6 * chaosAckWait

// checkRepeats checks that a target purged again with no newer intent was
// purged again soon after a SIGKILL or a NATS restart, which redelivers
// messages whose purge had succeeded. Anywhere else, a repeat means the
// worker purged a message twice on its own.
// It returns the longest time from a disruption to a repeat it explains.
func (r *run) checkRepeats(unexplained []repeat, incs []*incarnation) (latest time.Duration) {
	var disruptions []time.Time
	for _, inc := range incs {
		if inc.killed {
			disruptions = append(disruptions, inc.ended)
		}
	}
	for _, o := range r.ns.recorded() {
		disruptions = append(disruptions, o.down)
	}
	bad := 0
	for _, rp := range unexplained {
		since := time.Duration(-1) // from the latest disruption before it
		for _, d := range disruptions {
			if s := rp.at.Sub(d); s >= 0 && (since < 0 || s < since) {
				since = s
			}
		}
		if since >= 0 && since < redeliveryWindow {
			latest = max(latest, since)
		} else {
			if bad < 5 {
				r.t.Errorf("%s purged again at %s with no newer intent and no kill or NATS restart in the %s before",
					rp.what, rp.at.Format("15:04:05.000000"), redeliveryWindow)
			}
			bad++
		}
	}
	if bad > 5 {
		r.t.Errorf("... %d such repeats in all", bad)
	}
	return latest
}

// checkWorkerCounts compares the worker's own counts of its calls, read
// from /metrics just before each incarnation ended, with what Cloudflare
// received in its lifetime: a call counted as accepted or refused for rate
// was answered so. A worker stopped cleanly had nothing in flight, so its
// counts match exactly; a killed one was read a moment before the kill.
func (r *run) checkWorkerCounts(calls []cftest.Call, incs []*incarnation) (read int) {
	for _, inc := range incs {
		if inc.calls == nil {
			continue
		}
		read++
		seen := map[string]float64{}
		for _, c := range calls {
			if c.At.Before(inc.started) || c.At.After(inc.ended) {
				continue
			}
			switch {
			case c.Outcome == cftest.OutcomeOK:
				seen["ok"]++
			case c.Status == 429:
				seen["rate_limited"]++
			}
		}
		for _, outcome := range []string{"ok", "rate_limited"} {
			got, want := inc.calls[outcome], seen[outcome]
			if got > want || inc.stopped && got != want {
				r.t.Errorf("worker %d counted %v calls %s; Cloudflare answered %v so in its lifetime (stopped cleanly: %v)",
					inc.n, got, outcome, want, inc.stopped)
			}
		}
	}
	return read
}

// checkExits checks that every incarnation the test did not kill or stop
// ended because it could not start while NATS was down (natsconn fails
// fast at start-up; a running worker reconnects forever). It returns how
// many did.
func (r *run) checkExits(incs []*incarnation) int {
	outages := r.ns.recorded()
	n := 0
	for _, inc := range incs {
		if inc.killed || inc.stopped {
			continue
		}
		explained := false
		for _, o := range outages {
			if !inc.started.Before(o.down.Add(-2*time.Second)) && inc.started.Before(o.up.Add(15*time.Second)) {
				explained = true
			}
		}
		if explained {
			n++
			continue
		}
		wl, _ := readWorkerLog(inc.logPath)
		tail := wl.raw
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		r.t.Errorf("worker %d exited by itself with status %d after %s, with NATS up:\n%s",
			inc.n, inc.exitCode, inc.ended.Sub(inc.started).Round(time.Millisecond), tail)
	}
	return n
}
