package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/status"
)

// defaultWait is how long publish --wait waits without a duration.
const defaultWait = 2 * time.Minute

// Exit codes of publish --wait besides 0 (all purged) and 2 (usage).
const (
	exitDeadLettered = 1
	exitTimeout      = 3
)

// exitError ends purgectl with a given exit code after printing its
// message (if any) the way other errors are printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// waitFlag is --wait [DURATION]: a bare --wait waits defaultWait. The flag
// package knows no optional values, so a bare --wait is a boolean flag and
// a duration right after it is joined to it before parsing (joinWait).
type waitFlag struct {
	on bool
	d  time.Duration
}

func (w *waitFlag) IsBoolFlag() bool { return true }

func (w *waitFlag) String() string {
	if w == nil || !w.on {
		return ""
	}
	return w.d.String()
}

func (w *waitFlag) Set(s string) error {
	switch s {
	case "true":
		w.on, w.d = true, defaultWait
		return nil
	case "false":
		w.on = false
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 90s or 5m, got %q", s)
	}
	w.on, w.d = true, d
	return nil
}

// joinWait turns "--wait 5m" into "--wait=5m", so that a duration after a
// bare --wait is its value rather than a stray argument.
func joinWait(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--wait" || a == "-wait") && i+1 < len(args) {
			if _, err := time.ParseDuration(args[i+1]); err == nil {
				out = append(out, a+"="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// outcomes prints tracked intents' outcomes as they settle and sums them up.
type outcomes struct {
	w            io.Writer
	quiet        bool
	purged, dead int
}

func (o *outcomes) settled(r status.Record) {
	switch r.State {
	case status.Purged:
		o.purged++
	case status.DeadLettered:
		o.dead++
	}
	if o.quiet && r.State == status.Purged {
		return
	}
	fmt.Fprintln(o.w, describe(r))
}

// describe is the one-line form of a settled record.
func describe(r status.Record) string {
	switch r.State {
	case status.DeadLettered:
		return fmt.Sprintf("dead-lettered id=%s seq=%d: %s", r.ID, r.Seq, r.Reason)
	case status.Purged:
		var calls []string
		for _, c := range r.Calls {
			calls = append(calls, fmt.Sprintf("%s call %s at %s", c.Type, c.CloudflareID, c.Issued.Format(time.RFC3339Nano)))
		}
		if len(calls) == 0 {
			calls = []string{"an earlier call"}
		}
		return fmt.Sprintf("purged id=%s seq=%d by %s", r.ID, r.Seq, strings.Join(calls, ", "))
	}
	return fmt.Sprintf("%s id=%s seq=%d", r.State, r.ID, r.Seq)
}

// finish waits for the watched intents until d has passed and turns the
// result into publish --wait's exit: nil when every intent was purged.
func (o *outcomes) finish(ctx context.Context, w *status.Watcher, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := w.Wait(wctx, o.settled)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		if ctx.Err() != nil {
			return ctx.Err() // interrupted
		}
		return err
	}
	pending := w.Unsettled()
	slices.Sort(pending)
	recs := w.Records()
	for _, id := range pending {
		note := "not received by the worker yet"
		if _, ok := recs[id]; ok {
			note = "received, not purged yet"
		}
		fmt.Fprintf(o.w, "pending id=%s: %s\n", id, note)
	}
	summary := fmt.Sprintf("%d purged, %d dead-lettered, %d pending", o.purged, o.dead, len(pending))
	switch {
	case o.dead > 0:
		return &exitError{code: exitDeadLettered, msg: summary + " (see the reasons above; `purgectl dlq list` has the intents)"}
	case len(pending) > 0:
		return &exitError{code: exitTimeout, msg: summary + fmt.Sprintf(" after waiting %s", d)}
	}
	fmt.Fprintln(o.w, summary)
	return nil
}
