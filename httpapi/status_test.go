package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/worker"
)

// fakeStatus returns a fixed snapshot.
type fakeStatus struct{ s worker.Snapshot }

func (f fakeStatus) Snapshot(context.Context) worker.Snapshot { return f.s }

func getPage(t *testing.T, src StatusSource, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	New(Config{Page: src}).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestStatusPageShowsTheSnapshot(t *testing.T) {
	at := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	s := worker.Snapshot{
		At: at, Role: "standby", HeldMessages: 7, MaxAckPending: 20000, InFlightKeys: 3,
		Accounts: []worker.AccountState{
			{Name: "main", Flex: worker.Bucket{Tokens: 12.5, Burst: 25, PerSecond: 5.0 / 60}, URLs: worker.Bucket{Tokens: 800, Burst: 800, PerSecond: 800},
				Pause: "rate_limited", PausedFor: 4200 * time.Millisecond},
			{Name: "legacy", Pause: "auth", PausedFor: time.Minute},
		},
		Pending: []worker.PendingState{{Zone: "example.com", ZoneID: "023e", Mode: "invalidate", Keys: 43, OldestAge: 800 * time.Millisecond, NextCallIn: 200 * time.Millisecond}},
		Calls: []worker.CallRecord{{At: at.Add(-time.Second), Account: "main", Zone: "example.com", Mode: "purge", Type: "files",
			Keys: 18, Outcome: "ok", Took: 95 * time.Millisecond}},
		DeadLetters: worker.DeadLetters{Depth: 2, Recent: []worker.DeadLetter{{Seq: 9, At: at, Subject: "purge.example_com",
			Reason: `files[0]: "<script>alert(1)</script>" is not an http(s) URL`}}},
	}
	res, body := getPage(t, fakeStatus{s}, "/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`id="role" class="badge warn">standby<`,
		`<b id="held">7</b>`, `of 20000`, `<b id="pending-total">43</b>`, `<b id="in-flight">3</b>`, `<b id="dlq-depth" class="bad">2</b>`,
		`12.5 / 25`, `+5.0/min`, `800 / 800`, `+800/s`,
		`paused: rate-limited by Cloudflare (429), 4.2s left`,
		`paused: Cloudflare refused the credentials, 1m00s left`,
		`<td title="023e">example.com</td><td>invalidate</td><td class="n">43</td><td class="n">800ms</td><td class="n">in 200ms</td>`,
		`11:59:59.000`, `<td>files</td><td class="n">18</td>`, `class="ok">ok</td><td class="n">95ms</td>`,
		`purge.example_com`, `&lt;script&gt;alert(1)&lt;/script&gt;`,
		`data-refresh="2"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a dead-letter reason reached the page unescaped")
	}
}

func TestStatusPageEmptyAndRefresh(t *testing.T) {
	res, body := getPage(t, fakeStatus{worker.Snapshot{Role: "active", Consuming: true}}, "/?refresh=0")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /?refresh=0: %d", res.StatusCode)
	}
	for _, want := range []string{`class="badge ok">active<`, "Nothing pending.", "No call yet.", `data-refresh="0"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("refresh=0 still ships the refresh script")
	}

	res, body = getPage(t, fakeStatus{}, "/?refresh=soon")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `refresh: "soon"`) {
		t.Errorf("GET /?refresh=soon: %d %q, want 400 naming the parameter and value", res.StatusCode, body)
	}
	if res, _ := getPage(t, fakeStatus{}, "/nothing-here"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d, want 404", res.StatusCode)
	}
}

// The page's only script is allowed by its hash; nothing else may run or
// load.
func TestStatusPageContentSecurityPolicy(t *testing.T) {
	res, body := getPage(t, fakeStatus{worker.Snapshot{Role: "active"}}, "/")
	csp := res.Header.Get("Content-Security-Policy")
	i, j := strings.Index(body, "<script>"), strings.Index(body, "</script>")
	if i < 0 || j < i {
		t.Fatal("page has no refresh script")
	}
	if !strings.Contains(csp, "script-src '"+scriptHash(body[i+len("<script>"):j])+"'") {
		t.Errorf("CSP %q does not allow the page's script by its hash", csp)
	}
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("page may load something from elsewhere: CSP %q", csp)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0ms", 999 * time.Millisecond: "999ms", 4250 * time.Millisecond: "4.2s",
		185 * time.Second: "3m05s", 2*time.Hour + 4*time.Minute: "2h04m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
