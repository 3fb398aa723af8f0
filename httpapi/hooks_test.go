package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/webhook"
)

const hookSecret = "ghost-secret-0123456789abcdef"

var hookNow = time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)

const ghostPublished = `{"post":{"current":{"id":"6650c1f2e4b0a1b2c3d4e5f6","slug":"hello-purge","status":"published",
"url":"https://www.example.com/hello-purge/","tags":[{"slug":"news","url":"https://www.example.com/tag/news/"}],
"authors":[{"slug":"ada","url":"https://www.example.com/author/ada/"}]},"previous":{"status":"draft"}}}`

// ghostSignature is Ghost's X-Ghost-Signature: hex HMAC-SHA256 of the body
// followed by the millisecond timestamp.
func ghostSignature(body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write(body)
	m.Write([]byte(ts))
	return "sha256=" + hex.EncodeToString(m.Sum(nil)) + ", t=" + ts
}

// sanitySignature is Sanity's: unpadded base64url HMAC-SHA256 of "<ms>.<body>".
func sanitySignature(body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func withHooks(t *testing.T, hooks ...config.Webhook) envOpt {
	return func(c *Config) {
		c.Now = func() time.Time { return hookNow }
		for _, wh := range hooks {
			h, err := webhook.New(wh, c.Zones)
			if err != nil {
				t.Fatal(err)
			}
			c.Webhooks = append(c.Webhooks, h)
		}
	}
}

var (
	ghostHook = config.Webhook{Name: "ghost", Provider: "ghost", Secrets: []config.Secret{hookSecret},
		Also: []string{"https://www.example.com/", "https://www.example.com/rss/"}}
	sanityHook = config.Webhook{Name: "sanity", Provider: "sanity", Secrets: []config.Secret{hookSecret}, Zone: "example.com",
		Pages: []config.Page{{Type: "post", URL: "https://www.example.com/posts/{slug}"}}, Priority: "normal"}
)

func (e *env) hook(name string, body []byte, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/hooks/"+name, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func TestHookGhostPublishedIsStoredTrackedAndHigh(t *testing.T) {
	e := newEnv(t, withHooks(t, ghostHook))
	body := []byte(ghostPublished)
	r := e.hook("ghost", body, "X-Ghost-Signature", ghostSignature(body, hookNow.Add(-time.Second)))
	if r.code != http.StatusAccepted || len(r.body.Accepted) != 1 {
		t.Fatalf("status %d, want 202 with one accepted intent: %s", r.code, r.raw)
	}
	msgs := e.stored()
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Header.Get(intent.HeaderTrack) != "true" || m.Header.Get(nats.MsgIdHdr) != r.body.Accepted[0].ID {
		t.Errorf("headers %v, want Purge-Track: true and the answered id as Nats-Msg-Id", m.Header)
	}
	in, err := intent.Decode(m.Data)
	if err != nil {
		t.Fatalf("stored body does not decode: %v", err)
	}
	var urls []string
	for _, f := range in.Files {
		urls = append(urls, f.URL)
	}
	slices.Sort(urls)
	want := []string{
		"https://www.example.com/", "https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
		"https://www.example.com/hello-purge/", "https://www.example.com/rss/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
	}
	if !slices.Equal(urls, want) || in.Priority != "high" || m.Subject != "purge.auto" {
		t.Errorf("stored %+v on %s, want urls %q, priority high, routed by host", in, m.Subject, want)
	}
	if got := e.hookCount("ghost", "accepted"); got != 1 {
		t.Errorf("webhook_requests_total{ghost,accepted} = %v, want 1", got)
	}
}

func TestHookTamperedIsRefusedAndNothingStored(t *testing.T) {
	e := newEnv(t, withHooks(t, ghostHook))
	body := []byte(ghostPublished)
	sig := ghostSignature(body, hookNow)
	tampered := bytes.Replace(body, []byte("hello-purge/"), []byte("other/"), 1)
	for name, r := range map[string]response{
		"tampered": e.hook("ghost", tampered, "X-Ghost-Signature", sig),
		"unsigned": e.hook("ghost", body),
		"stale":    e.hook("ghost", body, "X-Ghost-Signature", ghostSignature(body, hookNow.Add(-time.Hour))),
	} {
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", name, r.code, r.raw)
		}
		if strings.Contains(r.raw, hookSecret) {
			t.Errorf("%s: answer shows the secret", name)
		}
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored after refused deliveries, want 0", n)
	}
	if got := e.hookCount("ghost", "unauthorized"); got != 3 {
		t.Errorf("webhook_requests_total{ghost,unauthorized} = %v, want 3", got)
	}
}

func TestHookRetriedDeliveryIsStoredOnce(t *testing.T) {
	e := newEnv(t, withHooks(t, sanityHook))
	body := []byte(`{"_id":"p1","_type":"post","slug":{"current":"hello"}}`)
	send := func(at time.Time) response {
		return e.hook("sanity", body, "Sanity-Webhook-Signature", sanitySignature(body, at), "Idempotency-Key", "evt-42")
	}
	first, second := send(hookNow.Add(-time.Minute)), send(hookNow)
	if first.code != http.StatusAccepted || second.code != http.StatusAccepted {
		t.Fatalf("statuses %d, %d; want 202 twice", first.code, second.code)
	}
	if !second.body.Accepted[0].Duplicate || first.body.Accepted[0].ID != "hook-sanity-evt-42" {
		t.Errorf("accepted %+v then %+v, want id hook-sanity-evt-42 and the retry a duplicate", first.body.Accepted, second.body.Accepted)
	}
	msgs := e.stored()
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	in, _ := intent.Decode(msgs[0].Data)
	if in.Priority != "normal" || in.Zone != "example.com" {
		t.Errorf("stored %+v, want the hook's priority and zone", in)
	}
	if e.hookCount("sanity", "duplicate") != 1 || e.hookCount("sanity", "accepted") != 1 {
		t.Errorf("want one accepted and one duplicate counted")
	}
}

func TestHookIgnoredEventAnswers200WithTheReason(t *testing.T) {
	e := newEnv(t, withHooks(t, ghostHook))
	body := []byte(`{"post":{"current":{"id":"1","slug":"wip","status":"draft","url":"https://www.example.com/p/x/"},"previous":{}}}`)
	r := e.hook("ghost", body, "X-Ghost-Signature", ghostSignature(body, hookNow))
	var got map[string]string
	if err := json.Unmarshal([]byte(r.raw), &got); err != nil || r.code != http.StatusOK || !strings.Contains(got["ignored"], "not published") {
		t.Fatalf("status %d %s, want 200 {\"ignored\": ...not published...}", r.code, r.raw)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored for an ignored event", n)
	}
}

func TestHookRefusesOversizeUnknownAndUnmappable(t *testing.T) {
	e := newEnv(t, withHooks(t, ghostHook))
	big := bytes.Repeat([]byte(" "), intent.MaxBodySize+1)
	if r := e.hook("ghost", big, "X-Ghost-Signature", ghostSignature(big, hookNow)); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize: status %d, want 413", r.code)
	}
	if r := e.hook("nope", []byte(`{}`)); r.code != http.StatusNotFound {
		t.Errorf("unknown hook: status %d, want 404", r.code)
	}
	bad := []byte(`{"post":"not an object"}`)
	if r := e.hook("ghost", bad, "X-Ghost-Signature", ghostSignature(bad, hookNow)); r.code != http.StatusBadRequest {
		t.Errorf("unmappable: status %d, want 400: %s", r.code, r.raw)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if e.hookCount("ghost", "too_large") != 1 || e.hookCount("", "unknown_hook") != 1 || e.hookCount("ghost", "bad_request") != 1 {
		t.Error("results not counted by hook and result")
	}
}

// A delivery small enough to be received can still map to an intent too
// large to store (a generic mapping that builds long URLs): 413, nothing
// stored, counted as too_large.
func TestHookWhoseIntentIsTooLargeAnswers413(t *testing.T) {
	generic := config.Webhook{Name: "gen", Provider: "generic", Secrets: []config.Secret{hookSecret}, Zone: "example.com",
		CEL: config.CEL{URLs: `body.paths.map(p, 'https://www.example.com/' + p + p + p)`}}
	e := newEnv(t, withHooks(t, generic))
	paths := make([]string, 500)
	for i := range paths {
		paths[i] = fmt.Sprintf("%04d", i) + strings.Repeat("x", 1296)
	}
	body, err := json.Marshal(map[string]any{"paths": paths})
	if err != nil {
		t.Fatal(err)
	}
	if len(body) >= intent.MaxBodySize {
		t.Fatalf("the delivery (%d bytes) is meant to fit the request limit", len(body))
	}
	r := e.hook("gen", body, "Authorization", "Bearer "+hookSecret)
	if r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.raw, "body") {
		t.Fatalf("status %d %s, want 413 naming the body", r.code, r.raw)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if e.hookCount("gen", "too_large") != 1 {
		t.Error("not counted as too_large")
	}
}

func TestHookAnswers503WhenJetStreamDoesNotStore(t *testing.T) {
	e := newEnv(t, withHooks(t, ghostHook))
	if err := e.js.DeleteStream(context.Background(), "PURGE"); err != nil {
		t.Fatal(err)
	}
	body := []byte(ghostPublished)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.ts.URL+"/v1/hooks/ghost", bytes.NewReader(body))
	req.Header.Set("X-Ghost-Signature", ghostSignature(body, hookNow))
	r := e.do(req)
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", r.code, r.raw)
	}
	if e.hookCount("ghost", "unavailable") != 1 {
		t.Error("503 not counted as unavailable")
	}
}

func (e *env) hookCount(hook, result string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "purge_worker_webhook_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["hook"] == hook && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
