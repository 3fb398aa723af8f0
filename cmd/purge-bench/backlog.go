package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/internal/natsconn"
)

// childEnv, set to childBacklog, makes the binary (or the test binary, see
// TestMain) drain a backlog as a daemon would: spec on stdin, outcome as
// JSON on stdout.
const (
	childEnv     = "PURGE_BENCH_CHILD"
	childBacklog = "backlog"
)

// backlogSpec tells the draining process what to do.
type backlogSpec struct {
	Store      string          `json:"store"` // the JetStream store holding the backlog
	CFURL      string          `json:"cf_url"`
	Limits     cfclient.Limits `json:"limits"`
	Window     time.Duration   `json:"window"`
	Timeout    time.Duration   `json:"timeout"`
	CPUProfile string          `json:"cpu_profile,omitempty"`
	Verbose    bool            `json:"verbose,omitempty"`
}

// backlogOutcome is what the draining process measured.
type backlogOutcome struct {
	DrainSeconds float64 `json:"drain_s"`
	CPUSeconds   float64 `json:"cpu_s"`
	PeakRSS      int64   `json:"peak_rss"`    // VmHWM of the draining process
	ServerRSS    int64   `json:"server_rss"`  // VmHWM once the server had recovered the store, before the worker
	PeakHeap     uint64  `json:"peak_heap"`   // largest Go heap in use seen (sampled)
	ResetPeak    bool    `json:"reset_peak"`  // in-process: VmHWM was restarted before the server
	Acked        int     `json:"acked"`       // the worker's own count
	Isolated     bool    `json:"isolated"`    // drained in a process of its own
	ResidualMsgs uint64  `json:"residual"`    // intents left in the stream (0)
	DLQ          uint64  `json:"dlq_entries"` // dead-lettered (0)
}

// runBacklog publishes the backlog with the daemon down, then starts a
// daemon-like process (embedded JetStream server on the same store, and
// the worker) and measures it draining the backlog: its peak RSS is the
// figure DESIGN.md's "bounded memory" promise is about.
func runBacklog(ctx context.Context, s settings) (result, error) {
	plan := s.planOr("pro")
	r, err := newRig(ctx, rigOptions{plan: plan, unlimited: s.unlimited, window: s.window, log: s.log})
	if err != nil {
		return result{}, err
	}
	defer r.close()
	n := s.n(1_000_000, 100)
	pubStart := time.Now()
	t, err := r.publishCMS(ctx, 8, n)
	if err != nil {
		return result{}, err
	}
	pubSecs := time.Since(pubStart).Seconds()
	if got, err := streamMsgs(ctx, r.js, r.cfg.Stream); err != nil || got != uint64(n) {
		return result{}, fmt.Errorf("stream holds %d intents, want %d (%v)", got, n, err)
	}
	r.shutdownNATS()

	spec := backlogSpec{Store: r.dir, CFURL: r.cf.URL, Limits: r.cfg.Accounts[0].Limits,
		Window: s.window, Timeout: s.timeout, Verbose: s.log.Enabled(ctx, slog.LevelDebug)}
	var out backlogOutcome
	if s.isolate {
		if s.profile != "" {
			spec.CPUProfile = s.profile + ".backlog"
		}
		out, err = drainInChild(ctx, spec, s.stderr)
	} else {
		out, err = drainBacklog(ctx, spec, s.log)
	}
	if err != nil {
		return result{}, err
	}
	if out.ResidualMsgs != 0 || out.DLQ != 0 {
		return result{}, fmt.Errorf("backlog: %d intents left in the stream, %d dead-lettered", out.ResidualMsgs, out.DLQ)
	}
	res := r.result("backlog", plan, s, t, measured{acked: out.Acked, calls: r.cf.Calls()})
	res.PublishSeconds = pubSecs
	res.DrainSeconds = out.DrainSeconds
	res.IntentsPerSec = float64(n) / out.DrainSeconds
	res.CPUPer100k = out.CPUSeconds / float64(n) * 100_000
	res.PeakRSSMB = float64(out.PeakRSS) / (1 << 20)
	where := "a process of its own (the bench re-executed itself)"
	if !out.Isolated {
		where = "this process, high-water mark restarted before the server started"
	}
	res.PeakRSSNote = fmt.Sprintf("worker and embedded NATS server in %s; the server alone after recovering the store: %.1f MB; peak Go heap in use %.1f MB",
		where, float64(out.ServerRSS)/(1<<20), float64(out.PeakHeap)/(1<<20))
	res.Notes = res.PeakRSSNote
	return res, nil
}

// drainInChild runs drainBacklog in a fresh copy of this binary, so that
// its peak RSS is the daemon's alone.
func drainInChild(ctx context.Context, spec backlogSpec, stderr io.Writer) (backlogOutcome, error) {
	exe, err := os.Executable()
	if err != nil {
		return backlogOutcome{}, err
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return backlogOutcome{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+childBacklog)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = stderr
	data, err := cmd.Output()
	if err != nil {
		return backlogOutcome{}, fmt.Errorf("backlog child: %w", err)
	}
	var out backlogOutcome
	if err := json.Unmarshal(data, &out); err != nil {
		return backlogOutcome{}, fmt.Errorf("backlog child output %q: %w", data, err)
	}
	out.Isolated = true
	return out, nil
}

// childMain is the draining process's main.
func childMain(stdin io.Reader, stdout, stderr io.Writer) int {
	var spec backlogSpec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		fmt.Fprintln(stderr, "purge-bench child: read spec:", err)
		return 1
	}
	log := slog.New(slog.DiscardHandler)
	if spec.Verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	stopProfile, err := startCPUProfile(spec.CPUProfile)
	if err != nil {
		fmt.Fprintln(stderr, "purge-bench child:", err)
		return 1
	}
	out, err := drainBacklog(context.Background(), spec, log)
	stopProfile()
	if err != nil {
		fmt.Fprintln(stderr, "purge-bench child:", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return 1
	}
	return 0
}

// drainBacklog starts an embedded JetStream server on the store and a
// worker, as the daemon does with nats.url "embedded", and drains it.
func drainBacklog(ctx context.Context, spec backlogSpec, log *slog.Logger) (backlogOutcome, error) {
	out := backlogOutcome{ResetPeak: resetPeakRSS()}
	ns, err := natsconn.StartEmbedded("127.0.0.1:0", spec.Store, nil)
	if err != nil {
		return out, err
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL(), nats.Name("purge-bench-monitor"))
	if err != nil {
		return out, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return out, err
	}
	cfg := workerConfig(spec.CFURL, spec.Limits, spec.Window, log)
	if _, err := streamMsgs(ctx, js, cfg.Stream); err != nil {
		return out, fmt.Errorf("recovered store: %w", err)
	}
	out.ServerRSS = peakRSS()

	heap := sampleHeap()
	cpu0 := cpuTime()
	run, err := startWorker(ns.ClientURL(), cfg)
	if err != nil {
		return out, err
	}
	end, err := waitEmpty(ctx, js, cfg.Stream, spec.Timeout)
	if err != nil {
		_ = run.stop()
		return out, err
	}
	out.DrainSeconds = end.Sub(run.started).Seconds()
	out.CPUSeconds = (cpuTime() - cpu0).Seconds()
	out.PeakRSS = peakRSS()
	out.PeakHeap = heap()
	err = run.stop()
	out.Acked = run.acked()
	if err != nil {
		return out, err
	}
	out.ResidualMsgs, _ = streamMsgs(ctx, js, cfg.Stream)
	out.DLQ, _ = streamMsgs(ctx, js, cfg.DLQStream)
	return out, nil
}
