package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The deploy example, as a pipeline runs it: the files a commit changed
// under public/ are purged, and the script exits 0 only once the sandbox
// has answered a call holding every one of them; a site no zone serves is
// dead-lettered, and the script exits 1 with the reason.
func TestDeployExampleWaitsForThePurge(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to run the deploy example")
	}
	s := newStack(t, nil)
	site := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=ci", "-c", "user.email=ci@example.com"}, args...)...)
		cmd.Dir = site
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(site, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("public/index.html", "v1")
	write("public/css/site.css", "v1")
	write("public/blog/old-post/index.html", "v1")
	write("README.md", "v1")
	git("add", "-A")
	git("commit", "-qm", "first")
	write("public/index.html", "v2")
	write("public/css/site.css", "v2")
	write("README.md", "v2")
	git("rm", "-q", "public/blog/old-post/index.html")
	git("add", "-A")
	git("commit", "-qm", "deploy")

	script := filepath.Join(repoRoot, "examples", "purge-after-deploy.sh")
	run := func(siteURL string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", script, siteURL)
		cmd.Dir = site
		cmd.Env = cleanEnv("NATS_URL="+s.natsURL, "PURGECTL="+ctlBin, "PURGE_WAIT=1m")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
	}

	r := run("https://www.example.com/")
	if r.code != 0 || !strings.Contains(r.stdout, "1 purged, 0 dead-lettered, 0 pending") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	purged := s.purged()
	for _, u := range []string{
		"https://www.example.com/index.html", "https://www.example.com/",
		"https://www.example.com/css/site.css",
		"https://www.example.com/blog/old-post/index.html", "https://www.example.com/blog/old-post/",
	} {
		if purged[u] == 0 {
			t.Errorf("the script exited 0 but the sandbox never purged %s (purged: %v)", u, purged)
		}
	}
	if len(purged) != 5 {
		t.Errorf("purged %v, want the 5 URLs of the changed files only", purged)
	}

	r = run("https://www.not-configured.org")
	if r.code != 1 || !strings.Contains(r.stdout, "dead-lettered id=") || !strings.Contains(r.stdout, "www.not-configured.org") {
		t.Fatalf("for a site no zone serves: exit %d, want 1 with the reason\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
