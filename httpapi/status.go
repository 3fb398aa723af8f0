package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/purge-worker/purge-worker/worker"
)

// StatusSource is what the status page shows; *worker.Worker implements it.
type StatusSource interface {
	Snapshot(ctx context.Context) worker.Snapshot
}

// defaultRefresh is how often the status page reloads itself, in seconds,
// unless ?refresh= says otherwise (0 turns it off).
const defaultRefresh = 2

var (
	//go:embed status/page.html
	pageHTML string
	//go:embed status/script.js
	pageScript string

	pageTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
		"dur":          shortDuration,
		"clock":        func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
		"rfc3339":      func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
		"rate":         perSecond,
		"pauseText":    pauseText,
		"pendingTotal": pendingTotal,
	}).Parse(pageHTML))

	// pageCSP allows the page's own inline style and script and nothing
	// else: no external asset, no other script, no framing.
	pageCSP = "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; " +
		"script-src '" + scriptHash(pageScript) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// statusPage serves GET /: what the worker is doing now, as one
// server-rendered page that refreshes itself.
type statusPage struct {
	src StatusSource
	log *slog.Logger
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	refresh := defaultRefresh
	if v := r.URL.Query().Get("refresh"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			http.Error(w, fmt.Sprintf("refresh: %q is not a number of seconds from 0 to 3600", v), http.StatusBadRequest)
			return
		}
		refresh = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	data := struct {
		S       worker.Snapshot
		Refresh int
		Script  template.JS
	}{p.src.Snapshot(ctx), refresh, template.JS(pageScript)}

	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		p.log.Error("status_page_failed", "err", err)
		http.Error(w, "status page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}

func scriptHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// shortDuration formats d for people: 350ms, 4.2s, 3m05s, 2h04m.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// perSecond formats a refill rate: per second, or per minute when slower
// than one a second (the Free plan's 5 flex calls a minute).
func perSecond(r float64) string {
	if r < 1 {
		return strconv.FormatFloat(r*60, 'f', 1, 64) + "/min"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + "/s"
}

func pauseText(cause string) string {
	switch cause {
	case "rate_limited":
		return "rate-limited by Cloudflare (429)"
	case "backoff":
		return "backing off after failed calls"
	case "auth":
		return "Cloudflare refused the credentials"
	}
	return cause
}

func pendingTotal(ps []worker.PendingState) int {
	n := 0
	for _, p := range ps {
		n += p.Keys
	}
	return n
}
