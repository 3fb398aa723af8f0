// Command purge-bench measures purge-worker against the numbers it promises:
// the calls it makes against the contract's lower bound (and against what a
// naive worker and per-intent chunking would send), its intake against a
// bare JetStream consume-and-ack loop, the latency from publish to the
// covering call, CPU and peak memory.
//
// Each scenario starts its own embedded JetStream server, cftest (the
// in-process fake of Cloudflare's purge API) with a plan's limits, and the
// worker in-process through its public API, wired as the daemon wires it.
// It prints a table and, with -json, writes the figures as JSON. See
// BENCHMARKS.md for the scenarios, the results on the reference machine
// and how to reproduce them.
//
//	purge-bench                                # every scenario, full size
//	purge-bench -scenario cms-burst,storm -json out.json
//	purge-bench -scale 0.01                    # a quick smoke of everything
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
)

func main() {
	if os.Getenv(childEnv) == childBacklog {
		os.Exit(childMain(os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the flags, runs the scenarios and reports; it returns the
// exit code: 0 when every scenario ran (missed targets are reported, not
// failed), 1 when one could not run, 2 for bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s, out, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	scs, err := pick(out.list)
	if err != nil {
		fmt.Fprintln(stderr, "purge-bench:", err)
		return 2
	}
	rep, err := bench(ctx, s, scs)
	if err != nil {
		fmt.Fprintln(stderr, "purge-bench:", err)
		return 1
	}
	rep.Command = commandLine(args)
	table := stdout
	if out.json == "-" {
		table = stderr
	}
	printTable(table, rep)
	if out.json != "" {
		if err := writeJSON(out.json, stdout, rep); err != nil {
			fmt.Fprintln(stderr, "purge-bench: -json:", err)
			return 1
		}
	}
	return 0
}

// output is what the flags say to run and where to write it.
type output struct {
	list string // -scenario
	json string // -json
}

// parseFlags reads the command line. Errors have been printed to stderr.
func parseFlags(args []string, stderr io.Writer) (settings, output, error) {
	fs := flag.NewFlagSet("purge-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var out output
	fs.StringVar(&out.list, "scenario", "all", "scenarios to run: all, or a comma list of "+scenarioNames())
	fs.StringVar(&out.json, "json", "", "also write the results as JSON to this file (- for stdout)")
	s := settings{stderr: stderr, log: slog.New(slog.DiscardHandler)}
	fs.Float64Var(&s.scale, "scale", 1, "multiply every scenario's size (intents, duration) by this")
	fs.StringVar(&s.plan, "plan", "", "Cloudflare plan for cftest and the worker: "+strings.Join(cfclient.Plans, ", ")+
		" (default: each scenario's own; free-backlog is always free)")
	fs.BoolVar(&s.unlimited, "unlimited", false, "turn cftest's rate buckets off (per-request maxima still apply)")
	fs.DurationVar(&s.window, "window", time.Second, "the worker's batch.window")
	fs.Float64Var(&s.rate, "rate", 2000, "steady: intents per second")
	fs.DurationVar(&s.steadyFor, "for", 20*time.Second, "steady: how long to publish, before -scale")
	fs.BoolVar(&s.isolate, "isolate", true, "backlog: drain in a child process so that its peak RSS is its own")
	fs.BoolVar(&s.aged, "aged", true, "backlog: also drain with the daemon once the stream's duplicate window has passed since the publish (waits for it if need be)")
	fs.DurationVar(&s.timeout, "timeout", 15*time.Minute, "longest a scenario may wait for the stream to drain")
	fs.StringVar(&s.profile, "cpuprofile", "", "write a CPU profile of each scenario's measured phase (the drain) to FILE.<scenario>")
	fs.StringVar(&s.callsOut, "calls", "", "append every call cftest received to this CSV file (scenario, ms after the worker started, zone, endpoint, type, keys, outcome)")
	fs.StringVar(&s.memProfile, "memprofile", "", "backlog: write a heap profile of the draining process near its peak to this file")
	verbose := fs.Bool("v", false, "log the worker's debug output to stderr")
	if err := fs.Parse(args); err != nil {
		return s, out, err
	}
	if err := s.check(fs.NArg()); err != nil {
		fmt.Fprintln(stderr, "purge-bench:", err)
		return s, out, err
	}
	if *verbose {
		s.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return s, out, nil
}

// check validates the settings from the flags.
func (s settings) check(extra int) error {
	switch {
	case extra > 0:
		return errors.New("unexpected arguments; every option is a flag")
	case !(s.scale > 0) || s.scale > 100:
		return fmt.Errorf("-scale %v: want a number above 0 and at most 100", s.scale)
	case s.window <= 0:
		return fmt.Errorf("-window %s: want a positive duration", s.window)
	case !(s.rate > 0):
		return fmt.Errorf("-rate %v: want a positive number", s.rate)
	case s.steadyFor <= 0:
		return fmt.Errorf("-for %s: want a positive duration", s.steadyFor)
	case s.timeout <= 0:
		return fmt.Errorf("-timeout %s: want a positive duration", s.timeout)
	}
	if _, ok := cfclient.PlanLimits(s.plan); s.plan != "" && !ok {
		return fmt.Errorf("-plan %q: want one of %s", s.plan, strings.Join(cfclient.Plans, ", "))
	}
	return nil
}

// bench runs the scenarios one after the other and checks the targets.
func bench(ctx context.Context, s settings, scs []scenario) (report, error) {
	rep := report{Machine: describeMachine(), Started: time.Now().UTC(), Scale: s.scale, WindowMS: s.window.Milliseconds()}
	for _, sc := range scs {
		fmt.Fprintf(s.stderr, "%s: %s\n", sc.name, sc.about)
		start, load := time.Now(), loadAverage()
		stalls := watchStalls()
		res, err := sc.run(ctx, s)
		stall := stalls()
		if err != nil {
			return rep, fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		res.LoadStart, res.LoadEnd, res.MaxStallMS = load, loadAverage(), ms(stall)
		fmt.Fprintf(s.stderr, "%s: %d intents, %d calls (bound %d), drained in %.2fs; took %s; load %.2f -> %.2f, worst stall %.0fms\n",
			sc.name, res.Intents, res.Calls, res.Bound, res.DrainSeconds, time.Since(start).Round(time.Millisecond),
			res.LoadStart, res.LoadEnd, res.MaxStallMS)
		rep.Results = append(rep.Results, res)
	}
	rep.Targets = targets(rep.Results)
	return rep, nil
}

func scenarioNames() string {
	var names []string
	for _, sc := range scenarios() {
		names = append(names, sc.name)
	}
	return strings.Join(names, ", ")
}
