package main

import (
	"context"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func runCMSBurst(ctx context.Context, s settings) (result, error) {
	g := newCMSGen(1, 5000, 2000, 0.10, len(benchZones))
	intents := make([]*intent.Intent, s.n(20_000, 1))
	for i := range intents {
		intents[i] = g.next(i)
	}
	return burstFlow(ctx, s, "cms-burst", s.planOr("pro"), intents)
}

func runDeploy(ctx context.Context, s settings) (result, error) {
	return burstFlow(ctx, s, "deploy", s.planOr("pro"), deployIntents(2, s.n(50, 3), 500, 8000))
}

func runStorm(ctx context.Context, s settings) (result, error) {
	return burstFlow(ctx, s, "storm", s.planOr("pro"), stormIntents(3, s.n(10_000, 4), s.n(3, 1)))
}

func runFreeBacklog(ctx context.Context, s settings) (result, error) {
	// The plan is the scenario's point, so -plan does not change it.
	return burstFlow(ctx, s, "free-backlog", "free", tagIntents(4, s.n(4000, 1), 3000))
}

// burstFlow publishes every intent, waits until the stream holds them all,
// then starts the worker and measures it draining them: a burst that
// arrived while the worker was down or busy, the case the contract's minimum
// is stated for.
func burstFlow(ctx context.Context, s settings, name, plan string, intents []*intent.Intent) (result, error) {
	r, err := newRig(ctx, s.rigFor(name, plan, s.unlimited))
	if err != nil {
		return result{}, err
	}
	defer r.close()
	t := newTally(r.plan)
	recs := make([]sent, 0, len(intents))
	pubStart := time.Now()
	for _, in := range intents {
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
	pubSecs := time.Since(pubStart).Seconds()

	m, err := r.drain(ctx, s.timeout)
	if err != nil {
		return result{}, err
	}
	res := r.result(name, plan, s, t, m)
	res.Burst = true
	res.PublishSeconds = pubSecs
	lat, uncovered := latencies(indexCalls(m.calls), recs, m.started)
	res.setLatency(lat)
	res.Uncovered = uncovered
	return res, nil
}
