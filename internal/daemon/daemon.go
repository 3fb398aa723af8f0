// Package daemon wires purge-worker together from its config: the NATS
// connection (or the embedded JetStream server), the Cloudflare clients, the
// worker and the HTTP server, and shuts them down in a fixed order. It is
// what cmd/purge-worker runs, kept out of main so that it can be tested.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/httpapi"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/natsconn"
	"github.com/purge-worker/purge-worker/webhook"
	"github.com/purge-worker/purge-worker/worker"
)

// Version is reported in logs and the Cloudflare User-Agent.
var Version = "dev"

// Run runs the daemon until ctx is cancelled, then shuts down: the worker
// stops pulling and flushes (within cfg.ShutdownTimeout), then the HTTP
// server stops, then the NATS connection drains, then the embedded server
// (if any) stops. A start-up failure is returned at once with a message
// that says what to fix.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Bind the HTTP port first: "address in use" must fail start-up, not
	// surface after the worker has taken messages.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	defer ln.Close()

	nc, stopNATS, err := connect(cfg, log)
	if err != nil {
		return err
	}
	defer stopNATS()
	reg.MustRegister(natsConnected(nc))

	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	wcfg, err := workerConfig(cfg, log, reg)
	if err != nil {
		return err
	}
	w, err := worker.New(js, wcfg)
	if err != nil {
		return err
	}
	hooks, err := webhooks(cfg, w.Zones())
	if err != nil {
		return err
	}
	srv := httpapi.New(httpapi.Config{
		Tokens:     revealAll(cfg.HTTP.IngestTokens),
		Zones:      w.Zones(),
		Publisher:  js,
		Status:     js,
		Ready:      w.Ready,
		Role:       func() string { return string(w.Role()) },
		DryRun:     cfg.DryRun(),
		Page:       w,
		Gatherer:   reg,
		Registerer: reg,
		Logger:     log,
		Webhooks:   hooks,
	})
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("http_listening", "addr", ln.Addr().String())

	runErr := w.Run(ctx)

	shCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	errs := []error{runErr}
	if err := srv.Shutdown(shCtx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := <-httpErr; err != nil {
		errs = append(errs, fmt.Errorf("http: %w", err))
	}
	return errors.Join(errs...)
}

// connect starts the embedded server when asked to, and connects. The
// returned stop drains the connection (flushing the last acks) and then
// stops the embedded server.
func connect(cfg *config.Config, log *slog.Logger) (*nats.Conn, func(), error) {
	servers := cfg.NATSServers()
	var emb *natsconn.Embedded
	if cfg.EmbeddedNATS() {
		var err error
		emb, err = natsconn.StartEmbedded(cfg.NATS.Embedded.Listen, cfg.NATS.Embedded.StoreDir, log)
		if err != nil {
			return nil, nil, fmt.Errorf("nats.embedded: %w", err)
		}
		servers = []string{emb.ClientURL()}
		log.Info("embedded_nats_started", "url", emb.ClientURL(), "store_dir", cfg.NATS.Embedded.StoreDir)
	}
	nc, err := natsconn.Connect(natsconn.Options{
		Servers:         servers,
		Name:            "purge-worker",
		CredentialsFile: cfg.NATS.CredentialsFile,
		CAFile:          cfg.NATS.TLS.CAFile,
		CertFile:        cfg.NATS.TLS.CertFile,
		KeyFile:         cfg.NATS.TLS.KeyFile,
		Logger:          log,
	})
	if err != nil {
		if emb != nil {
			emb.Shutdown()
		}
		return nil, nil, fmt.Errorf("nats.url: %w", err)
	}
	stop := func() {
		natsconn.Drain(nc, 5*time.Second)
		if emb != nil {
			emb.Shutdown()
		}
	}
	return nc, stop, nil
}

func workerConfig(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (worker.Config, error) {
	dry := cfg.DryRun()
	if dry {
		log.Warn("dry_run", "reason", cfg.DryRunReason(), "effect", "purge calls are logged, not sent, and their intents acked")
	}
	wc := worker.Config{
		Stream:          cfg.NATS.Stream,
		Consumer:        cfg.NATS.Consumer,
		DLQStream:       cfg.NATS.DLQStream,
		AckWait:         cfg.NATS.AckWait,
		MaxAckPending:   cfg.NATS.MaxAckPending,
		MaxDeliver:      cfg.NATS.MaxDeliver,
		LeaseTTL:        cfg.NATS.LeaseTTL,
		Replicas:        cfg.NATS.Replicas,
		Window:          cfg.Batch.Window,
		RememberKeys:    cfg.Batch.RememberKeys,
		ShutdownTimeout: cfg.ShutdownTimeout,
		StatusTTL:       cfg.NATS.StatusTTL,
		Logger:          log,
		Registerer:      reg,
	}
	for _, a := range cfg.Cloudflare.Accounts {
		limits, err := accountLimits(a)
		if err != nil {
			return wc, err
		}
		var p worker.Purger = worker.DryRun{Logger: log.With("component", "dry_run", "account", a.Name)}
		if !dry {
			p = cfclient.New(cfg.Cloudflare.APIBaseURL, auth(a), nil, cfclient.WithUserAgent("purge-worker/"+Version))
		}
		wc.Accounts = append(wc.Accounts, worker.Account{Name: a.Name, Limits: limits, Purger: p})
	}
	for _, z := range cfg.Cloudflare.Zones {
		wc.Zones = append(wc.Zones, worker.Zone{ID: z.ID, Name: z.Name, Account: z.Account})
	}
	return wc, nil
}

// accountLimits is the plan's limits with the account's overrides applied.
func accountLimits(a config.Account) (cfclient.Limits, error) {
	l, ok := cfclient.PlanLimits(a.Plan)
	if !ok {
		return l, fmt.Errorf("cloudflare.accounts %s: unknown plan %q", a.Name, a.Plan)
	}
	if a.MaxURLsPerRequest > 0 {
		l.MaxURLsPerRequest = a.MaxURLsPerRequest
	}
	if a.MaxKeysPerRequest > 0 {
		l.MaxKeysPerRequest = a.MaxKeysPerRequest
	}
	if a.FlexPerSecond > 0 {
		l.FlexPerSecond = a.FlexPerSecond
	}
	if a.FlexBurst > 0 {
		l.FlexBurst = a.FlexBurst
	}
	if a.URLsPerSecond > 0 {
		l.URLsPerSecond = a.URLsPerSecond
	}
	return l, nil
}

func auth(a config.Account) cfclient.Auth {
	if t := a.APIToken.Reveal(); t != "" {
		return cfclient.Auth{Token: t}
	}
	return cfclient.Auth{Email: a.APIEmail, Key: a.APIKey.Reveal()}
}

// webhooks builds the CMS webhooks of http.webhooks.
func webhooks(cfg *config.Config, zones *intent.Zones) ([]*webhook.Hook, error) {
	var out []*webhook.Hook
	for i, wh := range cfg.HTTP.Webhooks {
		h, err := webhook.New(wh, zones)
		if err != nil {
			return nil, fmt.Errorf("http.webhooks[%d].%w", i, err)
		}
		out = append(out, h)
	}
	return out, nil
}

func revealAll(ss []config.Secret) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Reveal()
	}
	return out
}
