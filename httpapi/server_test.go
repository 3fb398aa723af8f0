package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Ready = func() error { return errors.New("not yet") } })
	r := e.get("/healthz")
	if r.code != http.StatusOK || strings.TrimSpace(r.raw) != "ok" {
		t.Fatalf("GET /healthz: %d %q, want 200 ok even when not ready", r.code, r.raw)
	}
}

func TestReadyz(t *testing.T) {
	var ready atomic.Pointer[error]
	e := newEnv(t, func(c *Config) {
		c.Ready = func() error {
			if p := ready.Load(); p != nil {
				return *p
			}
			return nil
		}
	})
	if r := e.get("/readyz"); r.code != http.StatusOK {
		t.Fatalf("GET /readyz when ready: %d %q, want 200", r.code, r.raw)
	}
	readyErr := errors.New(`account "default" paused: cloudflare refused its credentials`)
	ready.Store(&readyErr)
	r := e.get("/readyz")
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz when not ready: %d, want 503", r.code)
	}
	if !strings.Contains(r.raw, readyErr.Error()) {
		t.Errorf("GET /readyz body %q should carry the reason %q", r.raw, readyErr)
	}
}

func TestReadyzSaysDryRun(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DryRun = true })
	if r := e.get("/readyz"); r.code != http.StatusOK || strings.TrimSpace(r.raw) != "ready (dry run)" {
		t.Fatalf("GET /readyz in a dry run: %d %q, want 200 \"ready (dry run)\"", r.code, r.raw)
	}
	live := newEnv(t)
	if r := live.get("/readyz"); r.code != http.StatusOK || strings.TrimSpace(r.raw) != "ready" {
		t.Fatalf("GET /readyz live: %d %q, want 200 \"ready\"", r.code, r.raw)
	}
}

func TestReadyzWithoutReadyFuncIsReady(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Ready = nil })
	if r := e.get("/readyz"); r.code != http.StatusOK {
		t.Fatalf("GET /readyz: %d, want 200", r.code)
	}
}

func TestMetricsServesIngestCounters(t *testing.T) {
	e := newEnv(t)
	e.post(testToken, []byte(goodIntent))
	e.post(testToken, []byte(`{}`))
	e.post("", []byte(goodIntent))
	r := e.get("/metrics")
	if r.code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", r.code)
	}
	for _, want := range []string{
		"# TYPE purge_worker_ingest_requests_total counter",
		`purge_worker_ingest_requests_total{code="202"} 1`,
		`purge_worker_ingest_requests_total{code="400"} 1`,
		`purge_worker_ingest_requests_total{code="401"} 1`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, r.raw)
		}
	}
	if strings.Contains(r.raw, testToken) {
		t.Error("/metrics shows the ingest token")
	}
}

func TestMetricsNeedAGatherer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Gatherer = nil })
	if r := e.get("/metrics"); r.code != http.StatusNotFound {
		t.Fatalf("GET /metrics without a gatherer: %d, want 404", r.code)
	}
}

func TestNewRegistersOnTheRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(Config{Registerer: reg})
	// Registering the same collector twice panics: proof that New did.
	defer func() {
		if recover() == nil {
			t.Error("New did not register purge_worker_ingest_requests_total")
		}
	}()
	New(Config{Registerer: reg})
}

// serve runs s on a real listener until the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	})
	return ln.Addr().String()
}

func TestServeServesUntilShutdown(t *testing.T) {
	addr := serve(t, New(Config{}))
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", res.StatusCode)
	}
}

// A client that trickles its request headers one byte at a time must not
// hold its connection: the server's header timeout closes it. The test
// asserts only that the connection is closed within a generous bound,
// never how soon.
func TestSlowlorisIsCutOff(t *testing.T) {
	addr := serve(t, New(Config{Tokens: []string{testToken}}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	stop := make(chan struct{})
	trickled := make(chan int, 1)
	go func() {
		n := 0
		defer func() { trickled <- n }()
		if _, err := io.WriteString(conn, "POST /v1/intents HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			return
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{'a'}); err != nil {
				return // the server closed the connection
			}
			n++
		}
	}()

	// Read until the server closes; it never answers a request whose
	// headers never end, so any read returning is the close.
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, conn)
	close(stop)
	n := <-trickled
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after 30s of trickling (%d bytes sent)", n)
	}
	if n == 0 {
		t.Fatal("the client never trickled a byte: the test did not test a slow client")
	}
}
