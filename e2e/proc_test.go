package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// syncBuffer is testutil.SyncBuffer, under the name this package's tests use.
type syncBuffer = testutil.SyncBuffer

// cleanEnv is the test's environment without the variables the binaries
// read, so that the developer's shell cannot change what a test sees.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "CLOUDFLARE_API_TOKEN", "NATS_URL", "PURGE_WORKER_CONFIG", "PURGE_INGEST_TOKEN":
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// proc is a long-running subprocess, killed when the test ends.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // Wait's result, once done is closed
}

func startProc(t *testing.T, dir string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: bin, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", p.name, p.stdout, p.name, p.stderr)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig and waits, generously, for the process to exit; it
// returns the exit code.
func (p *proc) signal(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("%s did not exit within 60s of %s", p.name, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// logs returns the JSON log records the process wrote to stderr.
func (p *proc) logs() []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(p.stderr.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// logged returns the records whose msg is msg.
func (p *proc) logged(msg string) []map[string]any {
	var out []map[string]any
	for _, rec := range p.logs() {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// result is what one short command did.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs bin to completion (killed after a generous timeout) in dir.
func runCmd(t *testing.T, dir, stdin, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// ctl runs purgectl and requires it to succeed.
func ctl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := runCmd(t, t.TempDir(), stdin, ctlBin, args...)
	if r.code != 0 {
		t.Fatalf("purgectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

func httpGet(url string) (int, string) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// status is what `purgectl status` reported.
type status struct {
	streamMsgs, pending, ackPending, dlqMsgs int
	consumer                                 bool
}

var (
	streamRe   = regexp.MustCompile(`(?m)^stream\s+PURGE\s+messages (\d+)\s`)
	consumerRe = regexp.MustCompile(`(?m)^consumer\s+purge-worker\s+pending (\d+)\s+ack-pending (\d+)\s`)
	dlqRe      = regexp.MustCompile(`(?m)^dlq\s+PURGE_DLQ\s+messages (\d+)`)
)

func ctlStatus(t *testing.T, natsURL string) status {
	t.Helper()
	out := ctl(t, "", "status", "--server", natsURL)
	var s status
	m := streamRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("purgectl status shows no stream line:\n%s", out)
	}
	fmt.Sscan(m[1], &s.streamMsgs)
	if m := consumerRe.FindStringSubmatch(out); m != nil {
		s.consumer = true
		fmt.Sscan(m[1], &s.pending)
		fmt.Sscan(m[2], &s.ackPending)
	}
	if m := dlqRe.FindStringSubmatch(out); m != nil {
		fmt.Sscan(m[1], &s.dlqMsgs)
	}
	return s
}

// drained reports whether purgectl status shows nothing left to do.
func (s status) drained() bool {
	return s.streamMsgs == 0 && s.consumer && s.pending == 0 && s.ackPending == 0
}
