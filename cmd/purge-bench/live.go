package main

import (
	"context"
	"fmt"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// The live scenarios publish while the worker runs and is idle, as a CMS
// bulk publish or a deploy pipeline does in production. A burst stored
// within one window of its first intent is promised the lower bound; one
// that took longer to publish is reported against it for reference.

func runCMSLive(ctx context.Context, s settings) (result, error) {
	g := newCMSGen(21, 5000, 2000, 0.10, len(benchZones))
	intents := make([]*intent.Intent, s.n(4000, 1))
	for i := range intents {
		intents[i] = g.next(i)
	}
	return liveFlow(ctx, s, "cms-live", s.planOr("pro"), intents, 5000)
}

func runDeployLive(ctx context.Context, s settings) (result, error) {
	return liveFlow(ctx, s, "deploy-live", s.planOr("pro"), deployIntents(22, s.n(50, 3), 500, 8000), 0)
}

func runStormLive(ctx context.Context, s settings) (result, error) {
	return liveFlow(ctx, s, "storm-live", s.planOr("pro"), stormIntents(23, s.n(10_000, 4), s.n(3, 1)), 0)
}

// liveFlow starts the worker, waits until it is idle, then publishes every
// intent at rate per second (0: as fast as the publisher can) and measures
// until the stream is empty.
func liveFlow(ctx context.Context, s settings, name, plan string, intents []*intent.Intent, rate float64) (result, error) {
	r, err := newRig(ctx, s.rigFor(name, plan, s.unlimited))
	if err != nil {
		return result{}, err
	}
	defer r.close()
	if err := r.startIdle(ctx, s.timeout); err != nil {
		return result{}, err
	}
	t := newTally(r.plan)
	recs := make([]sent, 0, len(intents))
	cpu0 := cpuTime()
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, in := range intents {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return result{}, ctx.Err()
				}
			}
		}
		sn, err := r.publish(in)
		if err != nil {
			return result{}, err
		}
		t.add(sn.parts)
		recs = append(recs, sn)
	}
	if err := r.flush(ctx); err != nil {
		return result{}, err
	}
	stored := time.Since(start)
	end, err := waitEmpty(ctx, r.js, r.cfg.Stream, s.timeout)
	if err != nil {
		return result{}, err
	}
	m, err := r.finish(ctx, measured{started: start, drained: end, cpu: cpuTime() - cpu0, peakRSS: peakRSS()})
	if err != nil {
		return result{}, err
	}
	res := r.result(name, plan, s, t, m)
	res.PublishSeconds = stored.Seconds()
	res.Promised = stored < s.window
	pace := "as fast as the publisher could"
	if rate > 0 {
		pace = fmt.Sprintf("at %.0f intents/s", rate)
	}
	res.Notes = fmt.Sprintf("published %s into a running worker, all stored in %.2fs (window %s); drain_s runs from the first publish",
		pace, stored.Seconds(), s.window)
	lat, uncovered := latencies(indexCalls(m.calls), recs, time.Time{})
	res.setLatency(lat)
	res.Uncovered = uncovered
	return res, nil
}
