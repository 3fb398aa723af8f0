package daemon

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/purge-worker/purge-worker/intent"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

// The status page, in a real browser, while the daemon works: the
// walk-through's 43 intents wait as 21 keys, become one files call and one
// tags call, a refused key shows as an account paused for auth, an invalid
// intent as a dead letter with its reason. The page updates itself.
func TestStatusPageInABrowser(t *testing.T) {
	b := newBrowser(t)
	s := newStack(t)
	// A window long enough that nothing leaves before the test has looked.
	// Filling max_ack_pending later sends the oldest group at once (a capped
	// worker); the rest go when their window ends.
	s.edit = func(y string) string {
		y = strings.Replace(y, "batch:\n  window: 200ms", "batch:\n  window: 15s", 1)
		return strings.Replace(y, "nats:\n  url: embedded\n", "nats:\n  url: embedded\n  ack_wait: 5m\n  max_ack_pending: 60\n", 1)
	}
	s.legacy.SetEmailKey("", "") // Cloudflare now refuses example.org's account
	d := s.start()

	asset := func(i int) *intent.Intent {
		return &intent.Intent{Zone: "example.com", Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/assets/%d.css", i%15)}}}
	}
	for i := range 40 {
		d.publish(asset(i))
	}
	for i := 1; i <= 3; i++ {
		d.publish(&intent.Intent{Zone: "example.com", Tags: []string{fmt.Sprintf("post-%d", i)},
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/posts/%d", i)}}})
	}
	d.publish(&intent.Intent{Zone: "example.org", Hosts: []string{"shop.example.org"}})
	d.publishRaw("purge.example_com", []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`))

	b.do(navigate(s, "/?refresh=1"))
	testutil.Eventually(s.t, 20*time.Second, "the page showing 44 held messages and a dead letter", func() bool {
		b.do(navigate(s, "/?refresh=1"))
		return b.text("#held") == "44" && b.text("#dlq-depth") == "1"
	})
	if got := b.text("#role"); got != "active" {
		t.Errorf("role shows %q, want active", got)
	}
	pending := b.rows("#pending")
	if len(pending) != 2 || !slices.Equal(pending[0][:3], []string{"example.com", "purge", "21"}) ||
		!slices.Equal(pending[1][:3], []string{"example.org", "purge", "1"}) {
		t.Errorf("pending rows %q, want example.com purge 21 keys, example.org purge 1", pending)
	}
	if len(pending) > 0 && !strings.HasPrefix(pending[0][4], "in ") {
		t.Errorf("next call %q, want in some seconds", pending[0][4])
	}
	if got := b.text("#calls"); got != "No call yet." {
		t.Errorf("calls show %q before any call was due", got)
	}
	if dl := b.text("#dead-letters"); !strings.Contains(dl, "purge.example_com") || !strings.Contains(dl, "ftp://www.example.com/x") {
		t.Errorf("dead letters show %q, want the subject and the bad URL", dl)
	}

	// Sixteen more duplicates fill max_ack_pending: the oldest group goes
	// at once, the others at the end of their window. The page is not
	// reloaded: it must update itself.
	for i := range 16 {
		d.publish(asset(i))
	}
	var calls [][]string
	t.Cleanup(func() {
		if t.Failed() {
			_, page := s.get("/?refresh=0")
			t.Logf("last calls rows %q; stale banner hidden: %v; Cloudflare saw %d calls; the page now:\n%s",
				calls, eval[bool](b, `document.getElementById("stale").hidden`), len(s.cf.Calls()), page)
		}
	})
	testutil.Eventually(s.t, 30*time.Second, "the page showing the files, tags and refused calls", func() bool {
		calls = b.rows("#calls")
		return len(calls) == 3
	})
	// time, zone, mode, type, keys, outcome, took
	var summary []string
	for _, c := range calls {
		summary = append(summary, strings.Join(c[1:6], " "))
	}
	slices.Sort(summary)
	want := []string{"example.com purge files 18 ok", "example.com purge tags 3 ok", "example.org purge hosts 1 auth"}
	if !slices.Equal(summary, want) {
		t.Errorf("calls %q, want %q", summary, want)
	}
	testutil.Eventually(s.t, 20*time.Second, "the legacy account shown paused for auth", func() bool {
		for _, r := range b.rows("#accounts") {
			if r[0] == "legacy" && strings.Contains(r[3], "Cloudflare refused the credentials") && strings.Contains(r[3], "left") {
				return true
			}
		}
		return false
	})
	if got := len(s.cf.Accepted()); got != 2 {
		t.Errorf("Cloudflare accepted %d calls, want the files call and the tags call", got)
	}

	// A new burst waits in its window: the state the README shows.
	for i := range 5 {
		d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/blog/%d", i)}}})
	}
	testutil.Eventually(s.t, 20*time.Second, "the new burst pending", func() bool {
		for _, r := range b.rows("#pending") {
			if slices.Equal(r[:3], []string{"example.com", "purge", "5"}) {
				return true
			}
		}
		return false
	})
	png := b.screenshot()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Fatalf("screenshot is not a plausible PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(t.ArtifactDir()+"/status-page.png", png, 0o644); err != nil {
		t.Fatal(err)
	}
	if *screenshotTo != "" {
		if err := os.WriteFile(*screenshotTo, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Everything the page showed is plain text a browser rendered; none of
	// it is a secret.
	_, page := s.get("/")
	noSecrets(t, "the status page", page+b.text("body"))
}

func navigate(s *stack, path string) chromedp.Action[chromedp.Void] {
	return chromedp.Navigate("http://" + s.httpAddr + path)
}
