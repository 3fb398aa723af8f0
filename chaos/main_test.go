// Package chaos holds purge-worker's reliability tests: a chaos test that
// runs the real purge-worker binary against an in-process JetStream server
// and the fake Cloudflare API (cftest) while faults are injected, the
// worker is killed with SIGKILL and the NATS server is restarted, and then
// proves that no invalidation was lost; and tests of hostile input
// published through NATS. The package is test-only: it has nothing to
// import.
//
// The chaos test is short by default (about a minute, for CI); set
// PURGE_CHAOS_DURATION (such as 10m) for a long run, PURGE_CHAOS_SEED to
// repeat a run's random choices, and PURGE_CHAOS_KEEP to a directory to
// keep the worker's logs and the report. A long run needs a longer test
// timeout than go test's 10m default:
//
//	PURGE_CHAOS_DURATION=10m go test -race -timeout 30m -run TestChaos -v ./chaos/
package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// workerBin is the purge-worker binary TestMain builds for the chaos test.
// It is set once, before any test runs.
var workerBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "purge-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildWorker(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	workerBin = bin
	return m.Run()
}

// buildWorker builds cmd/purge-worker into dir, with the race detector when
// the tests run with it, so that a race in the daemon under chaos fails the
// test too.
func buildWorker(dir string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root not found above the chaos package: %w", err)
	}
	out := filepath.Join(dir, "purge-worker")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/purge-worker")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, b)
	}
	return out, nil
}
