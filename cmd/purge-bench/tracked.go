package main

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/status"
)

// runIntakeTracked measures what tracking costs intake: the worker drains
// the same waiting CMS intents once untracked and once with every intent
// tracked (Purge-Track: true, a record written for each), on a fresh
// server each time, alternating, best of each. The result is the tracked
// run's; its notes compare the two.
func runIntakeTracked(ctx context.Context, s settings) (result, error) {
	plan := s.planOr("pro")
	n := s.n(200_000, 100)
	var plain, tracked result
	for range intakeRounds(n) {
		for _, track := range []bool{false, true} {
			res, err := workerRound(ctx, s, "intake-tracked", plan, n, track)
			if err != nil {
				return result{}, err
			}
			best := &plain
			if track {
				best = &tracked
			}
			if best.Scenario == "" || res.DrainSeconds < best.DrainSeconds {
				*best = res
			}
		}
	}
	tracked.Notes = fmt.Sprintf("untracked %.0f intents/s (%.2fs, %.2fs to the last delivery), tracked %.0f intents/s "+
		"(%.2fs, %.2fs to the last delivery): tracked/untracked %.2f; CPU s/100k %.2f untracked, %.2f tracked "+
		"(the record writes run beside intake and count in it)",
		plain.IntentsPerSec, plain.DrainSeconds, plain.PulledSeconds,
		tracked.IntentsPerSec, tracked.DrainSeconds, tracked.PulledSeconds,
		tracked.IntentsPerSec/plain.IntentsPerSec, plain.CPUPer100k, tracked.CPUPer100k)
	return tracked, nil
}

// checkRecords fails unless bucket PURGE_STATUS holds n records.
func checkRecords(ctx context.Context, js jetstream.JetStream, n int) error {
	kv, err := status.Open(ctx, js)
	if err != nil {
		return err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return err
	}
	if st.Values() != uint64(n) {
		return fmt.Errorf("%d status records for %d tracked intents", st.Values(), n)
	}
	return nil
}
