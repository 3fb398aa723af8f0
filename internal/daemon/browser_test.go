package daemon

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

var screenshotTo = flag.String("screenshot", "", "write the status page test's screenshot (PNG) to this file, e.g. $PWD/docs/status-page.png")

// chromiumPath finds the browser the status page test drives: $CHROMIUM,
// else Debian's chromium on the PATH. A missing browser fails the test, in
// CI and elsewhere: a page nobody looked at is not tested.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the status page test needs Chromium: `apt-get install chromium` (Debian; .ci/run installs it), or set CHROMIUM to a Chromium or Chrome binary")
	return ""
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	out *testutil.SyncBuffer // the browser's own output, shown when a test fails
}

// newBrowser starts headless Chromium with a fresh profile, closed when the
// test ends. It reaches nothing but the pages the test opens.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	b := &browser{t: t, out: &testutil.SyncBuffer{}}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The page refreshes itself with timers: keep them running at
		// full rate however busy the machine is.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(b.out),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", b.out.String())
		}
	})
	b.ctx = ctx
	// The first run starts the browser and ties it to its context: this
	// one, not a shorter-lived one derived for a single step.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("browser: evaluating %s: %v", js, err)
	}
	return v
}

// text returns the visible text of the element sel, or "" if there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+jsString(sel)+`)?.innerText ?? "").trim()`)
}

// rows returns the cells' text of the rows of table sel's body.
func (b *browser) rows(sel string) [][]string {
	b.t.Helper()
	return eval[[][]string](b, `Array.from(document.querySelectorAll(`+jsString(sel+" tbody tr")+
		`), r => Array.from(r.cells, c => c.innerText.trim()))`)
}

func (b *browser) screenshot() []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	return png
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
