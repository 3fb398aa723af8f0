package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

// TestMain lets the test binary stand in for purge-bench when the backlog
// scenario re-executes itself to drain in a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == childBacklog {
		os.Exit(childMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// smoke is every scenario at half a percent of its size: enough to drive
// each code path (burst, steady, idle, raw baseline, child process) end to
// end, quickly even under -race on a busy 2-core machine.
func smoke(t *testing.T) settings {
	t.Helper()
	var log bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("progress:\n%s", log.String())
		}
	})
	return settings{
		scale: 0.005, window: time.Second, rate: 2000, steadyFor: 20 * time.Second,
		isolate: true, timeout: 2 * time.Minute, stderr: &log, log: discard(),
	}
}

// TestScenariosSmoke runs every scenario small and checks what must hold
// whatever the machine's speed: every intent acked and covered by a call
// issued after it was published, no call failed except for rate, never
// fewer calls than the contract's minimum, and the figures each scenario
// exists for measured. It asserts no timing.
func TestScenariosSmoke(t *testing.T) {
	s := smoke(t)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			s := s
			if sc.name == "backlog" {
				s.scale = 0.001 // 1,000 intents: the point is the child process
			}
			res, err := sc.run(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d intents, %d calls (bound %d), %d acked, drained in %.2fs, p99 %.0fms",
				res.Intents, res.Calls, res.Bound, res.Acked, res.DrainSeconds, res.P99MS)
			if res.Intents == 0 || res.Acked != res.Intents {
				t.Errorf("acked %d of %d intents", res.Acked, res.Intents)
			}
			if res.Uncovered != 0 {
				t.Errorf("%d intents have a key no call issued after their publish covered", res.Uncovered)
			}
			if res.Failed != 0 {
				t.Errorf("%d calls failed", res.Failed)
			}
			if res.Calls == 0 || res.Bound == 0 {
				t.Errorf("calls %d, lower bound %d: want both positive", res.Calls, res.Bound)
			}
			// The bound is a true minimum for any way of sending: fewer
			// calls would mean a key never purged or a wrong bound.
			// Whether a burst costs exactly the bound depends on how the
			// worker's wake-ups interleave with its intake (see
			// BENCHMARKS.md), so this smoke, which must not flake on a
			// busy machine, leaves exactness to the full-size run.
			if res.Calls < res.Bound {
				t.Errorf("%d calls, below the lower bound %d", res.Calls, res.Bound)
			}
			// Per-intent chunking is a valid way to send, so the minimum
			// cannot exceed it; naive is not (an intent of 500 URLs is
			// one naive call, over the per-request maximum).
			if res.PerIntent < res.Bound || res.PerIntent < res.Naive {
				t.Errorf("lower bound %d, naive %d, per-intent %d: want per-intent >= both",
					res.Bound, res.Naive, res.PerIntent)
			}
			switch sc.name {
			case "intake":
				if !(res.RawPerSec > 0) || !(res.IntakeRatio > 0) || !(res.PullRatio > 0) {
					t.Errorf("raw %v msgs/s, ratio %v, pull ratio %v: want all measured", res.RawPerSec, res.IntakeRatio, res.PullRatio)
				}
			case "backlog":
				if !strings.Contains(res.PeakRSSNote, "of its own") {
					t.Errorf("backlog did not drain in a child process: %s", res.PeakRSSNote)
				}
			}
		})
	}
}

// The table and the JSON come out of a real run, and the exit code says
// whether the scenarios ran.
func TestRunWritesTableAndJSON(t *testing.T) {
	out := t.TempDir() + "/out.json"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-scenario", "storm", "-scale", "0.01", "-json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"scenario", "storm", "lower bound", "calls equal the lower bound"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"scenario": "storm"`, `"lower_bound": 1`, `"cpu_model"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scale", "0"},
		{"-scale", "NaN"},
		{"-window", "0s"},
		{"-plan", "gold"},
		{"-scenario", "cms-burst,nope"},
		{"-rate", "-1"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("run %q = %d, want 2", args, code)
		}
		if stderr.Len() == 0 {
			t.Errorf("run %q printed no reason", args)
		}
	}
}

// The bench's own lower bound, which uses the batcher's index shortcuts
// (HostOf, CoverPaths), agrees with a brute-force reading of intent.Covers
// on sets mixing duplicates, hosts, prefixes and purge_everything.
func TestLowerBoundAgreesWithCovers(t *testing.T) {
	zones, err := intentZones()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := cfclient.PlanLimits("pro")
	l.MaxURLsPerRequest = 7 // small, so that chunking shows
	sets := map[string][]*intent.Intent{
		"deploy": deployIntents(11, 30, 40, 120),
		"storm":  stormIntents(12, 60, 2),
		"tags":   tagIntents(13, 80, 150),
	}
	for name, intents := range sets {
		tl := newTally(l)
		for _, in := range intents {
			parts, err := in.Bind(zones)
			if err != nil {
				t.Fatal(err)
			}
			tl.add(parts)
		}
		want := 0
		for _, set := range tl.keys {
			want += bruteBound(set, tl.max)
		}
		if got := tl.lowerBound(); got != want {
			t.Errorf("%s: lowerBound = %d, brute force = %d", name, got, want)
		}
	}
}

func bruteBound(set map[intent.Key]struct{}, maxOf func(intent.Kind) int) int {
	per := map[intent.Kind]int{}
	for k := range set {
		covered := false
		for b := range set {
			if intent.Covers(b, k) {
				covered = true
				break
			}
		}
		if !covered {
			per[k.Kind]++
		}
	}
	n := 0
	for k, c := range per {
		n += ceilDiv(c, maxOf(k))
	}
	return n
}

// Latency is measured to the first accepted call, at or after the publish,
// that purged the key itself or a key covering it.
func TestLatencyFindsTheCoveringCall(t *testing.T) {
	zone := benchZones[0].ID
	t0 := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	call := func(ms int, kind string, outcome string, keys ...string) cftest.Call {
		return cftest.Call{At: at(ms), ZoneID: zone, Endpoint: "purge_cache", Kind: kind, Keys: keys, Outcome: outcome}
	}
	calls := []cftest.Call{
		call(100, "files", cftest.OutcomeOK, "https://www.example.com/a"),
		call(150, "files", cftest.OutcomeRateLimited, "https://www.example.com/b"),
		call(300, "hosts", cftest.OutcomeOK, "static.example.com"),
		call(400, "prefixes", cftest.OutcomeOK, "www.example.com/blog"),
		call(500, "tags", cftest.OutcomeOK, "Post-1"),
	}
	file := func(u string) intent.Key { return intent.Key{Kind: intent.KindFile, Value: u} }
	part := func(keys ...intent.Key) []intent.Part {
		return []intent.Part{{ZoneID: zone, Keys: keys}}
	}
	intents := []sent{
		{at: at(50), parts: part(file("https://www.example.com/a"))},                                           // 50ms
		{at: at(120), parts: part(file("https://www.example.com/a"))},                                          // never covered after 120
		{at: at(10), parts: part(file("https://static.example.com/x.png"), file("https://www.example.com/a"))}, // 290ms, by the host
		{at: at(20), parts: part(file("https://www.example.com/blog/p?x=1"))},                                  // 380ms, by the prefix
		{at: at(30), parts: part(file("https://www.example.com/blogger"))},                                     // not covered by the prefix
		{at: at(0), parts: part(intent.Key{Kind: intent.KindTag, Value: "post-1"})},                            // 500ms
	}
	lat, uncovered := latencies(indexCalls(calls), intents, time.Time{})
	if uncovered != 2 {
		t.Errorf("uncovered = %d, want 2", uncovered)
	}
	want := []time.Duration{50 * time.Millisecond, 290 * time.Millisecond, 380 * time.Millisecond, 500 * time.Millisecond}
	if len(lat) != len(want) {
		t.Fatalf("latencies = %v, want %v", lat, want)
	}
	for i := range want {
		if lat[i] != want[i] {
			t.Errorf("latencies = %v, want %v", lat, want)
			break
		}
	}
	// From the worker's start when the intent was waiting before it.
	lat, _ = latencies(indexCalls(calls), intents[:1], at(80))
	if len(lat) != 1 || lat[0] != 20*time.Millisecond {
		t.Errorf("latency from a later start = %v, want [20ms]", lat)
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {0, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
