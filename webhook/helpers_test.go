package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/intent"
)

// now is the time every test delivery is received at.
var now = time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)

// Secrets of the test hooks: the current one and the one being rotated out.
const (
	secret    = "current-secret-0123456789abcdef"
	oldSecret = "previous-secret-fedcba9876543210"
	wrong     = "wrong-secret-00000000000000000000"
)

func testZones(t testing.TB) *intent.Zones {
	t.Helper()
	z, err := intent.NewZones([]intent.Zone{{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// newHook builds a hook of provider with the two secrets, after checking
// the config as the daemon's loader would.
func newHook(t testing.TB, cfg config.Webhook) *Hook {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = cfg.Provider
	}
	if cfg.Secrets == nil {
		cfg.Secrets = []config.Secret{secret, oldSecret}
	}
	c := config.Default()
	c.Cloudflare.Accounts = []config.Account{{Name: "default", Plan: "free"}}
	c.Cloudflare.Zones = []config.Zone{{Name: "example.com", ID: "023e105f4ecef8ad9ca31a8372d0c353", Account: "default"}}
	c.HTTP.Webhooks = []config.Webhook{cfg}
	if err := c.Validate(); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	h, err := New(cfg, testZones(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(body []byte, header ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &Request{Method: http.MethodPost, Target: "/v1/hooks/test", Header: h, Body: body}
}

// handled runs h on r and fails unless it gives intents; it returns the
// URLs, tags, hosts and prefixes of all of them, and the intents.
func handled(t *testing.T, h *Hook, r *Request) ([]string, []string, []*intent.Intent) {
	t.Helper()
	out, err := h.Handle(r, now)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if out.Ignored != "" {
		t.Fatalf("Handle ignored the event: %s", out.Ignored)
	}
	var urls, tags []string
	for _, in := range out.Intents {
		for _, f := range in.Files {
			urls = append(urls, f.URL)
		}
		tags = append(tags, in.Tags...)
	}
	return urls, tags, out.Intents
}

func ignored(t *testing.T, h *Hook, r *Request, want string) {
	t.Helper()
	out, err := h.Handle(r, now)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if out.Ignored == "" || len(out.Intents) > 0 {
		t.Fatalf("Handle gave %d intents, want the event ignored", len(out.Intents))
	}
	if !strings.Contains(out.Ignored, want) {
		t.Errorf("ignored because %q, want a reason mentioning %q", out.Ignored, want)
	}
}

func refused(t *testing.T, h *Hook, r *Request, at time.Time, want string) {
	t.Helper()
	out, err := h.Handle(r, at)
	if !errors.Is(err, ErrUnverified) {
		t.Fatalf("Handle = %+v, %v; want an error wrapping ErrUnverified", out, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to mention %q", err, want)
	}
	for _, s := range []string{secret, oldSecret, wrong} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows a secret", err)
		}
	}
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, w)
	}
}

func contains(s []string, v string) bool { return slices.Contains(s, v) }

func itoa(i int) string { return strconv.Itoa(i) }

func jsonList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
