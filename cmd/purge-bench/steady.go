package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// runSteady publishes CMS intents with Poisson arrivals at s.rate per
// second for s.steadyFor (scaled) to a worker that is already running. The
// default plan is Enterprise: at 2,000 intents/s the URL rate of the
// smaller plans, not the worker, would set the latency.
func runSteady(ctx context.Context, s settings) (result, error) {
	plan := s.planOr("enterprise")
	r, err := newRig(ctx, s.rigFor("steady", plan, s.unlimited))
	if err != nil {
		return result{}, err
	}
	defer r.close()
	if err := r.startIdle(ctx, s.timeout); err != nil {
		return result{}, err
	}
	t := newTally(r.plan)
	cpu0 := cpuTime()
	start := time.Now()
	recs, err := r.publishPoisson(ctx, s.rate, time.Duration(float64(s.steadyFor)*s.scale), t)
	if err != nil {
		return result{}, err
	}
	pubSecs := time.Since(start).Seconds()
	end, err := waitEmpty(ctx, r.js, r.cfg.Stream, s.timeout)
	if err != nil {
		return result{}, err
	}
	m, err := r.finish(ctx, measured{started: start, drained: end, cpu: cpuTime() - cpu0, peakRSS: peakRSS()})
	if err != nil {
		return result{}, err
	}
	res := r.result("steady", plan, s, t, m)
	res.PublishSeconds = pubSecs
	offered := float64(len(recs)) / pubSecs
	res.Notes = fmt.Sprintf("offered %.0f intents/s for %.1fs; drain_s runs from the first publish", offered, pubSecs)
	lat, uncovered := latencies(indexCalls(m.calls), recs, time.Time{})
	res.setLatency(lat)
	res.Uncovered = uncovered
	return res, nil
}

// publishPoisson publishes CMS intents with exponentially distributed gaps
// averaging 1/rate for span, at least one, and waits for the stream to
// store them. A publish that falls behind its schedule goes at once, so
// the offered rate holds even if one publish was slow.
func (r *rig) publishPoisson(ctx context.Context, rate float64, span time.Duration, t *tally) ([]sent, error) {
	g := newCMSGen(5, 5000, 2000, 0.10, len(benchZones))
	gaps := rand.New(rand.NewPCG(5, 0xa77))
	var recs []sent
	start := time.Now()
	next := start
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i++ {
		next = next.Add(time.Duration(gaps.ExpFloat64() / rate * float64(time.Second)))
		if next.Sub(start) > span && i > 0 {
			break
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		sn, err := r.publish(g.next(i))
		if err != nil {
			return nil, err
		}
		t.add(sn.parts)
		recs = append(recs, sn)
	}
	return recs, r.flush(ctx)
}

// runIdle publishes lone one-URL intents, each once the previous one is
// acked and the worker has been idle for half a window, and measures how
// soon each one's call is issued.
func runIdle(ctx context.Context, s settings) (result, error) {
	plan := s.planOr("pro")
	r, err := newRig(ctx, s.rigFor("idle", plan, s.unlimited))
	if err != nil {
		return result{}, err
	}
	defer r.close()
	if err := r.startIdle(ctx, s.timeout); err != nil {
		return result{}, err
	}
	g := newCMSGen(6, 5000, 1, 0, len(benchZones))
	t := newTally(r.plan)
	var recs []sent
	cpu0 := cpuTime()
	start := time.Now()
	var end time.Time
	pause := time.NewTimer(0)
	defer pause.Stop()
	for i := range s.n(10, 1) {
		in := g.next(i)
		in.Files = in.Files[:1]
		sn, err := r.publish(in)
		if err != nil {
			return result{}, err
		}
		t.add(sn.parts)
		recs = append(recs, sn)
		if err := r.flush(ctx); err != nil {
			return result{}, err
		}
		if end, err = waitEmpty(ctx, r.js, r.cfg.Stream, s.timeout); err != nil {
			return result{}, err
		}
		pause.Reset(s.window / 2)
		select {
		case <-pause.C:
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
	}
	m, err := r.finish(ctx, measured{started: start, drained: end, cpu: cpuTime() - cpu0, peakRSS: peakRSS()})
	if err != nil {
		return result{}, err
	}
	res := r.result("idle", plan, s, t, m)
	res.Notes = "drain_s and intents/s include the pauses between intents"
	lat, uncovered := latencies(indexCalls(m.calls), recs, time.Time{})
	res.setLatency(lat)
	res.Uncovered = uncovered
	return res, nil
}

// startIdle starts the worker and waits until it has a pull request
// waiting on the consumer, so that the first intent meets an idle worker
// rather than one still starting.
func (r *rig) startIdle(ctx context.Context, timeout time.Duration) error {
	resetPeakRSS()
	if err := r.startProfile(); err != nil {
		return err
	}
	run, err := startWorker(r.ns.ClientURL(), r.cfg)
	if err != nil {
		return err
	}
	r.run = run
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := r.js.Consumer(ctx, r.cfg.Stream, r.cfg.Consumer); err == nil {
			if ci, err := c.Info(ctx); err == nil && ci.NumWaiting > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker not pulling: %w", ctx.Err())
		case <-tick.C:
		}
	}
}
