package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/internal/natsconn"
	"github.com/purge-worker/purge-worker/worker"
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
	// Store is the JetStream store holding the backlog, served by an
	// embedded server in the draining process (the daemon's default);
	// or, when NATSURL is set, the worker connects there and the
	// process holds the worker alone.
	Store      string          `json:"store,omitempty"`
	NATSURL    string          `json:"nats_url,omitempty"`
	CFURL      string          `json:"cf_url"`
	Limits     cfclient.Limits `json:"limits"`
	Window     time.Duration   `json:"window"`
	Timeout    time.Duration   `json:"timeout"`
	CPUProfile string          `json:"cpu_profile,omitempty"`
	MemProfile string          `json:"mem_profile,omitempty"`
	Verbose    bool            `json:"verbose,omitempty"`
}

// backlogOutcome is what the draining process measured.
type backlogOutcome struct {
	DrainSeconds float64 `json:"drain_s"`
	CPUSeconds   float64 `json:"cpu_s"`
	PeakRSS      int64   `json:"peak_rss"`    // VmHWM of the draining process
	ServerRSS    int64   `json:"server_rss"`  // VmHWM before the worker started (the embedded server, store recovered)
	PeakHeap     uint64  `json:"peak_heap"`   // largest Go heap (live and not yet swept) seen, sampled
	Acked        int     `json:"acked"`       // the worker's own count
	Isolated     bool    `json:"isolated"`    // drained in a process of its own
	ResidualMsgs uint64  `json:"residual"`    // intents left in the stream (0)
	DLQ          uint64  `json:"dlq_entries"` // dead-lettered (0)
}

// runBacklog publishes the backlog with the daemon down, then measures
// draining it twice, from two copies of the store: once as the daemon runs
// by default (embedded JetStream server and worker in one process), once
// as the worker alone (server elsewhere: here, in the bench). Peak RSS is
// the figure the "bounded memory" promise (docs/design.md) is about; the two runs
// tell the worker's share from the server's, which grows with the stream.
func runBacklog(ctx context.Context, s settings) (result, error) {
	plan := s.planOr("pro")
	r, err := newRig(ctx, s.rigFor("backlog", plan, s.unlimited))
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
	published := time.Now()
	pubSecs := published.Sub(pubStart).Seconds()
	if got, err := streamMsgs(ctx, r.js, r.cfg.Stream); err != nil || got != uint64(n) {
		return result{}, fmt.Errorf("stream holds %d intents, want %d (%v)", got, n, err)
	}
	r.shutdownNATS()
	alone := r.dir + "-alone"
	if err := copyDir(r.dir, alone); err != nil {
		return result{}, fmt.Errorf("copy the store: %w", err)
	}
	defer os.RemoveAll(alone)
	aged := r.dir + "-aged"
	if s.aged {
		if err := copyDir(r.dir, aged); err != nil {
			return result{}, fmt.Errorf("copy the store: %w", err)
		}
		defer os.RemoveAll(aged)
	}

	spec := backlogSpec{Store: r.dir, CFURL: r.cf.URL, Limits: r.cfg.Accounts[0].Limits,
		Window: s.window, Timeout: s.timeout, CPUProfile: r.profile, MemProfile: s.memProfile,
		Verbose: s.log.Enabled(ctx, slog.LevelDebug)}
	daemon, err := drainStore(ctx, s, spec)
	if err != nil {
		return result{}, fmt.Errorf("daemon with embedded server: %w", err)
	}
	res := r.result("backlog", plan, s, t, measured{acked: daemon.Acked, calls: r.cf.Calls()})
	worker, err := drainAlone(ctx, s, plan, spec, alone)
	if err != nil {
		return result{}, fmt.Errorf("worker alone: %w", err)
	}
	res.PublishSeconds = pubSecs
	res.DrainSeconds = daemon.DrainSeconds
	res.IntentsPerSec = float64(n) / daemon.DrainSeconds
	res.CPUPer100k = daemon.CPUSeconds / float64(n) * 100_000
	res.PeakRSSMB = mb(daemon.PeakRSS)
	res.WorkerRSSMB = mb(worker.PeakRSS)
	res.PeakRSSNote = fmt.Sprintf("daemon (worker and embedded NATS server) in %s; its server alone once the store was recovered: %.1f MB; peak Go heap %.1f MB",
		where(daemon), mb(daemon.ServerRSS), mb(int64(daemon.PeakHeap)))
	res.Notes = res.PeakRSSNote + "; worker alone (NATS in another process): " + worker.summary(n)
	if s.aged {
		old, err := drainAged(ctx, s, plan, spec, aged, published)
		if err != nil {
			return result{}, fmt.Errorf("daemon, backlog past the duplicate window: %w", err)
		}
		res.AgedRSSMB = mb(old.PeakRSS)
		res.Notes += fmt.Sprintf("; daemon started once the duplicate window had passed (its server alone %.1f MB): %s",
			mb(old.ServerRSS), old.summary(n))
	}
	return res, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// summary gives a drain's peak RSS and heap, time and CPU for n intents.
func (o backlogOutcome) summary(n int) string {
	return fmt.Sprintf("peak RSS %.1f MB, peak Go heap %.1f MB, drained in %.1fs, %.2f CPU s/100k",
		mb(o.PeakRSS), mb(int64(o.PeakHeap)), o.DrainSeconds, o.CPUSeconds/float64(n)*100_000)
}

func where(o backlogOutcome) string {
	if o.Isolated {
		return "a process of its own (the bench re-executed itself)"
	}
	return "this process, high-water mark restarted before it started (-isolate=false)"
}

// drainAlone serves the copy of the store from this process and drains it
// with the worker alone in the child.
func drainAlone(ctx context.Context, s settings, plan string, spec backlogSpec, store string) (backlogOutcome, error) {
	ns, err := natsconn.StartEmbedded("127.0.0.1:0", store, nil)
	if err != nil {
		return backlogOutcome{}, err
	}
	defer ns.Shutdown()
	spec.Store, spec.NATSURL = "", ns.ClientURL()
	return drainAgain(ctx, s, plan, spec)
}

// drainAged drains a third copy of the store with the daemon once the
// stream's duplicate window has passed since the backlog was published: the
// embedded server then no longer keeps the intents' Nats-Msg-Ids, as it
// would not for a backlog that built up over more than a couple of minutes.
// The first two drains usually take longer than the window; if not, it
// waits.
func drainAged(ctx context.Context, s settings, plan string, spec backlogSpec, store string, published time.Time) (backlogOutcome, error) {
	wait := time.Until(published.Add(worker.StreamConfig("PURGE").Duplicates + 5*time.Second))
	if wait > 0 {
		fmt.Fprintf(s.stderr, "backlog: waiting %s for the duplicate window to pass\n", wait.Round(time.Second))
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return backlogOutcome{}, ctx.Err()
		case <-timer.C:
		}
	}
	spec.Store = store
	return drainAgain(ctx, s, plan, spec)
}

// drainAgain drains a copy of the backlog as spec says, against a fresh
// cftest (the first drain used up the rig's buckets), without profiles
// (they are of the first drain).
func drainAgain(ctx context.Context, s settings, plan string, spec backlogSpec) (backlogOutcome, error) {
	cf := newCloud(plan, s.unlimited)
	defer cf.Close()
	spec.CFURL = cf.URL
	spec.CPUProfile, spec.MemProfile = "", ""
	return drainStore(ctx, s, spec)
}

// drainStore runs drainBacklog in a child process, or here without -isolate,
// and checks that it emptied the stream without dead letters.
func drainStore(ctx context.Context, s settings, spec backlogSpec) (backlogOutcome, error) {
	var out backlogOutcome
	var err error
	if s.isolate {
		out, err = drainInChild(ctx, spec, s.stderr)
	} else {
		out, err = drainBacklog(ctx, spec, s.log)
	}
	if err != nil {
		return out, err
	}
	if out.ResidualMsgs != 0 || out.DLQ != 0 {
		return out, fmt.Errorf("%d intents left in the stream, %d dead-lettered", out.ResidualMsgs, out.DLQ)
	}
	return out, nil
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
	out, err := drainBacklog(context.Background(), spec, log)
	if err != nil {
		fmt.Fprintln(stderr, "purge-bench child:", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return 1
	}
	return 0
}

// drainBacklog runs a worker, as the daemon does, until the stream is
// empty: with an embedded JetStream server on spec.Store (nats.url
// "embedded"), or connected to spec.NATSURL.
func drainBacklog(ctx context.Context, spec backlogSpec, log *slog.Logger) (backlogOutcome, error) {
	resetPeakRSS()
	var out backlogOutcome
	url := spec.NATSURL
	if url == "" {
		ns, err := natsconn.StartEmbedded("127.0.0.1:0", spec.Store, nil)
		if err != nil {
			return out, err
		}
		defer ns.Shutdown()
		url = ns.ClientURL()
	}
	nc, err := nats.Connect(url, nats.Name("purge-bench-monitor"))
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

	stopProfile, err := startCPUProfile(spec.CPUProfile)
	if err != nil {
		return out, err
	}
	heap := sampleHeap(spec.MemProfile)
	cpu0 := cpuTime()
	run, err := startWorker(url, cfg)
	if err != nil {
		stopProfile()
		heap()
		return out, err
	}
	end, err := waitEmpty(ctx, js, cfg.Stream, spec.Timeout)
	stopProfile()
	out.PeakHeap = heap()
	if err != nil {
		_ = run.stop()
		return out, err
	}
	out.DrainSeconds = end.Sub(run.started).Seconds()
	out.CPUSeconds = (cpuTime() - cpu0).Seconds()
	out.PeakRSS = peakRSS()
	err = run.stop()
	out.Acked = run.acked()
	if err != nil {
		return out, err
	}
	out.ResidualMsgs, _ = streamMsgs(ctx, js, cfg.Stream)
	out.DLQ, _ = streamMsgs(ctx, js, cfg.DLQStream)
	return out, nil
}

// copyDir copies the regular files of a directory tree.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, to)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
