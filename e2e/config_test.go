package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneLine checks that out is a single line holding every one of want.
func oneLine(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("%s: output is not one line: %q", what, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output %q does not contain %q", what, out, w)
		}
	}
}

func TestStartupConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCmd(t, dir, "", workerBin, "-config", "nonexistent.yaml")
	if r.code == 0 {
		t.Fatal("purge-worker -config nonexistent.yaml exited 0")
	}
	oneLine(t, "missing file", r.stderr, "nonexistent.yaml")

	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "sandbox.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "batch:\n  window: 1s\n", "batch:\n  window: 1s\n  windw: 2s\n", 1)
	if bad == string(data) {
		t.Fatal("examples/sandbox.yaml has no batch.window line to edit")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCmd(t, dir, "", workerBin, "-config", "bad.yaml")
	if r.code == 0 {
		t.Fatal("purge-worker started with an unknown key")
	}
	oneLine(t, "unknown key", r.stderr, "bad.yaml", "batch.windw")
	r = runCmd(t, dir, "", ctlBin, "validate-config", "-config", "bad.yaml")
	if r.code == 0 || !strings.Contains(r.stderr, "batch.windw") {
		t.Errorf("purgectl validate-config of a bad file: exit %d, %q", r.code, r.stderr)
	}
}

func TestValidateConfigOfTheRepository(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"config.yaml", "examples/sandbox.yaml"} {
		r := runCmd(t, repoRoot, "", ctlBin, "validate-config", "-config", name)
		if r.code != 0 || !strings.Contains(r.stdout, name+": ok") {
			t.Errorf("purgectl validate-config -config %s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
	}
}

// The README's first command, `go run ./cmd/purge-worker`, runs the shipped
// config.yaml: a dry run on an embedded JetStream. The ports are moved to
// free ones and the working directory is a temporary one, so ./data/nats
// lands there; nothing else is changed.
func TestShippedConfigRunsADryRun(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	cfg := string(data)
	cfg = replaceOnce(t, cfg, "listen: 127.0.0.1:4222", "listen: "+natsAddr)
	cfg = replaceOnce(t, cfg, "listen: 127.0.0.1:8080", "listen: "+httpAddr)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	w := startProc(t, dir, workerBin) // -config defaults to config.yaml
	eventually(t, 30*time.Second, "/readyz to answer 200", func() bool {
		if w.exited() {
			t.Fatalf("purge-worker exited: %v\n%s", w.err, w.stderr)
		}
		code, _ := httpGet("http://" + httpAddr + "/readyz")
		return code == http.StatusOK
	})
	warn := w.logged("dry_run")
	if len(warn) != 1 || warn[0]["level"] != "WARN" || warn[0]["reason"] != "no account has credentials and nats.url is embedded" {
		t.Errorf("dry-run warning %v; want one WARN record with the reason", warn)
	}
	if code, body := httpGet("http://" + httpAddr + "/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ready (dry run)" {
		t.Errorf("/readyz: %d %q, want 200 %q", code, body, "ready (dry run)")
	}
	if len(w.logged("embedded_nats_started")) != 1 {
		t.Error("no embedded_nats_started log line")
	}
	if st, err := os.Stat(filepath.Join(dir, "data", "nats")); err != nil || !st.IsDir() {
		t.Errorf("./data/nats was not created in the working directory: %v", err)
	}

	natsURL := "nats://" + natsAddr
	ctl(t, "", "publish", "--server", natsURL, "--zone", "example.com", "--url", "https://www.example.com/dry")
	eventually(t, 30*time.Second, "the stream to drain", func() bool { return ctlStatus(t, natsURL).drained() })
	eventually(t, 30*time.Second, "the dry_run_purge log line", func() bool { return len(w.logged("dry_run_purge")) == 1 })
	rec := w.logged("dry_run_purge")[0]
	if rec["zone_id"] != zoneID || rec["type"] != "files" || rec["keys"] != float64(1) {
		t.Errorf("dry_run_purge record %v", rec)
	}
}
