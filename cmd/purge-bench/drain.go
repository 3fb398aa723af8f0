package main

import (
	"context"
	"fmt"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// measured is what a drain observed.
type measured struct {
	started   time.Time // worker start
	delivered time.Time // every message delivered to the worker (intake only)
	drained   time.Time // stream first seen empty
	cpu       time.Duration
	peakRSS   int64
	acked     int
	calls     []cftest.Call
}

// drain starts the worker, waits until the stream is empty, stops the
// worker and checks that nothing was dead-lettered.
func (r *rig) drain(ctx context.Context, timeout time.Duration) (measured, error) {
	resetPeakRSS()
	if err := r.startProfile(); err != nil {
		return measured{}, err
	}
	cpu0 := cpuTime()
	run, err := startWorker(r.ns.ClientURL(), r.cfg)
	if err != nil {
		return measured{}, err
	}
	r.run = run
	var delivered func() (time.Time, error)
	if r.watchIntake {
		delivered = watchDelivered(ctx, r.js, r.cfg.Stream, r.cfg.Consumer, timeout)
	}
	end, err := waitEmpty(ctx, r.js, r.cfg.Stream, timeout)
	if err != nil {
		return measured{}, err
	}
	m := measured{started: run.started, drained: end, cpu: cpuTime() - cpu0, peakRSS: peakRSS()}
	if delivered != nil {
		if m.delivered, err = delivered(); err != nil {
			return m, err
		}
	}
	return r.finish(ctx, m)
}

// finish stops the worker and collects its acks and the calls.
func (r *rig) finish(ctx context.Context, m measured) (measured, error) {
	r.stopProfile()
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
