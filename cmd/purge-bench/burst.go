package main

import (
	"context"
	"fmt"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
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
// arrived while the worker was down or busy, the case DESIGN.md's minimum
// is stated for.
func burstFlow(ctx context.Context, s settings, name, plan string, intents []*intent.Intent) (result, error) {
	r, err := newRig(ctx, rigOptions{plan: plan, unlimited: s.unlimited, window: s.window, log: s.log})
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

// measured is what a drain observed.
type measured struct {
	started time.Time // worker start
	drained time.Time // stream first seen empty
	cpu     time.Duration
	peakRSS int64
	acked   int
	calls   []cftest.Call
}

// drain starts the worker, waits until the stream is empty, stops the
// worker and checks that nothing was dead-lettered.
func (r *rig) drain(ctx context.Context, timeout time.Duration) (measured, error) {
	resetPeakRSS()
	cpu0 := cpuTime()
	run, err := startWorker(r.ns.ClientURL(), r.cfg)
	if err != nil {
		return measured{}, err
	}
	r.run = run
	end, err := waitEmpty(ctx, r.js, r.cfg.Stream, timeout)
	if err != nil {
		return measured{}, err
	}
	m := measured{started: run.started, drained: end, cpu: cpuTime() - cpu0, peakRSS: peakRSS()}
	return r.finish(ctx, m)
}

// finish stops the worker and collects its acks and the calls.
func (r *rig) finish(ctx context.Context, m measured) (measured, error) {
	if err := r.run.stop(); err != nil {
		return m, err
	}
	m.acked = r.run.acked()
	r.run = nil
	m.calls = r.cf.Calls()
	return m, checkDLQ(ctx, r.js, r.cfg)
}

// result fills what every scenario reports from the tally and the drain.
func (r *rig) result(name, plan string, s settings, t *tally, m measured) result {
	res := result{
		Scenario: name, Plan: planLabel(plan, s.unlimited), WindowMS: s.window.Milliseconds(),
		Intents: t.intents, Items: t.items, UniqueKeys: t.unique(),
		Bound: t.lowerBound(), Naive: t.naive, PerIntent: t.perIntent,
		Acked: m.acked, PeakRSSMB: float64(m.peakRSS) / (1 << 20),
		PeakRSSNote: "whole process: worker, embedded NATS server, cftest and the bench",
	}
	countCalls(&res, m.calls)
	from := m.started
	if from.IsZero() && len(m.calls) > 0 {
		from = m.calls[0].At
	}
	if err := appendCalls(s.callsOut, name, from, m.calls); err != nil {
		fmt.Fprintln(s.stderr, "purge-bench:", err)
	}
	drain := m.drained.Sub(m.started)
	res.DrainSeconds = drain.Seconds()
	if drain > 0 {
		res.IntentsPerSec = float64(t.intents) / drain.Seconds()
	}
	if t.intents > 0 {
		res.CPUPer100k = m.cpu.Seconds() / float64(t.intents) * 100_000
	}
	return res
}

// countCalls sorts cftest's record into accepted, refused and failed.
func countCalls(res *result, calls []cftest.Call) {
	for _, c := range calls {
		switch c.Outcome {
		case cftest.OutcomeOK:
			res.Calls++
		case cftest.OutcomeRateLimited:
			res.Refused++
		default:
			res.Failed++
		}
	}
}
