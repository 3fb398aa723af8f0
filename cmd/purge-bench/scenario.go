package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"
)

// settings are the flags every scenario reads.
type settings struct {
	scale      float64
	plan       string // "" : each scenario's own
	unlimited  bool
	window     time.Duration
	rate       float64       // steady: intents per second
	steadyFor  time.Duration // steady: how long, before scaling
	isolate    bool          // backlog: drain in a child process
	aged       bool          // backlog: also drain once the duplicate window has passed
	timeout    time.Duration // longest any one wait may take
	profile    string        // -cpuprofile, passed on to a child
	callsOut   string        // -calls: CSV of every call
	memProfile string        // -memprofile: backlog's heap near its peak
	log        *slog.Logger
	stderr     io.Writer
}

// n scales a count, keeping at least min.
func (s settings) n(base, least int) int {
	return max(least, int(math.Round(float64(base)*s.scale)))
}

// rigFor returns the options of a scenario's rig; with -cpuprofile P its
// drain is profiled to P.name.
func (s settings) rigFor(name, plan string, unlimited bool) rigOptions {
	o := rigOptions{plan: plan, unlimited: unlimited, window: s.window, log: s.log}
	if s.profile != "" {
		o.profile = s.profile + "." + name
	}
	return o
}

// planOr returns the -plan flag, or def when it was not given.
func (s settings) planOr(def string) string {
	if s.plan != "" {
		return s.plan
	}
	return def
}

// scenario is one named benchmark.
type scenario struct {
	name  string
	about string
	run   func(ctx context.Context, s settings) (result, error)
}

// scenarios lists every scenario in the order "all" runs them.
func scenarios() []scenario {
	return []scenario{
		{"cms-burst", "20,000 intents of 1-5 URLs drawn Zipf from 5,000 URLs over 3 zones, 10% with tags, waiting in the stream", runCMSBurst},
		{"deploy", "50 intents of 500 URLs, some prefixes and hosts, waiting in the stream", runDeploy},
		{"storm", "3 purge_everything among 10,000 URL intents on one zone, waiting in the stream", runStorm},
		{"free-backlog", "4,000 tag intents on the Free plan (flex 5/min after a burst of 25), waiting in the stream", runFreeBacklog},
		{"free-capped", "10,000 tag intents on the Free plan, waiting in the stream, 5 times max_ack_pending (2,000)", runFreeCapped},
		{"cms-live", "4,000 CMS intents published at 5,000/s into a running worker", runCMSLive},
		{"deploy-live", "50 intents of 500 URLs published as fast as possible into a running worker", runDeployLive},
		{"storm-live", "3 purge_everything among 10,000 URL intents published as fast as possible into a running worker", runStormLive},
		{"steady", "Poisson arrivals at -rate intents/s for -for, worker running", runSteady},
		{"idle", "10 lone intents, each once the worker is idle again", runIdle},
		{"intake", "200,000 intents: raw consume-and-ack loop vs the worker (cftest unlimited), best of 2", runIntake},
		{"intake-tracked", "200,000 intents drained by the worker untracked and tracked (Purge-Track: true), best of 2 each", runIntakeTracked},
		{"backlog", "1,000,000 intents waiting in the stream when the daemon starts; peak RSS", runBacklog},
	}
}

// pick resolves the -scenario flag: "all" or a comma list.
func pick(list string) ([]scenario, error) {
	all := scenarios()
	if list == "all" {
		return all, nil
	}
	var out []scenario
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(sc scenario) bool { return sc.name == name })
		if i < 0 {
			names := make([]string, len(all))
			for j, sc := range all {
				names[j] = sc.name
			}
			return nil, fmt.Errorf("-scenario %q: unknown; want all or a comma list of %s", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// planLabel names the plan in the results.
func planLabel(plan string, unlimited bool) string {
	if unlimited {
		return plan + "/unlimited"
	}
	return plan
}
