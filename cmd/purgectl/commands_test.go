package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/internal/lease"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

func TestUsage(t *testing.T) {
	r := purgectl(t, "")
	r.wantFail(t, 2, "usage: purgectl")
	r = purgectl(t, "", "frobnicate")
	r.wantFail(t, 2, `unknown command "frobnicate"`, "usage: purgectl")
	r = purgectl(t, "", "help")
	r.wantOK(t)
	for _, cmd := range []string{"publish", "status", "dlq list", "dlq replay", "dlq purge", "validate-config", "sandbox"} {
		if !strings.Contains(r.stdout, cmd) {
			t.Errorf("usage does not mention %q", cmd)
		}
	}
	for _, cmd := range []string{"publish", "status", "validate-config", "sandbox"} {
		r := purgectl(t, "", cmd, "-h")
		if r.code != 0 || !strings.Contains(r.stderr, "-") {
			t.Errorf("%s -h: exit %d, stderr %q; want 0 and the flags", cmd, r.code, r.stderr)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const validConfig = `
nats: {url: "nats://127.0.0.1:4222"}
cloudflare:
  accounts: [{name: default, plan: free, api_token: validate-token-0123456789}]
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]
`

func TestValidateConfig(t *testing.T) {
	r := purgectl(t, "", "validate-config", "-config", writeFile(t, "good.yaml", validConfig))
	r.wantOK(t)
	for _, want := range []string{": ok", "nats://127.0.0.1:4222", "accounts: 1, zones: 1", "mode: live"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q lacks %q", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "validate-token-0123456789") {
		t.Error("validate-config printed the API token")
	}
}

func TestValidateConfigNamesTheBadKey(t *testing.T) {
	bad := writeFile(t, "bad.yaml", validConfig+"http: {listen: 127.0.0.1:8080, ingest_tokenz: []}\n")
	purgectl(t, "", "validate-config", "-config", bad).wantFail(t, 1, bad, "http.ingest_tokenz")
	bad = writeFile(t, "bad.yaml", validConfig+"batch: {window: 5}\n")
	purgectl(t, "", "validate-config", "-config", bad).wantFail(t, 1, "batch.window")
	purgectl(t, "", "validate-config", "-config", "/nonexistent/purge.yaml").wantFail(t, 1, "/nonexistent/purge.yaml")
}

func TestValidateConfigTakesTheEnvironmentDefault(t *testing.T) {
	p := writeFile(t, "env.yaml", validConfig)
	t.Setenv("PURGE_WORKER_CONFIG", p)
	r := purgectl(t, "", "validate-config")
	r.wantOK(t)
	if !strings.Contains(r.stdout, p+": ok") {
		t.Errorf("stdout %q does not name %s", r.stdout, p)
	}
}

func TestValidateConfigAcceptsTheRepositoryConfigs(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", "")
	for _, p := range []string{"../../config.yaml", "../../examples/sandbox.yaml"} {
		r := purgectl(t, "", "validate-config", "-config", p)
		r.wantOK(t)
	}
	r := purgectl(t, "", "validate-config", "-config", "../../config.yaml")
	if !strings.Contains(r.stdout, "dry run") {
		t.Errorf("config.yaml without CLOUDFLARE_API_TOKEN should be a dry run: %q", r.stdout)
	}
}

func TestStatus(t *testing.T) {
	e := newNATS(t)
	purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "a").wantOK(t)
	r := purgectl(t, "", "status", "--server", e.url)
	r.wantOK(t)
	for _, re := range []string{
		`(?m)^stream\s+PURGE\s+messages 1\s+bytes \d+\s+retention WorkQueue`,
		`(?m)^consumer\s+purge-worker\s+not created yet`,
		`(?m)^dlq\s+PURGE_DLQ\s+messages 0`,
		`(?m)^active\s+none\s+no replica has started yet`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("status output does not match %s:\n%s", re, r.stdout)
		}
	}
	if _, err := worker.Ensure(context.Background(), e.js, worker.Config{
		Stream: "PURGE", Consumer: "purge-worker", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 100, MaxDeliver: -1,
	}); err != nil {
		t.Fatal(err)
	}
	r = purgectl(t, "", "status", "--server", e.url)
	r.wantOK(t)
	if !regexp.MustCompile(`(?m)^consumer\s+purge-worker\s+pending 1\s+ack-pending 0`).MatchString(r.stdout) {
		t.Errorf("status output does not show the consumer:\n%s", r.stdout)
	}
	purgectl(t, "", "status", "--server", e.url, "--stream", "NOPE").wantFail(t, 1, "NOPE")

	kv, err := e.js.CreateKeyValue(context.Background(), lease.BucketConfig(15*time.Second, 1))
	if err != nil {
		t.Fatal(err)
	}
	term, err := lease.New(lease.Config{KV: kv, Name: "purge-worker", Holder: "replica-a", TTL: 15 * time.Second}).
		Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer term.Release(context.Background())
	r = purgectl(t, "", "status", "--server", e.url)
	r.wantOK(t)
	if want := fmt.Sprintf(`(?m)^active\s+replica-a\s+term %d\s+since `, term.ID()); !regexp.MustCompile(want).MatchString(r.stdout) {
		t.Errorf("status output does not name the active replica (%s):\n%s", want, r.stdout)
	}
}

// deadLetter stores a copy on the DLQ as the worker does.
func deadLetter(t *testing.T, e *natsEnv, subject, body, reason string) {
	t.Helper()
	msg := &nats.Msg{Subject: "purge_dlq." + strings.TrimPrefix(subject, "purge."), Data: []byte(body), Header: nats.Header{}}
	msg.Header.Set(worker.HeaderError, reason)
	msg.Header.Set(worker.HeaderSubject, subject)
	if _, err := e.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

func TestDLQListReplayPurge(t *testing.T) {
	e := newNATS(t)
	bodies := []string{
		`{"zone":"example.com","files":["ftp://www.example.com/x"]}`,
		`{"zone":"example.com","tags":["b"]}`,
		`{"zone":"example.com","tags":["c"]}`,
	}
	for i, b := range bodies {
		deadLetter(t, e, "purge.example_com", b, fmt.Sprintf(`files[0]: "reason %d"`, i))
	}

	r := purgectl(t, "", "dlq", "list", "--server", e.url)
	r.wantOK(t)
	for i, b := range bodies {
		for _, want := range []string{fmt.Sprintf("seq=%d ", i+1), fmt.Sprintf(`error: files[0]: "reason %d"`, i), "body:  " + b, "subject=purge.example_com"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("dlq list lacks %q:\n%s", want, r.stdout)
			}
		}
	}
	if !strings.Contains(r.stdout, "3 dead-lettered intents listed") {
		t.Errorf("dlq list summary missing:\n%s", r.stdout)
	}
	r = purgectl(t, "", "dlq", "list", "--server", e.url, "--limit", "1")
	r.wantOK(t)
	if !strings.Contains(r.stdout, "1 dead-lettered intents listed") || strings.Contains(r.stdout, "seq=2") {
		t.Errorf("dlq list --limit 1:\n%s", r.stdout)
	}

	r = purgectl(t, "", "dlq", "replay", "--server", e.url, "--seq", "2")
	r.wantOK(t)
	if !strings.Contains(r.stdout, "replayed seq=2 to purge.example_com") || !strings.Contains(r.stdout, "1 intents replayed") {
		t.Errorf("dlq replay:\n%s", r.stdout)
	}
	replayed := msgs(t, e.st)
	if len(replayed) != 1 || string(replayed[0].Data) != bodies[1] || replayed[0].Subject != "purge.example_com" ||
		!strings.HasPrefix(replayed[0].Header.Get(nats.MsgIdHdr), "replay-") {
		t.Fatalf("replayed messages %+v, want the body of seq 2 on purge.example_com with a fresh id", replayed)
	}
	if n := len(msgs(t, e.dlq)); n != 2 {
		t.Errorf("%d dead letters after replaying one of 3, want 2", n)
	}

	r = purgectl(t, "", "dlq", "purge", "--server", e.url, "--all")
	r.wantOK(t)
	if !strings.Contains(r.stdout, "2 dead-lettered intents deleted") {
		t.Errorf("dlq purge --all:\n%s", r.stdout)
	}
	if n := len(msgs(t, e.dlq)); n != 0 {
		t.Errorf("%d dead letters after purge --all, want 0", n)
	}
	r = purgectl(t, "", "dlq", "list", "--server", e.url)
	r.wantOK(t)
	if !strings.Contains(r.stdout, "0 dead-lettered intents listed") {
		t.Errorf("dlq list of an empty DLQ:\n%s", r.stdout)
	}
}

func TestDLQUsageErrors(t *testing.T) {
	e := newNATS(t)
	purgectl(t, "", "dlq").wantFail(t, 1, "missing subcommand")
	purgectl(t, "", "dlq", "replay", "--server", e.url).wantFail(t, 1, "--seq", "--all")
	purgectl(t, "", "dlq", "purge", "--server", e.url, "--all", "--seq", "1").wantFail(t, 1, "--seq", "--all")
	purgectl(t, "", "dlq", "purge", "--server", e.url, "--seq", "x1").wantFail(t, 1, `"x1"`)
	purgectl(t, "", "dlq", "purge", "--server", e.url, "--seq", "99").wantFail(t, 1, "seq 99")
	purgectl(t, "", "dlq", "list", "--server", e.url, "--dlq-stream", "NOPE").wantFail(t, 1, "NOPE")
	purgectl(t, "", "dlq", "bogus", "--server", e.url).wantFail(t, 1, `unknown subcommand "bogus"`)
}

// A mistyped subcommand is a usage error: it must be reported as such,
// not as whatever connecting to NATS says.
func TestDLQUnknownSubcommandIsReportedBeforeConnecting(t *testing.T) {
	dead := "nats://" + testutil.FreeAddr(t)
	purgectl(t, "", "dlq", "lst", "--server", dead).wantFail(t, 1, `unknown subcommand "lst"`)
}

func TestSandboxPrintsTheCallsItReceives(t *testing.T) {
	var out, errOut testutil.SyncBuffer
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.sandbox(ctx, []string{"--listen", "127.0.0.1:0", "--token", "sandbox-test-token-0123",
			"--zone", "example.com=023e105f4ecef8ad9ca31a8372d0c353", "--zone", "example.org=1b2c3d4e5f60718293a4b5c6d7e8f901"})
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sandbox returned %v after cancel, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("sandbox did not stop within 30s of cancel")
		}
	}()
	addr := regexp.MustCompile(`on (http://\S+/client/v4)`)
	var base string
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for base == "" {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox printed no address: %q %q", out.String(), errOut.String())
		}
		<-tick.C
	}
	c := cfclient.New(base, cfclient.Auth{Token: "sandbox-test-token-0123"}, http.DefaultClient)
	req := cfclient.Request{}
	for i := range 7 {
		req.Files = append(req.Files, cfclient.File{URL: fmt.Sprintf("https://www.example.org/%d", i)})
	}
	if _, err := c.Purge(context.Background(), "1b2c3d4e5f60718293a4b5c6d7e8f901", cfclient.ModePurge, req); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} purge_cache\s+example\.org\s+files\s+7 keys\s+200 ok\s+https://www\.example\.org/0 .* \.\.\. \(\+2 more\)$`)
	if !line.MatchString(out.String()) {
		t.Errorf("sandbox output does not show the call:\n%s", out.String())
	}
}

func TestSandboxFlagErrors(t *testing.T) {
	purgectl(t, "", "sandbox", "--plan", "platinum").wantFail(t, 1, `"platinum"`)
	purgectl(t, "", "sandbox", "--listen", "127.0.0.1:0", "--zone", "example.com").wantFail(t, 1, `"example.com"`, "name=id")
	purgectl(t, "", "sandbox", "--listen", "256.0.0.1:1").wantFail(t, 1, "--listen")
}

// A malformed --zone must be a usage error naming the value, not a crash:
// cftest's AddZone panics on a bad or repeated id, as httptest does on
// misuse, so sandbox has to check the flag first.
func TestSandboxRefusesABadZoneID(t *testing.T) {
	for _, zone := range []string{"example.com=not-a-zone-id", "example.com="} {
		t.Run(zone, func(t *testing.T) {
			var r result
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("purgectl sandbox --zone %s panicked: %v", zone, p)
					}
				}()
				r = purgectl(t, "", "sandbox", "--listen", "127.0.0.1:0", "--zone", zone)
			}()
			r.wantFail(t, 1, zone)
		})
	}
	t.Run("repeated", func(t *testing.T) {
		z := "example.com=023e105f4ecef8ad9ca31a8372d0c353"
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("purgectl sandbox with a repeated --zone panicked: %v", p)
				}
			}()
			r = purgectl(t, "", "sandbox", "--listen", "127.0.0.1:0", "--zone", z, "--zone", z)
		}()
		r.wantFail(t, 1, "023e105f4ecef8ad9ca31a8372d0c353")
	})
}
