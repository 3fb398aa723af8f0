package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what one scenario measured. Durations are in milliseconds or
// seconds as their names say, so that the JSON reads without conversion.
type result struct {
	Scenario string `json:"scenario"`
	Plan     string `json:"plan"` // "pro", or "pro/unlimited" when cftest's buckets were off
	WindowMS int64  `json:"window_ms"`

	Intents    int `json:"intents"`
	Items      int `json:"items"`       // keys after each intent's own dedupe
	UniqueKeys int `json:"unique_keys"` // distinct per zone and mode
	// Calls are the calls Cloudflare accepted; Refused the ones it
	// answered with 429; Failed any other non-success.
	Calls   int `json:"calls"`
	Refused int `json:"refused_429"`
	Failed  int `json:"failed"`
	// Bound is the contract's minimum for a burst received within one
	// window; Burst says whether the scenario is such a burst, so that
	// Calls must equal it.
	Bound     int  `json:"lower_bound"`
	Burst     bool `json:"burst"`
	Naive     int  `json:"naive_calls"`      // one call per intent and type
	PerIntent int  `json:"per_intent_calls"` // each intent chunked on its own

	DrainSeconds  float64 `json:"drain_s"` // worker start (or first publish) to stream empty
	IntentsPerSec float64 `json:"intents_per_s"`
	// Latency from when the worker could see an intent (its publish, or
	// the worker's start if later) to the last call covering its keys;
	// not measured (absent) for intake and backlog.
	P50MS     float64 `json:"p50_ms,omitempty"`
	P99MS     float64 `json:"p99_ms,omitempty"`
	MaxMS     float64 `json:"max_ms,omitempty"`
	Uncovered int     `json:"uncovered"` // intents with a key no call after their publish covered; must be 0
	Acked     int     `json:"acked"`     // the worker's own ack count

	PeakRSSMB      float64 `json:"peak_rss_mb"`
	WorkerRSSMB    float64 `json:"worker_alone_peak_rss_mb,omitempty"` // backlog: the worker without the embedded server
	AgedRSSMB      float64 `json:"daemon_aged_peak_rss_mb,omitempty"`  // backlog: the daemon, backlog older than the duplicate window
	PeakRSSNote    string  `json:"peak_rss_note,omitempty"`
	CPUPer100k     float64 `json:"cpu_s_per_100k"`
	PublishSeconds float64 `json:"publish_s,omitempty"`

	// Raw is the intake scenario's baseline: a bare consume-and-ack loop
	// over the same messages and stream settings.
	RawSeconds  float64 `json:"raw_s,omitempty"`
	RawPerSec   float64 `json:"raw_msgs_per_s,omitempty"`
	IntakeRatio float64 `json:"intake_ratio,omitempty"`
	// PulledSeconds is the worker's time to the last delivery (intake
	// proper, without the last window's wait); PullRatio compares it with
	// the raw loop's.
	PulledSeconds    float64 `json:"pulled_s,omitempty"`
	RawPulledSeconds float64 `json:"raw_pulled_s,omitempty"`
	PullRatio        float64 `json:"pull_ratio,omitempty"`
	Notes            string  `json:"notes,omitempty"`
	// The machine's state during the scenario: the 1-minute load average
	// at its start and end, and the longest a 5ms ticker in this process
	// fired late (CPU starvation, which makes the timings suspect).
	LoadStart  float64 `json:"load_start"`
	LoadEnd    float64 `json:"load_end"`
	MaxStallMS float64 `json:"max_stall_ms"`
}

// setLatency fills the percentiles from unsorted latencies.
func (r *result) setLatency(lat []time.Duration) {
	slices.Sort(lat)
	r.P50MS = ms(percentile(lat, 50))
	r.P99MS = ms(percentile(lat, 99))
	r.MaxMS = ms(percentile(lat, 100))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// report is the whole run, as written with -json.
type report struct {
	Command  string    `json:"command"`
	Machine  machine   `json:"machine"`
	Started  time.Time `json:"started"`
	Scale    float64   `json:"scale"`
	WindowMS int64     `json:"window_ms"`
	Results  []result  `json:"results"`
	Targets  []target  `json:"targets"`
}

// target is one of the benchmark's goals and whether this run met it.
type target struct {
	Name  string `json:"name"`
	Want  string `json:"want"`
	Got   string `json:"got"`
	Met   bool   `json:"met"`
	Scope string `json:"scenario"`
}

// targets checks the results against the goals.
func targets(rs []result) []target {
	var out []target
	for _, r := range rs {
		w := time.Duration(r.WindowMS) * time.Millisecond
		switch {
		case r.Burst:
			out = append(out, target{Scope: r.Scenario, Name: "calls equal the lower bound",
				Want: fmt.Sprint(r.Bound), Got: fmt.Sprint(r.Calls), Met: r.Calls == r.Bound})
		case r.Scenario == "intake":
			// Intake is clocked to the last delivery: the worker's clock to
			// stream empty also holds the one window its last partial
			// chunks wait by design (reported beside it).
			out = append(out, target{Scope: r.Scenario, Name: "intake vs raw, to the last delivery",
				Want: ">= 0.60", Got: fmt.Sprintf("%.2f", r.PullRatio), Met: r.PullRatio >= 0.6})
		case r.Scenario == "idle":
			goal := ms(w + 20*time.Millisecond)
			out = append(out, target{Scope: r.Scenario, Name: "lone intent's call (max)",
				Want: fmt.Sprintf("<= %.0f ms", goal), Got: fmt.Sprintf("%.1f ms", r.MaxMS), Met: r.MaxMS <= goal})
		case r.Scenario == "steady":
			goal := ms(w + 100*time.Millisecond)
			out = append(out, target{Scope: r.Scenario, Name: "p99 publish to covering call",
				Want: fmt.Sprintf("<= %.0f ms", goal), Got: fmt.Sprintf("%.1f ms", r.P99MS), Met: r.P99MS <= goal})
		case r.Scenario == "backlog":
			out = append(out, target{Scope: r.Scenario, Name: "peak RSS, daemon with embedded NATS",
				Want: "< 150 MB", Got: fmt.Sprintf("%.1f MB", r.PeakRSSMB), Met: r.PeakRSSMB > 0 && r.PeakRSSMB < 150},
				target{Scope: r.Scenario, Name: "peak RSS, worker alone",
					Want: "< 150 MB", Got: fmt.Sprintf("%.1f MB", r.WorkerRSSMB), Met: r.WorkerRSSMB > 0 && r.WorkerRSSMB < 150})
			if r.AgedRSSMB > 0 {
				out = append(out, target{Scope: r.Scenario, Name: "peak RSS, daemon, dup window past",
					Want: "< 150 MB", Got: fmt.Sprintf("%.1f MB", r.AgedRSSMB), Met: r.AgedRSSMB < 150})
			}
		}
	}
	return out
}

// printTable writes the results as a table, then the targets.
func printTable(w io.Writer, rep report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tplan\tintents\tunique keys\tcalls\tlower bound\tnaive\tper-intent\tdrain s\tintents/s\tp50 ms\tp99 ms\tpeak RSS MB\tCPU s/100k\t")
	for _, r := range rep.Results {
		bound := fmt.Sprint(r.Bound)
		if !r.Burst {
			bound = "(" + bound + ")"
		}
		p50, p99 := fmt.Sprintf("%.1f", r.P50MS), fmt.Sprintf("%.1f", r.P99MS)
		if r.P50MS == 0 && r.P99MS == 0 {
			p50, p99 = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%.2f\t%.0f\t%s\t%s\t%.1f\t%.2f\t\n",
			r.Scenario, r.Plan, r.Intents, r.UniqueKeys, r.Calls, bound, r.Naive, r.PerIntent,
			r.DrainSeconds, r.IntentsPerSec, p50, p99, r.PeakRSSMB, r.CPUPer100k)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(lower bound in parentheses: not a burst received within one window, so the bound is for reference only)")
	for _, r := range rep.Results {
		if r.Scenario == "intake" {
			fmt.Fprintf(w, "intake: raw consume-and-ack %.0f msgs/s (%.2fs), worker %.0f intents/s (%.2fs), ratio %.2f; to the last delivery: raw %.2fs, worker %.2fs, ratio %.2f\n",
				r.RawPerSec, r.RawSeconds, r.IntentsPerSec, r.DrainSeconds, r.IntakeRatio, r.RawPulledSeconds, r.PulledSeconds, r.PullRatio)
		}
		if r.Refused > 0 || r.Failed > 0 || r.Uncovered > 0 || r.Acked != r.Intents {
			fmt.Fprintf(w, "%s: refused(429)=%d failed=%d uncovered=%d acked=%d of %d\n",
				r.Scenario, r.Refused, r.Failed, r.Uncovered, r.Acked, r.Intents)
		}
		if r.Notes != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, r.Notes)
		}
	}
	fmt.Fprintln(w)
	for _, t := range rep.Targets {
		mark := "MET "
		if !t.Met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "%s  %-12s %-36s want %-12s got %s\n", mark, t.Scope, t.Name, t.Want, t.Got)
	}
}

// writeJSON writes the report to path, or to stdout for "-".
func writeJSON(path string, stdout io.Writer, rep report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// commandLine renders the command the run was started with, quoting the
// arguments that need it.
func commandLine(args []string) string {
	words := []string{"purge-bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}
