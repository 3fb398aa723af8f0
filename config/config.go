// Package config owns purge-worker's configuration file: the config.yaml
// schema, its defaults, a strict loader that refuses unknown keys and names
// the key of every bad value, ${VAR} expansion from the environment, and the
// [Secret] type that keeps credentials out of logs and error messages.
//
// [Parse] works in a fixed order so that each step can trust the one before
// it: start from [Default], parse the YAML, expand ${VAR} inside scalar
// values, decode strictly, normalise (lowercase zone names and IDs, fill a
// zone's omitted account), read api_token_file, then [Config.Validate].
package config

import (
	"strings"
	"time"
)

// EmbeddedURL is the nats.url value that runs an in-process JetStream server
// instead of connecting to a remote one.
const EmbeddedURL = "embedded"

// Values of cloudflare.dry_run.
const (
	DryRunAuto  = "auto"
	DryRunTrue  = "true"
	DryRunFalse = "false"
)

// Cloudflare plans, the values of cloudflare.accounts[].plan. A plan selects
// the default per-request maxima and rate limits of its account.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanBusiness   = "business"
	PlanEnterprise = "enterprise"
)

// Config is the whole of config.yaml. Build one with [Default] and then
// change it, or with [Load] or [Parse], which also validate it.
type Config struct {
	NATS       NATS       `yaml:"nats"`
	Batch      Batch      `yaml:"batch"`
	Cloudflare Cloudflare `yaml:"cloudflare"`
	HTTP       HTTP       `yaml:"http"`
	Log        Log        `yaml:"log"`
	// ShutdownTimeout bounds the final flush on SIGINT/SIGTERM; what is not
	// acked by then stays in the stream for redelivery.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// envRefs maps a key path to the ${VAR} references its value was built
	// from. Error messages show these names instead of the value, because a
	// variable may hold a secret even when the key it lands in is not one.
	// It never holds a value, so printing a Config cannot leak through it.
	envRefs map[string]string
}

// NATS is the nats section: where the intents come from and how the durable
// consumer is set up.
type NATS struct {
	// URL is EmbeddedURL or a comma-separated list of nats://, tls://, ws://
	// or wss:// server URLs. Prefer CredentialsFile to a password in the URL:
	// the URL is not a Secret and shows wherever the config is printed.
	URL             string   `yaml:"url"`
	Embedded        Embedded `yaml:"embedded"`
	CredentialsFile string   `yaml:"credentials_file"`
	TLS             TLS      `yaml:"tls"`
	// Stream holds the intents (subjects purge.>).
	Stream string `yaml:"stream"`
	// Consumer is the durable pull consumer shared by all replicas.
	Consumer string `yaml:"consumer"`
	// AckWait is how long the server waits for an ack before redelivering.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxAckPending caps the messages held unacked, and so the worker's
	// memory. Unlimited (-1) is refused for that reason.
	MaxAckPending int `yaml:"max_ack_pending"`
	// MaxDeliver is the delivery limit per message; -1 means unlimited.
	MaxDeliver int `yaml:"max_deliver"`
	// DLQStream receives invalid intents (subjects purge_dlq.>).
	DLQStream string `yaml:"dlq_stream"`
	// LeaseTTL is how long the active replica's lease in the PURGE_LEASE
	// KV bucket lives without renewal; a standby takes over once it has
	// expired (at once when the active replica shuts down cleanly).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// StatusTTL is how long tracked intents' records stay in the
	// PURGE_STATUS KV bucket.
	StatusTTL time.Duration `yaml:"status_ttl"`
}

// Embedded configures the in-process server used when nats.url is
// EmbeddedURL. It is ignored, and not validated, otherwise.
type Embedded struct {
	// Listen is the host:port the embedded server accepts clients on.
	Listen string `yaml:"listen"`
	// StoreDir holds the embedded server's JetStream files.
	StoreDir string `yaml:"store_dir"`
}

// TLS holds the optional client TLS files for a remote NATS server. CertFile
// and KeyFile go together.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Batch is the batch section: how long items wait to be coalesced.
type Batch struct {
	// Window is the longest a zone's first pending item waits before its
	// batch is sent.
	Window time.Duration `yaml:"window"`
	// RememberKeys bounds the keys of recent successful calls kept so that
	// a later message stored before such a call is acked without a call of
	// its own.
	RememberKeys int `yaml:"remember_keys"`
}

// Cloudflare is the cloudflare section: the API, the accounts holding
// credentials and rate limits, and the zones intents may name.
type Cloudflare struct {
	// APIBaseURL is the API root, without a trailing slash after Parse.
	APIBaseURL string `yaml:"api_base_url"`
	// DryRun is DryRunAuto, DryRunTrue or DryRunFalse; see [Config.DryRun].
	DryRun   string    `yaml:"dry_run"`
	Accounts []Account `yaml:"accounts"`
	Zones    []Zone    `yaml:"zones"`
}

// Account is one Cloudflare account: its credentials and its rate limits,
// which all of its zones share. After Parse, APIToken holds the token whether
// it was written inline or read from APITokenFile.
type Account struct {
	// Name identifies the account in zones, logs and metric labels.
	Name string `yaml:"name"`
	// Plan is one of PlanFree, PlanPro, PlanBusiness or PlanEnterprise.
	Plan string `yaml:"plan"`

	// APIToken is a token with the Cache Purge permission, or APITokenFile
	// names a file holding one (a mounted secret, say). APIEmail with APIKey
	// is the legacy global API key pair. An account uses one of the three.
	APIToken     Secret `yaml:"api_token"`
	APITokenFile string `yaml:"api_token_file"`
	APIEmail     string `yaml:"api_email"`
	APIKey       Secret `yaml:"api_key"`

	// Overrides of the plan's limits; 0 means "use the plan's".
	MaxURLsPerRequest int     `yaml:"max_urls_per_request"`
	MaxKeysPerRequest int     `yaml:"max_keys_per_request"`
	FlexPerSecond     float64 `yaml:"flex_per_second"`
	FlexBurst         int     `yaml:"flex_burst"`
	URLsPerSecond     float64 `yaml:"urls_per_second"`

	// tokenFromFile records that Parse filled APIToken from APITokenFile, so
	// that Validate can tell that from a config that set both keys.
	tokenFromFile bool
}

// Zone is a Cloudflare zone that intents may name, by Name or by ID.
type Zone struct {
	// Name is the zone's lowercase DNS name, e.g. "example.com".
	Name string `yaml:"name"`
	// ID is the zone's 32-character lowercase hex ID.
	ID string `yaml:"id"`
	// Account names the entry of cloudflare.accounts that owns the zone. It
	// may be omitted when exactly one account is configured; Parse then
	// fills in that account's name, so it is never empty after Parse.
	Account string `yaml:"account"`
}

// HTTP is the http section: the metrics, health and ingest server.
type HTTP struct {
	// Listen is the host:port of GET /metrics /healthz /readyz and
	// POST /v1/intents.
	Listen string `yaml:"listen"`
	// IngestTokens are the bearer tokens POST /v1/intents accepts; none
	// disables ingest over HTTP.
	IngestTokens []Secret `yaml:"ingest_tokens"`
}

// Log is the log section.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is auto (coloured text on a terminal, JSON otherwise), text or
	// json.
	Format string `yaml:"format"`
}

// Default returns the configuration used for every key config.yaml leaves
// out. It has no accounts and no zones, so it does not pass Validate alone.
func Default() Config {
	return Config{
		NATS: NATS{
			URL:           EmbeddedURL,
			Embedded:      Embedded{Listen: "127.0.0.1:4222", StoreDir: "./data/nats"},
			Stream:        "PURGE",
			Consumer:      "purge-worker",
			AckWait:       30 * time.Second,
			MaxAckPending: 20000,
			MaxDeliver:    -1,
			DLQStream:     "PURGE_DLQ",
			LeaseTTL:      15 * time.Second,
			StatusTTL:     24 * time.Hour,
		},
		Batch: Batch{Window: time.Second, RememberKeys: 1_000_000},
		Cloudflare: Cloudflare{
			APIBaseURL: "https://api.cloudflare.com/client/v4",
			DryRun:     DryRunAuto,
		},
		HTTP:            HTTP{Listen: "127.0.0.1:8080"},
		Log:             Log{Level: "info", Format: "auto"},
		ShutdownTimeout: 20 * time.Second,
	}
}

// DryRun reports whether purge calls are logged and reported as successful
// instead of being sent; see [Config.DryRunReason].
func (c *Config) DryRun() bool { return c.DryRunReason() != "" }

// DryRunReason says why this is a dry run, or is empty when it is not. With
// DryRunAuto it is one only when no account has credentials and NATS is the
// embedded server: that is someone trying the shipped config out. Against an
// external NATS the worker is doing real work, where a dry run would ack
// every intent away unpurged, so a missing token must fail Validate instead
// of quietly turning purges off. A dry_run value that Validate would refuse
// behaves as DryRunAuto.
func (c *Config) DryRunReason() string {
	switch c.Cloudflare.DryRun {
	case DryRunTrue:
		return "cloudflare.dry_run is true"
	case DryRunFalse:
		return ""
	}
	if c.Cloudflare.anyCredentials() || !c.EmbeddedNATS() {
		return ""
	}
	return "no account has credentials and nats.url is embedded"
}

func (cf *Cloudflare) anyCredentials() bool {
	for _, a := range cf.Accounts {
		if a.HasCredentials() {
			return true
		}
	}
	return false
}

// HasCredentials reports whether the account can authenticate: with an API
// token, or with the legacy email and global API key pair.
func (a Account) HasCredentials() bool {
	return a.APIToken != "" || (a.APIEmail != "" && a.APIKey != "")
}

// EmbeddedNATS reports whether nats.url asks for the in-process server.
func (c *Config) EmbeddedNATS() bool { return c.NATS.URL == EmbeddedURL }

// NATSServers returns the server URLs of nats.url, trimmed of spaces, or nil
// when the embedded server is used.
func (c *Config) NATSServers() []string {
	if c.EmbeddedNATS() {
		return nil
	}
	var servers []string
	for s := range strings.SplitSeq(c.NATS.URL, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	return servers
}
