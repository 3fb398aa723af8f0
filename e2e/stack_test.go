package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// The values examples/sandbox.yaml and `purgectl sandbox` agree on.
const (
	sandboxToken = "sandbox-token-0123456789"
	ingestToken  = "sandbox-ingest-token-0123456789"
	zoneID       = "023e105f4ecef8ad9ca31a8372d0c353"
)

// stack is the walk-through: `purgectl sandbox` and `purge-worker` with
// examples/sandbox.yaml adapted to free ports and a temporary store.
type stack struct {
	t        *testing.T
	sandbox  *proc
	worker   *proc
	dir      string // the worker's working directory
	config   string // the worker's config file
	natsURL  string
	httpAddr string
}

// replaceOnce replaces old with new in s and fails the test unless old
// occurs exactly once, so a changed example file is noticed.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("examples/sandbox.yaml holds %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// newStack starts the sandbox and the worker. edit, if not nil, changes
// the adapted config further.
func newStack(t *testing.T, edit func(string) string) *stack {
	t.Helper()
	s := &stack{t: t, dir: t.TempDir()}
	cfAddr := freeAddr(t)
	s.sandbox = startProc(t, t.TempDir(), ctlBin, "sandbox", "--listen", cfAddr, "--show-keys", "1000")
	testutil.Eventually(t, 30*time.Second, "the sandbox to listen", func() bool {
		if s.sandbox.exited() {
			t.Fatalf("purgectl sandbox exited: %s", s.sandbox.stderr)
		}
		return strings.Contains(s.sandbox.stdout.String(), "waiting for calls")
	})
	if !strings.Contains(s.sandbox.stdout.String(), "http://"+cfAddr+"/client/v4") {
		t.Fatalf("sandbox does not announce its address:\n%s", s.sandbox.stdout)
	}

	natsAddr := freeAddr(t)
	s.natsURL = "nats://" + natsAddr
	s.httpAddr = freeAddr(t)
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "sandbox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	cfg = replaceOnce(t, cfg, "listen: 127.0.0.1:4222", "listen: "+natsAddr)
	cfg = replaceOnce(t, cfg, "store_dir: ./data/sandbox-nats", "store_dir: "+filepath.Join(t.TempDir(), "nats"))
	cfg = replaceOnce(t, cfg, "http://127.0.0.1:8787/client/v4", "http://"+cfAddr+"/client/v4")
	cfg = replaceOnce(t, cfg, "listen: 127.0.0.1:8080", "listen: "+s.httpAddr)
	if edit != nil {
		cfg = edit(cfg)
	}
	s.config = filepath.Join(s.dir, "sandbox.yaml")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.worker = s.startWorker()
	return s
}

// startWorker starts purge-worker on the stack's config and waits until
// /readyz answers 200.
func (s *stack) startWorker() *proc {
	s.t.Helper()
	w := startProc(s.t, s.dir, workerBin, "-config", s.config)
	testutil.Eventually(s.t, 30*time.Second, "purge-worker /readyz to answer 200", func() bool {
		if w.exited() {
			s.t.Fatalf("purge-worker exited: %v\n%s", w.err, w.stderr)
		}
		code, _ := httpGet("http://" + s.httpAddr + "/readyz")
		return code == http.StatusOK
	})
	return w
}

// waitDrained waits until purgectl status shows the stream empty and the
// consumer holding nothing.
func (s *stack) waitDrained() status {
	s.t.Helper()
	var st status
	testutil.Eventually(s.t, 30*time.Second, "purgectl status to show the stream drained", func() bool {
		st = ctlStatus(s.t, s.natsURL)
		return st.drained()
	})
	return st
}

// call is one line the sandbox printed for a call it received.
type call struct {
	endpoint, zone, kind string
	keys, status         int
	outcome              string
	shown                []string
}

var callRe = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (\S+)\s+(\S+)\s+(\S+)\s+(\d+) keys\s+(\d+) (\S+)\s*(.*)$`)

// calls parses the sandbox's output.
func (s *stack) calls() []call {
	var out []call
	for line := range strings.Lines(s.sandbox.stdout.String()) {
		m := callRe.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		c := call{endpoint: m[1], zone: m[2], kind: m[3], outcome: m[6], shown: strings.Fields(m[7])}
		c.keys, _ = strconv.Atoi(m[4])
		c.status, _ = strconv.Atoi(m[5])
		out = append(out, c)
	}
	return out
}

// purged returns every key of every successful call.
func (s *stack) purged() map[string]int {
	out := map[string]int{}
	for _, c := range s.calls() {
		if c.outcome == "ok" {
			for _, k := range c.shown {
				out[k]++
			}
		}
	}
	return out
}
