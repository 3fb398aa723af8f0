package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// Config is everything a Worker needs. The daemon builds it from config.yaml;
// tests build it directly.
type Config struct {
	Stream        string        // work-queue stream of intents, subjects "purge.>"
	Consumer      string        // durable pull consumer shared by all replicas
	DLQStream     string        // dead-letter stream, subjects "purge_dlq.>"
	AckWait       time.Duration // consumer ack_wait; held messages are kept alive at a third of it
	MaxAckPending int           // consumer max_ack_pending: the cap on held messages
	MaxDeliver    int           // consumer max_deliver (-1: unlimited)
	// Replicas is the replication of the streams Ensure creates (the
	// consumer and the KV buckets follow the intent stream). Zero means 1.
	Replicas int

	// LeaseTTL is the TTL of the lease that makes one replica active
	// (nats.lease_ttl). It is renewed every third of it; a replica that
	// crashed is replaced within about this long. Zero means 15s.
	LeaseTTL time.Duration
	// Replica names this process in the lease. Zero means host-pid.
	Replica string

	Window          time.Duration // batch.window
	ShutdownTimeout time.Duration // how long Run may flush after its context is cancelled

	// RememberKeys (batch.remember_keys) bounds the keys of recent
	// successful calls kept with their horizons, so that a message stored
	// before such a call and received after it is acked without a call of
	// its own. 0 remembers nothing.
	RememberKeys int

	Accounts []Account
	Zones    []Zone

	// AuthRetry is how long an account whose token was refused stays paused
	// before the next call probes it again; its messages are nak'ed with
	// this delay. Zero means 30s.
	AuthRetry time.Duration
	// MaxInFlight bounds concurrent calls per account. Zero means 8.
	MaxInFlight int
	// StatusTTL (nats.status_ttl) is how long the status record of a
	// tracked intent is kept after its last change. Zero means 24h.
	StatusTTL time.Duration

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Account is one Cloudflare account: the limits of its plan and the purger
// that talks to it. All its zones share its rate limits.
type Account struct {
	Name   string
	Limits cfclient.Limits
	Purger Purger
}

// Zone is one configured Cloudflare zone and the account it belongs to.
type Zone struct {
	ID, Name, Account string
}

func (c *Config) setDefaults() {
	if c.AuthRetry <= 0 {
		c.AuthRetry = 30 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 8
	}
	if c.StatusTTL <= 0 {
		c.StatusTTL = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.Replica == "" {
		host, _ := os.Hostname()
		c.Replica = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Stream == "" || c.Consumer == "" || c.DLQStream == "" {
		errs = append(errs, errors.New("stream, consumer and dlq stream must be set"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ack wait must be at least 1s, got %s", c.AckWait))
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("lease ttl must be at least 1s, got %s", c.LeaseTTL))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window must be > 0, got %s", c.Window))
	}
	if c.RememberKeys < 0 {
		errs = append(errs, fmt.Errorf("remember keys must be >= 0, got %d", c.RememberKeys))
	}
	accts := make(map[string]bool, len(c.Accounts))
	for _, a := range c.Accounts {
		if a.Purger == nil {
			errs = append(errs, fmt.Errorf("account %q: no purger", a.Name))
		}
		if err := a.Limits.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("account %q: limits: %w", a.Name, err))
		}
		if accts[a.Name] {
			errs = append(errs, fmt.Errorf("account %q: configured twice", a.Name))
		}
		accts[a.Name] = true
	}
	for _, z := range c.Zones {
		if !accts[z.Account] {
			errs = append(errs, fmt.Errorf("zone %q: unknown account %q", z.Name, z.Account))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) intentZones() (*intent.Zones, error) {
	zs := make([]intent.Zone, len(c.Zones))
	for i, z := range c.Zones {
		zs[i] = intent.Zone{ID: z.ID, Name: z.Name}
	}
	return intent.NewZones(zs)
}
