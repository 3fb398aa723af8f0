package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/status"
	"github.com/purge-worker/purge-worker/webhook"
)

// Config configures a Server.
type Config struct {
	// Tokens are the bearer tokens accepted by POST /v1/intents; none
	// disables ingest.
	Tokens []string
	// Zones validates intents before they are published; nil accepts any
	// zone that passes the syntax checks.
	Zones *intent.Zones
	// Publisher stores intents; nil disables ingest.
	Publisher jetstream.Publisher
	// Status reads tracked intents' records, for POST /v1/intents?wait=
	// and GET /v1/intents/{id}; nil disables both.
	Status status.Source
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() error
	// Role names what this replica does ("active", "standby"); /readyz
	// reports it in its body. A standby is ready: it is doing its job.
	// nil reports nothing.
	Role func() string
	// DryRun makes /readyz say so when ready: a dry run acks intents
	// without purging, which whoever probes or looks must be able to see.
	DryRun bool
	// Gatherer serves /metrics; nil serves no metrics.
	Gatherer prometheus.Gatherer
	// Page feeds the status page at GET /; nil serves no page.
	Page StatusSource
	// Registerer receives the server's own metrics; may be nil.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Webhooks are served at POST /v1/hooks/{name}; they store through
	// Publisher.
	Webhooks []*webhook.Hook
	// Now is the clock webhook timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
}

// Server is the HTTP server. Serve it with Serve and stop it with Shutdown.
type Server struct {
	cfg    Config
	log    *slog.Logger
	srv    *http.Server
	ingest *ingest
	hooks  *hooks
	// closing is closed when Shutdown begins.
	closing   chan struct{}
	closeOnce sync.Once
}

// New builds a Server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "http"), closing: make(chan struct{})}
	s.ingest = newIngest(cfg, s.log, s.closing)
	s.hooks = newHooks(cfg, s.log)
	s.srv = &http.Server{
		Handler: s.Handler(),
		// Bounded everything: a client that trickles its request or
		// never reads the answer cannot hold a connection for long.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	if s.cfg.Page != nil {
		mux.Handle("GET /{$}", &statusPage{src: s.cfg.Page, log: s.log})
	}
	mux.Handle("POST /v1/intents", s.ingest)
	mux.HandleFunc("GET /v1/intents/{id}", s.ingest.record)
	mux.Handle("POST /v1/hooks/{name}", s.hooks)
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	body := "ready"
	if s.cfg.Role != nil {
		body += ": " + s.cfg.Role()
	}
	if s.cfg.DryRun {
		body += " (dry run)"
	}
	_, _ = w.Write([]byte(body + "\n"))
}

// Serve serves on l until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for active requests
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	// Requests waiting for outcomes answer at once with what they have.
	s.closeOnce.Do(func() { close(s.closing) })
	return s.srv.Shutdown(ctx)
}
