// Package e2e runs the built purge-worker and purgectl binaries as a user
// would: the walk-through against `purgectl sandbox`, signals, the
// dead-letter commands, HTTP ingest, start-up errors and the shipped
// config. It holds only tests.
package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

var (
	// repoRoot is the module root: the e2e package's parent directory.
	repoRoot string
	// workerBin and ctlBin are the binaries TestMain built.
	workerBin, ctlBin string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "purge-worker-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	workerBin = filepath.Join(dir, "purge-worker")
	ctlBin = filepath.Join(dir, "purgectl")
	goBin, err := goCommand()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for bin, pkg := range map[string]string{workerBin: "./cmd/purge-worker", ctlBin: "./cmd/purgectl"} {
		// Built without -race even under `go test -race`: the binaries are
		// the system under test here, not the code being raced.
		cmd := exec.Command(goBin, "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	code := m.Run()
	if code == 0 {
		// Every goroutine a test starts (output readers, waiters of the
		// processes) has an owner that stops it; the keep-alive
		// connections of http.Get are the client's pool, not a leak.
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return code
}

// goCommand finds the go command: on PATH, else under $GOROOT.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no go command on PATH or under $GOROOT")
}
