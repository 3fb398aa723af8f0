package daemon

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// wrongToken is a bearer token a client tries; it must not be logged either.
const wrongToken = "WRONG-s3cr3t-0a1b2c3d4e5f6a7b"

// noSecrets fails the test if text, seen at where, holds any configured
// secret or the token a client tried.
func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for name, s := range map[string]string{
		"cloudflare api_token": cfToken,
		"cloudflare api_key":   cfKey,
		"ingest token":         ingestToken,
		"tried bearer token":   wrongToken,
	} {
		if strings.Contains(text, s) {
			i := strings.Index(text, s)
			t.Errorf("%s shows the %s: ...%s...", where, name, text[max(0, i-200):min(len(text), i+len(s)+50)])
		}
	}
}

// The secrets must stay out of everything the daemon writes: its logs at
// debug level, /metrics, /readyz, the status page, dead letters and its
// errors, across successful calls, invalid intents, a key Cloudflare
// refuses, a refused ingest token and a revoked Cloudflare token.
func TestSecretsNeverLeak(t *testing.T) {
	s := newStack(t)
	d := s.start()

	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/ok"}}})
	d.publish(&intent.Intent{Zone: "example.org", Files: []intent.File{{URL: "https://www.example.org/ok"}}})
	if code, body := s.postIntents(ingestToken, `{"zone":"example.com","tags":["from-http"]}`); code != http.StatusAccepted {
		t.Fatalf("POST with the ingest token: %d %s", code, body)
	}
	if code, body := s.postIntents(wrongToken, `{"zone":"example.com","tags":["x"]}`); code != http.StatusUnauthorized {
		t.Fatalf("POST with a wrong token: %d %s", code, body)
	}

	// Invalid intents: dead-lettered by the worker's own checks.
	d.publishRaw("purge.example_com", []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`))
	d.publishRaw("purge.example_com", []byte(`{"zone":"example.com",`))
	// A key Cloudflare refuses, in both accounts: found by bisection and
	// dead-lettered with Cloudflare's answer as the reason.
	s.cf.RejectKeys("https://www.example.com/rejected", "https://www.example.org/rejected")
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{
		{URL: "https://www.example.com/rejected"}, {URL: "https://www.example.com/fine"}}})
	d.publish(&intent.Intent{Zone: "example.org", Files: []intent.File{{URL: "https://www.example.org/rejected"}}})

	testutil.Eventually(s.t, 20*time.Second, "four dead letters and a drained stream", func() bool {
		return len(d.dlq()) == 4 && d.drained()
	})
	if !s.acceptedKeys(zoneCom)["https://www.example.com/ok"] || !s.acceptedKeys(zoneOrg)["https://www.example.org/ok"] {
		t.Error("the good URLs were not purged")
	}

	// A revoked token: 403, the account pauses, nothing is dead-lettered.
	s.acct.SetToken("")
	s.legacy.SetEmailKey("", "")
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/after-revoke"}}})
	d.publish(&intent.Intent{Zone: "example.org", Files: []intent.File{{URL: "https://www.example.org/after-revoke"}}})
	var ready string
	testutil.Eventually(s.t, 20*time.Second, "/readyz reporting both paused accounts", func() bool {
		code, body := s.get("/readyz")
		ready = body
		return code == http.StatusServiceUnavailable && strings.Contains(body, "default") && strings.Contains(body, "legacy")
	})
	if n := len(d.dlq()); n != 4 {
		t.Errorf("%d dead letters after the token was revoked, want still 4", n)
	}

	_, metrics := s.get("/metrics")
	_, status := s.get("/")
	if !strings.Contains(status, "Cloudflare refused the credentials") {
		t.Error("the status page does not show the paused accounts: the scenario did not run as intended")
	}
	dlq := d.dlq()
	err := d.stop()
	if err != nil {
		t.Errorf("Run: %v", err)
		noSecrets(t, "Run's error", err.Error())
	}

	logs := s.logs.String()
	for _, want := range []string{`"level":"DEBUG"`, "dead_lettered", "account_auth_failed", "purge_call"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s: the scenario did not run as intended", want)
		}
	}
	noSecrets(t, "logs", logs)
	noSecrets(t, "/metrics", metrics)
	noSecrets(t, "/readyz", ready)
	noSecrets(t, "the status page", status)
	refused := 0
	for _, m := range dlq {
		if strings.HasPrefix(m.Header.Get(worker.HeaderError), "cloudflare refused https://www.example.") {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d dead letters carry Cloudflare's refusal, want 2", refused)
	}
	for i, m := range dlq {
		if m.Header.Get(worker.HeaderError) == "" {
			t.Errorf("dead letter %d has no %s header", i, worker.HeaderError)
		}
		noSecrets(t, fmt.Sprintf("dead letter %d", i), fmt.Sprint(m.Header)+string(m.Data))
	}
}
