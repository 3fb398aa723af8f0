package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// purgeWorker runs the command in-process.
func purgeWorker(args ...string) (int, string) {
	var stderr bytes.Buffer
	code := run(args, &stderr)
	return code, stderr.String()
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "purge-worker.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionAndHelp(t *testing.T) {
	code, out := purgeWorker("-version")
	if code != 0 || !strings.HasPrefix(out, "purge-worker ") {
		t.Errorf("-version: exit %d, %q", code, out)
	}
	code, out = purgeWorker("-h")
	if code != 0 || !strings.Contains(out, "-config") || !strings.Contains(out, "PURGE_WORKER_CONFIG") {
		t.Errorf("-h: exit %d, %q; want 0 and the flags", code, out)
	}
	code, out = purgeWorker("-nope")
	if code != 2 || !strings.Contains(out, "-nope") {
		t.Errorf("-nope: exit %d, %q; want 2 naming the flag", code, out)
	}
}

// oneLine checks that out is exactly one line holding every one of want.
func oneLine(t *testing.T, out string, want ...string) {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("output is not one line: %q", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output %q does not contain %q", out, w)
		}
	}
}

func TestMissingConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nonexistent.yaml")
	code, out := purgeWorker("-config", p)
	if code == 0 {
		t.Fatal("exit 0 without a config file")
	}
	oneLine(t, out, "purge-worker: ", p)
}

func TestConfigFileDefaults(t *testing.T) {
	t.Run("config.yaml in the working directory", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("PURGE_WORKER_CONFIG", "")
		code, out := purgeWorker()
		if code == 0 {
			t.Fatal("exit 0 without a config file")
		}
		oneLine(t, out, "config.yaml")
	})
	t.Run("PURGE_WORKER_CONFIG", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "from-env.yaml")
		t.Setenv("PURGE_WORKER_CONFIG", p)
		code, out := purgeWorker()
		if code == 0 {
			t.Fatal("exit 0 without a config file")
		}
		oneLine(t, out, p)
	})
}

const minimalConfig = `
cloudflare:
  accounts: [{name: default, plan: free}]
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]
`

func TestConfigWithUnknownKey(t *testing.T) {
	p := writeConfig(t, minimalConfig+"batch: {window: 1s, widnow: 2s}\n")
	code, out := purgeWorker("-config", p)
	if code == 0 {
		t.Fatal("exit 0 with an unknown key")
	}
	oneLine(t, out, p, "batch.widnow")
}

// Against an external NATS, a token variable that is not set stops start-up
// with the key and the variable named, before any connection is tried: a dry
// run there would ack every intent away unpurged.
func TestExternalNATSWithoutTokenRefusesToStart(t *testing.T) {
	t.Setenv("PURGE_TEST_UNSET_TOKEN", "")
	p := writeConfig(t, `
nats: {url: "nats://`+freeAddr(t)+`"}
cloudflare:
  accounts: [{name: default, plan: free, api_token: "${PURGE_TEST_UNSET_TOKEN}"}]
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]
`)
	code, out := purgeWorker("-config", p)
	if code == 0 {
		t.Fatal("exit 0 against an external NATS without a token")
	}
	oneLine(t, out, p, "cloudflare.accounts[0]", "${PURGE_TEST_UNSET_TOKEN}", "dry_run")
}

func TestBadLogSettings(t *testing.T) {
	p := writeConfig(t, minimalConfig+"log: {level: loud}\n")
	code, out := purgeWorker("-config", p)
	if code == 0 {
		t.Fatal("exit 0 with a bad log level")
	}
	if !strings.Contains(out, "log.level") {
		t.Errorf("output %q does not name log.level", out)
	}
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// syncBuffer is testutil.SyncBuffer, under the name this package's tests use.
type syncBuffer = testutil.SyncBuffer

// The daemon stops on SIGTERM and on SIGINT, exits 0, and logs that it
// stopped. The signal goes to this test process; run's handler takes it.
func TestStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			httpAddr := freeAddr(t)
			p := writeConfig(t, fmt.Sprintf(`
nats: {url: embedded, embedded: {listen: %q, store_dir: %q}}
cloudflare:
  accounts: [{name: default, plan: free}]
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]
http: {listen: %q}
log: {level: info, format: json}
shutdown_timeout: 5s
`, freeAddr(t), t.TempDir(), httpAddr))
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- run([]string{"-config", p}, &stderr) }()

			// Wait until run is serving: its signal handler is installed
			// before the daemon starts, so the signal cannot kill the test.
			deadline := time.Now().Add(20 * time.Second)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				res, err := http.Get("http://" + httpAddr + "/readyz")
				if err == nil {
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						if got := strings.TrimSpace(string(body)); got != "ready (dry run)" {
							t.Errorf("/readyz of a dry run: %q, want %q", got, "ready (dry run)")
						}
						break
					}
				}
				select {
				case code := <-done:
					t.Fatalf("run exited %d before it was ready: %s", code, stderr.String())
				case <-tick.C:
				}
				if time.Now().After(deadline) {
					t.Fatalf("not ready within 20s: %s", stderr.String())
				}
			}
			http.DefaultClient.CloseIdleConnections()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit %d after %s, want 0: %s", code, sig, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("run did not return within 30s of %s", sig)
			}
			msgs := map[string]bool{}
			for line := range strings.Lines(stderr.String()) {
				var rec struct{ Msg string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("log line is not JSON: %q", line)
					continue
				}
				msgs[rec.Msg] = true
			}
			for _, m := range []string{"starting", "dry_run", "worker_started", "worker_stopped"} {
				if !msgs[m] {
					t.Errorf("no %q log line in:\n%s", m, stderr.String())
				}
			}
		})
	}
}
