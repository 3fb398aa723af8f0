package config

import (
	"strings"
	"testing"
)

// zonesOf returns a cloudflare section with the given accounts and zones
// (YAML flow lists, without the brackets).
func zonesOf(accounts, zones string) string {
	return "cloudflare:\n  accounts: [" + accounts + "]\n  zones: [" + zones + "]\n"
}

const (
	acct = "{name: default, plan: free}"
	zone = "{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}"
)

// dryRun is a valid config that is a dry run whatever nats.url says, so
// that a bad nats.url is the only problem.
var dryRun = cfWith(`dry_run: "true"`)

// cfWith returns a valid cloudflare section with one more line in it.
func cfWith(line string) string {
	return "cloudflare:\n  " + line + "\n  accounts: [" + acct + "]\n  zones: [" + zone + "]\n"
}

func TestMinimalIsValid(t *testing.T) {
	mustParse(t, minimal, noEnv)
	mustParse(t, zonesOf(acct, zone), noEnv)
	mustParse(t, cfWith("dry_run: \"true\""), noEnv)
}

// TestValidateRefuses gives one bad value per case on top of an otherwise
// valid config, and checks that the error names its key and, where it is not
// secret, shows the value.
func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // "key: message", or a part of it
	}{
		{"nats url scheme", dryRun + "nats: {url: http://h:4222}\n",
			`nats.url: "http://h:4222" is not a nats://, tls://, ws:// or wss:// URL with a host`},
		{"nats url without host", dryRun + "nats: {url: \"nats://:4222\"}\n", `nats.url: "nats://:4222" is not`},
		{"nats url list with a hole", dryRun + "nats: {url: \"nats://a:4222,,nats://b:4222\"}\n", "nats.url: server 2 of the list is empty"},
		{"nats url empty", dryRun + "nats: {url: \"\"}\n", `nats.url: must be "embedded" or a comma-separated list`},
		{"nats url embedded in a list", dryRun + "nats: {url: \"embedded,nats://a\"}\n", `nats.url: "embedded" is not`},
		{"embedded listen without port", minimal + "nats: {embedded: {listen: localhost}}\n",
			`nats.embedded.listen: "localhost" is not a host:port address`},
		{"embedded listen bad port", minimal + "nats: {embedded: {listen: \"127.0.0.1:99999\"}}\n", `nats.embedded.listen: "127.0.0.1:99999"`},
		{"embedded store_dir empty", minimal + "nats: {embedded: {store_dir: \"\"}}\n", "nats.embedded.store_dir: must not be empty"},
		{"tls cert without key", minimal + "nats: {tls: {cert_file: c.pem}}\n", "nats.tls: cert_file and key_file go together"},
		{"stream with a dot", minimal + "nats: {stream: purge.v2}\n", `nats.stream: "purge.v2" is not a valid NATS name`},
		{"stream empty", minimal + "nats: {stream: \"\"}\n", `nats.stream: "" is not a valid NATS name`},
		{"consumer with a space", minimal + "nats: {consumer: purge worker}\n", `nats.consumer: "purge worker" is not a valid NATS name`},
		{"dlq stream wildcard", minimal + "nats: {dlq_stream: \"DLQ>\"}\n", `nats.dlq_stream: "DLQ>" is not a valid NATS name`},
		{"dlq stream equals stream", minimal + "nats: {dlq_stream: PURGE}\n", `nats.dlq_stream: must differ from nats.stream, both are "PURGE"`},
		{"ack_wait too short", minimal + "nats: {ack_wait: 500ms}\nbatch: {window: 100ms}\n", `nats.ack_wait: must be at least 1s, got "500ms"`},
		{"max_ack_pending unlimited", minimal + "nats: {max_ack_pending: -1}\n", `nats.max_ack_pending: must be at least 1`},
		{"max_ack_pending zero", minimal + "nats: {max_ack_pending: 0}\n", `got "0"`},
		{"max_deliver zero", minimal + "nats: {max_deliver: 0}\n", `nats.max_deliver: must be -1 (unlimited) or at least 1, got "0"`},
		{"max_deliver below -1", minimal + "nats: {max_deliver: -2}\n", `nats.max_deliver: must be -1 (unlimited) or at least 1, got "-2"`},
		{"lease_ttl too short", minimal + "nats: {lease_ttl: 1s}\n", `nats.lease_ttl: must be at least 3s, got "1s"`},
		{"status_ttl too short", minimal + "nats: {status_ttl: 10s}\n", `nats.status_ttl: must be at least 1m0s, got "10s"`},
		{"remember_keys negative", minimal + "batch: {remember_keys: -1}\n", `batch.remember_keys: must be between 0 (remember nothing) and 100000000, got "-1"`},
		{"window zero", minimal + "batch: {window: 0s}\n", `batch.window: must be > 0, got "0s"`},
		{"window negative", minimal + "batch: {window: -1s}\n", `batch.window: must be > 0, got "-1s"`},
		{"window too long", minimal + "batch: {window: 2m}\nnats: {ack_wait: 10m}\n", `batch.window: must be at most 1m0s, got "2m0s"`},
		{"window not below half ack_wait", minimal + "batch: {window: 15s}\n",
			`batch.window: must be less than half of nats.ack_wait ("30s") so messages are acked before redelivery, got "15s"`},
		{"api_base_url scheme", cfWith("api_base_url: ftp://api.example"), `cloudflare.api_base_url: "ftp://api.example" is not an absolute`},
		{"api_base_url relative", cfWith("api_base_url: /client/v4"), `cloudflare.api_base_url: "/client/v4" is not`},
		{"api_base_url query", cfWith("api_base_url: \"https://h/v4?x=1\""), `cloudflare.api_base_url: "https://h/v4?x=1"`},
		{"dry_run yes", cfWith("dry_run: yes"), `cloudflare.dry_run: must be one of auto, true, false, got "yes"`},
		{"account name empty", zonesOf("{plan: free}", zone), "cloudflare.accounts[0].name: must not be empty"},
		{"account name duplicate", zonesOf(acct+", "+acct, "{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353, account: default}"),
			`cloudflare.accounts[1].name: "default" is already the name of cloudflare.accounts[0]`},
		{"account name with a space", zonesOf("{name: my acct, plan: free}", zone), `cloudflare.accounts[0].name: "my acct" must be at most 64 letters`},
		{"plan unknown", zonesOf("{name: default, plan: gold}", zone), `cloudflare.accounts[0].plan: must be one of free, pro, business, enterprise, got "gold"`},
		{"plan missing", zonesOf("{name: default}", zone), `cloudflare.accounts[0].plan: must be one of free, pro, business, enterprise, got ""`},
		{"max_urls_per_request negative", zonesOf("{name: default, plan: free, max_urls_per_request: -1}", zone),
			`cloudflare.accounts[0].max_urls_per_request: must be between 1 and 1000, or 0 for the plan's maximum, got "-1"`},
		{"max_keys_per_request too large", zonesOf("{name: default, plan: free, max_keys_per_request: 5000}", zone),
			`cloudflare.accounts[0].max_keys_per_request: must be between 1 and 1000, or 0 for the plan's maximum, got "5000"`},
		{"flex_per_second negative", zonesOf("{name: default, plan: free, flex_per_second: -0.5}", zone),
			`cloudflare.accounts[0].flex_per_second: must be a finite number > 0, or 0 for the plan's rate, got "-0.5"`},
		{"urls_per_second negative", zonesOf("{name: default, plan: free, urls_per_second: -1}", zone),
			`cloudflare.accounts[0].urls_per_second: must be a finite number > 0`},
		{"flex_burst negative", zonesOf("{name: default, plan: free, flex_burst: -3}", zone),
			`cloudflare.accounts[0].flex_burst: must be >= 0 (0 uses the plan's burst), got "-3"`},
		{"api_email without api_key", zonesOf("{name: default, plan: free, api_email: a@example.com}", zone),
			"cloudflare.accounts[0].api_key: must be set with api_email"},
		{"api_key without api_email", zonesOf("{name: default, plan: free, api_key: k}", zone),
			"cloudflare.accounts[0].api_email: must be set with api_key"},
		{"token and legacy key", zonesOf("{name: default, plan: free, api_token: t, api_email: a@example.com, api_key: k}", zone),
			"cloudflare.accounts[0].api_token: set an API token or api_email with api_key, not both"},
		{"api_email not an address", zonesOf("{name: default, plan: free, api_email: ops, api_key: k}", zone),
			`cloudflare.accounts[0].api_email: "ops" is not an email address`},
		{"token is the redaction placeholder", zonesOf("{name: default, plan: free, api_token: <redacted>}", zone),
			`cloudflare.accounts[0].api_token: is the placeholder "<redacted>", not a real secret`},
		{"dry_run false without credentials", cfWith("dry_run: \"false\""),
			"cloudflare.accounts[0]: has no credentials, and cloudflare.dry_run is false; set api_token, api_token_file, or api_email with api_key"},
		{"external NATS without credentials", "nats: {url: nats://h1:4222}\n" + zonesOf(acct, zone),
			`cloudflare.accounts[0]: has no credentials, and nats.url is not "embedded", so this is not a trial dry run`},
		{"one account of two without credentials", zonesOf("{name: a, plan: pro, api_token: t}, {name: b, plan: pro}",
			"{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353, account: a}"),
			"cloudflare.accounts[1]: has no credentials, and other accounts have credentials"},
		{"no zones", "cloudflare: {accounts: [" + acct + "]}\n", "cloudflare.zones: at least one zone is required"},
		{"zone name a single label", zonesOf(acct, "{name: localhost, id: 023e105f4ecef8ad9ca31a8372d0c353}"),
			`cloudflare.zones[0].name: "localhost" is not a lowercase DNS name such as "example.com"`},
		{"zone name with a space", zonesOf(acct, "{name: ex ample.com, id: 023e105f4ecef8ad9ca31a8372d0c353}"),
			`cloudflare.zones[0].name: "ex ample.com" is not a lowercase DNS name`},
		{"zone name with a URL", zonesOf(acct, "{name: \"https://example.com\", id: 023e105f4ecef8ad9ca31a8372d0c353}"),
			`cloudflare.zones[0].name: "https://example.com" is not`},
		{"zone name label too long", zonesOf(acct, "{name: "+strings.Repeat("a", 64)+".com, id: 023e105f4ecef8ad9ca31a8372d0c353}"),
			"cloudflare.zones[0].name: "},
		{"zone id not hex", zonesOf(acct, "{name: example.com, id: xyz}"), `cloudflare.zones[0].id: "xyz" is not a 32-character lowercase hex zone ID`},
		{"zone id 31 characters", zonesOf(acct, "{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c35}"), `cloudflare.zones[0].id: "023e105f4ecef8ad9ca31a8372d0c35"`},
		{"zone id duplicate (case-insensitive)", zonesOf(acct, zone+", {name: example.org, id: 023E105F4ECEF8AD9CA31A8372D0C353}"),
			`cloudflare.zones[1].id: "023e105f4ecef8ad9ca31a8372d0c353" is already the ID of cloudflare.zones[0]`},
		{"zone name duplicate (case-insensitive)", zonesOf(acct, zone+", {name: EXAMPLE.com., id: 0123456789abcdef0123456789abcdef}"),
			`cloudflare.zones[1].name: "example.com" is already the name of cloudflare.zones[0]`},
		{"zone account unknown", zonesOf(acct, "{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353, account: other}"),
			`cloudflare.zones[0].account: "other" is not the name of an entry in cloudflare.accounts`},
		{"zone account omitted with two accounts", zonesOf(acct+", {name: second, plan: pro}", zone),
			"cloudflare.zones[0].account: must name one of cloudflare.accounts (it may be omitted only when there is exactly one)"},
		{"zone without any account", "cloudflare: {zones: [" + zone + "]}\n", "cloudflare.zones[0].account: names no account, and cloudflare.accounts is empty"},
		{"http listen without host separator", minimal + "http: {listen: \"8080\"}\n", `http.listen: "8080" is not a host:port address`},
		{"ingest token too short", minimal + "http: {ingest_tokens: [short-token]}\n",
			"http.ingest_tokens[0]: must be at least 16 characters, as shorter tokens can be guessed by brute force (value not shown)"},
		{"ingest token with a space", minimal + "http: {ingest_tokens: [0123456789abcdef, \"0123456789 abcdef\"]}\n",
			"http.ingest_tokens[1]: contains whitespace or a character that is not printable ASCII (value not shown)"},
		{"ingest token empty", minimal + "http: {ingest_tokens: [\"\"]}\n", "http.ingest_tokens[0]: must be at least 16 characters"},
		{"log level", minimal + "log: {level: verbose}\n", `log.level: must be one of debug, info, warn, error, got "verbose"`},
		{"log format", minimal + "log: {format: xml}\n", `log.format: must be one of auto, text, json, got "xml"`},
		{"shutdown_timeout zero", minimal + "shutdown_timeout: 0s\n", `shutdown_timeout: must be > 0, got "0s"`},
		{"shutdown_timeout negative", minimal + "shutdown_timeout: -5s\n", `shutdown_timeout: must be > 0, got "-5s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), noEnv)
			wantErr(t, err, tt.want)
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", n, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	src := zonesOf("{name: default, plan: gold}", "{name: example.com, id: xyz}") +
		"nats: {stream: a.b, max_deliver: 0}\nbatch: {window: 0s}\nlog: {level: loud}\n"
	_, err := Parse([]byte(src), noEnv)
	want := []string{
		"nats.stream:", "nats.max_deliver:", "batch.window:", "cloudflare.accounts[0].plan:", "cloudflare.zones[0].id:", "log.level:",
	}
	wantErr(t, err, want...)
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
}

func TestValidateShowsVariablesNotValues(t *testing.T) {
	getenv := envMap(map[string]string{"ZONE_ID": "not-a-zone-id", "WINDOW": "0s", "NATS_PASS": "pw-s3cr3t"})
	src := zonesOf(acct, `{name: example.com, id: "${ZONE_ID}"}`) +
		"batch: {window: \"${WINDOW}\"}\nnats: {url: \"http://u:${NATS_PASS}@h\"}\n"
	_, err := Parse([]byte(src), getenv)
	wantErr(t, err,
		"cloudflare.zones[0].id: the value of ${ZONE_ID} is not a 32-character",
		"batch.window: must be > 0, got the value of ${WINDOW}",
		"nats.url: the value of ${NATS_PASS} is not",
	)
	for _, v := range []string{"not-a-zone-id", "0s", "pw-s3cr3t"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error shows %q, a value from the environment:\n%v", v, err)
		}
	}
}

func TestValidateNormalisedZones(t *testing.T) {
	cfg := mustParse(t, zonesOf(acct, "{name: Example.COM., id: 023E105F4ECEF8AD9CA31A8372D0C353}"), noEnv)
	want := Zone{Name: "example.com", ID: "023e105f4ecef8ad9ca31a8372d0c353", Account: "default"}
	if got := cfg.Cloudflare.Zones[0]; got != want {
		t.Errorf("zone = %+v, want %+v (lowercased, dot dropped, the only account filled in)", got, want)
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := Default()
	c.Cloudflare.Accounts = []Account{{Name: "a", Plan: PlanPro, APIToken: "t", APITokenFile: "/run/t"}}
	c.Cloudflare.Zones = []Zone{{Name: "example.com", ID: "023e105f4ecef8ad9ca31a8372d0c353", Account: "a"}}
	wantErr(t, c.Validate(), "cloudflare.accounts[0].api_token_file: set api_token or api_token_file, not both")
	c.Cloudflare.Accounts[0].APITokenFile = ""
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	d := Default()
	wantErr(t, d.Validate(), "cloudflare.zones: at least one zone is required")
}
