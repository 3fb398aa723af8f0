package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// noEnv is a getenv with every variable unset.
func noEnv(string) string { return "" }

// envMap returns a getenv that reads m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// minimal is the smallest valid config: defaults plus one account and zone.
const minimal = `
cloudflare:
  accounts: [{name: default, plan: free}]
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]
`

func mustParse(t *testing.T, src string, getenv func(string) string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), getenv)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return cfg
}

func TestDefault(t *testing.T) {
	want := Config{
		NATS: NATS{
			URL:           "embedded",
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
		Batch:           Batch{Window: time.Second, RememberKeys: 1_000_000},
		Cloudflare:      Cloudflare{APIBaseURL: "https://api.cloudflare.com/client/v4", DryRun: "auto"},
		HTTP:            HTTP{Listen: "127.0.0.1:8080"},
		Log:             Log{Level: "info", Format: "auto"},
		ShutdownTimeout: 20 * time.Second,
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg := mustParse(t, minimal, noEnv)
	def := Default()
	if !reflect.DeepEqual(cfg.NATS, def.NATS) || cfg.Batch != def.Batch || !reflect.DeepEqual(cfg.HTTP, def.HTTP) ||
		cfg.Log != def.Log || cfg.ShutdownTimeout != def.ShutdownTimeout {
		t.Errorf("keys left out did not keep their defaults:\n got %+v\nwant %+v", *cfg, def)
	}
	if cfg.Cloudflare.APIBaseURL != def.Cloudflare.APIBaseURL || cfg.Cloudflare.DryRun != DryRunAuto {
		t.Errorf("cloudflare defaults lost: %+v", cfg.Cloudflare)
	}
	// An empty value keeps the default too, as yaml.v3 does.
	cfg = mustParse(t, minimal+"nats: {stream: ~, ack_wait: }\nbatch:\n", noEnv)
	if cfg.NATS.Stream != "PURGE" || cfg.NATS.AckWait != 30*time.Second || cfg.Batch.Window != time.Second {
		t.Errorf("empty values did not keep defaults: %+v %+v", cfg.NATS, cfg.Batch)
	}
}

func TestParseSetsEveryKey(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token-0123456789\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
nats:
  url: nats://h1:4222, tls://h2:4222
  embedded: {listen: ":5222", store_dir: /var/lib/nats}
  credentials_file: /etc/nats.creds
  tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}
  stream: S
  consumer: C
  ack_wait: 1m
  max_ack_pending: 7
  max_deliver: 3
  lease_ttl: 9s
  status_ttl: 1h
  dlq_stream: D
batch: {window: 250ms, remember_keys: 5000}
cloudflare:
  api_base_url: http://127.0.0.1:9999/client/v4/
  dry_run: "false"
  accounts:
    - name: a1
      plan: enterprise
      api_token: tok-1
      max_urls_per_request: 500
      max_keys_per_request: 30
      flex_per_second: 0.5
      flex_burst: 10
      urls_per_second: 2500.5
    - {name: a2, plan: pro, api_token_file: ` + tokenFile + `}
    - {name: a3, plan: business, api_email: ops@example.com, api_key: key-3}
  zones:
    - {name: Example.COM., id: 023E105F4ECEF8AD9CA31A8372D0C353, account: a1}
    - {name: example.org, id: 0123456789abcdef0123456789abcdef, account: a2}
http:
  listen: 0.0.0.0:0
  ingest_tokens: [0123456789abcdef, "another-token-of-16+"]
log: {level: debug, format: json}
shutdown_timeout: 5s
`
	cfg := mustParse(t, src, noEnv)
	want := Config{
		NATS: NATS{
			URL:             "nats://h1:4222, tls://h2:4222",
			Embedded:        Embedded{Listen: ":5222", StoreDir: "/var/lib/nats"},
			CredentialsFile: "/etc/nats.creds",
			TLS:             TLS{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem"},
			Stream:          "S", Consumer: "C", AckWait: time.Minute, MaxAckPending: 7, MaxDeliver: 3, DLQStream: "D",
			LeaseTTL: 9 * time.Second, StatusTTL: time.Hour,
		},
		Batch: Batch{Window: 250 * time.Millisecond, RememberKeys: 5000},
		Cloudflare: Cloudflare{
			APIBaseURL: "http://127.0.0.1:9999/client/v4",
			DryRun:     "false",
			Accounts: []Account{
				{Name: "a1", Plan: "enterprise", APIToken: "tok-1", MaxURLsPerRequest: 500, MaxKeysPerRequest: 30,
					FlexPerSecond: 0.5, FlexBurst: 10, URLsPerSecond: 2500.5},
				{Name: "a2", Plan: "pro", APIToken: "file-token-0123456789", APITokenFile: tokenFile, tokenFromFile: true},
				{Name: "a3", Plan: "business", APIEmail: "ops@example.com", APIKey: "key-3"},
			},
			Zones: []Zone{
				{Name: "example.com", ID: "023e105f4ecef8ad9ca31a8372d0c353", Account: "a1"},
				{Name: "example.org", ID: "0123456789abcdef0123456789abcdef", Account: "a2"},
			},
		},
		HTTP:            HTTP{Listen: "0.0.0.0:0", IngestTokens: []Secret{"0123456789abcdef", "another-token-of-16+"}},
		Log:             Log{Level: "debug", Format: "json"},
		ShutdownTimeout: 5 * time.Second,
		envRefs:         map[string]string{},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Fatalf("Parse =\n%#v\nwant\n%#v", *cfg, want)
	}
	if got := cfg.NATSServers(); !slices.Equal(got, []string{"nats://h1:4222", "tls://h2:4222"}) {
		t.Errorf("NATSServers() = %q", got)
	}
	if cfg.EmbeddedNATS() || cfg.DryRun() {
		t.Errorf("EmbeddedNATS() = %v, DryRun() = %v; want false, false", cfg.EmbeddedNATS(), cfg.DryRun())
	}
}

// TestShippedConfig keeps the repository's config.yaml loadable: with an
// empty environment it is a dry run, and it spells out exactly the defaults.
func TestShippedConfig(t *testing.T) {
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, string(data), noEnv)
	if !cfg.DryRun() || !cfg.EmbeddedNATS() || cfg.NATSServers() != nil {
		t.Errorf("DryRun() = %v, EmbeddedNATS() = %v, NATSServers() = %q; want true, true, nil",
			cfg.DryRun(), cfg.EmbeddedNATS(), cfg.NATSServers())
	}
	wantZones := []Zone{{Name: "example.com", ID: "023e105f4ecef8ad9ca31a8372d0c353", Account: "default"}}
	if !slices.Equal(cfg.Cloudflare.Zones, wantZones) {
		t.Errorf("zones = %+v, want %+v", cfg.Cloudflare.Zones, wantZones)
	}
	got := *cfg
	got.Cloudflare.Accounts, got.Cloudflare.Zones, got.HTTP.IngestTokens, got.envRefs = nil, nil, nil, nil
	if def := Default(); !reflect.DeepEqual(got, def) {
		t.Errorf("config.yaml does not spell out the defaults:\n got %+v\nwant %+v", got, def)
	}

	cfg = mustParse(t, string(data), envMap(map[string]string{"CLOUDFLARE_API_TOKEN": "cf-token-abc"}))
	if cfg.DryRun() || cfg.Cloudflare.Accounts[0].APIToken.Reveal() != "cf-token-abc" {
		t.Errorf("with CLOUDFLARE_API_TOKEN set: DryRun() = %v, token %q; want false and the token",
			cfg.DryRun(), cfg.Cloudflare.Accounts[0].APIToken.Reveal())
	}
}

// TestComposeConfig: the compose deployment runs against its own NATS, so it
// purges for real or refuses to start naming the variable to set.
func TestComposeConfig(t *testing.T) {
	data, err := os.ReadFile("../deploy/compose.config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, noEnv)
	if err == nil || !strings.Contains(err.Error(), "cloudflare.accounts[0]") || !strings.Contains(err.Error(), "${CLOUDFLARE_API_TOKEN}") {
		t.Errorf("without CLOUDFLARE_API_TOKEN: error %v; want one naming cloudflare.accounts[0] and ${CLOUDFLARE_API_TOKEN}", err)
	}
	cfg := mustParse(t, string(data), envMap(map[string]string{"CLOUDFLARE_API_TOKEN": "cf-token-abc"}))
	if cfg.DryRun() || cfg.EmbeddedNATS() {
		t.Errorf("with a token: DryRun() = %v, EmbeddedNATS() = %v; want false, false", cfg.DryRun(), cfg.EmbeddedNATS())
	}
}

func TestLoad(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", "")
	cfg, err := Load("../config.yaml")
	if err != nil || !cfg.DryRun() {
		t.Fatalf("Load(../config.yaml) = %v, %v; want a dry-run config", cfg, err)
	}

	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v; want a not-exist error naming %s", err, missing)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(minimal+"batch: {window: 0s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "batch.window") {
		t.Errorf("Load(bad) error = %v; want one naming %s and batch.window", err, bad)
	}
}

func TestDryRun(t *testing.T) {
	token := Account{Name: "t", APIToken: "x"}
	legacy := Account{Name: "l", APIEmail: "a@b.c", APIKey: "k"}
	halfLegacy := Account{Name: "h", APIEmail: "a@b.c"}
	none := Account{Name: "n"}
	const external = "nats://h1:4222"
	tests := []struct {
		mode, url string
		accounts  []Account
		want      string
	}{
		{"auto", EmbeddedURL, nil, "no account has credentials and nats.url is embedded"},
		{"auto", EmbeddedURL, []Account{none}, "no account has credentials and nats.url is embedded"},
		{"auto", EmbeddedURL, []Account{halfLegacy}, "no account has credentials and nats.url is embedded"},
		{"auto", EmbeddedURL, []Account{none, token}, ""},
		{"auto", EmbeddedURL, []Account{legacy}, ""},
		// Against an external NATS, auto is never a dry run: Validate
		// refuses the accounts without credentials instead.
		{"auto", external, []Account{none}, ""},
		{"auto", external, nil, ""},
		{"true", external, []Account{token}, "cloudflare.dry_run is true"},
		{"true", EmbeddedURL, []Account{token}, "cloudflare.dry_run is true"},
		{"false", EmbeddedURL, []Account{none}, ""},
		{"bogus", EmbeddedURL, []Account{none}, "no account has credentials and nats.url is embedded"},
		{"bogus", EmbeddedURL, []Account{token}, ""},
	}
	for _, tt := range tests {
		c := Config{NATS: NATS{URL: tt.url}, Cloudflare: Cloudflare{DryRun: tt.mode, Accounts: tt.accounts}}
		if got := c.DryRunReason(); got != tt.want {
			t.Errorf("dry_run %q, nats.url %q, accounts %+v: DryRunReason() = %q, want %q", tt.mode, tt.url, tt.accounts, got, tt.want)
		}
		if got := c.DryRun(); got != (tt.want != "") {
			t.Errorf("dry_run %q, nats.url %q, accounts %+v: DryRun() = %v, want %v", tt.mode, tt.url, tt.accounts, got, tt.want != "")
		}
	}
}

// TestExternalNATSNeedsCredentials: a token variable left unset against an
// external NATS fails start-up naming the key and the variable, instead of
// a dry run that would ack every intent away unpurged.
func TestExternalNATSNeedsCredentials(t *testing.T) {
	src := "nats: {url: nats://nats:4222}\n" +
		zonesOf(`{name: default, plan: free, api_token: "${CLOUDFLARE_API_TOKEN}"}`, zone)
	_, err := Parse([]byte(src), noEnv)
	want := `cloudflare.accounts[0]: has no credentials (api_token comes from ${CLOUDFLARE_API_TOKEN}: unset or empty), ` +
		`and nats.url is not "embedded", so this is not a trial dry run`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Parse error = %v; want one containing %q", err, want)
	}
	cfg := mustParse(t, src, envMap(map[string]string{"CLOUDFLARE_API_TOKEN": "cf-token-0123"}))
	if cfg.DryRun() {
		t.Error("with the token set: DryRun() = true")
	}
	cfg = mustParse(t, src+"  dry_run: \"true\"\n", noEnv)
	if cfg.DryRunReason() != "cloudflare.dry_run is true" {
		t.Errorf("dry_run true: DryRunReason() = %q", cfg.DryRunReason())
	}
}

func TestNATSServers(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"embedded", nil},
		{"nats://a:4222", []string{"nats://a:4222"}},
		{" nats://a:4222 ,wss://b/x,", []string{"nats://a:4222", "wss://b/x"}},
	}
	for _, tt := range tests {
		c := Config{NATS: NATS{URL: tt.url}}
		if got := c.NATSServers(); !slices.Equal(got, tt.want) {
			t.Errorf("NATSServers(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
