package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// printings returns every way the tests expect v to be printed or logged.
func printings(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3s"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	out["Sprint"] = fmt.Sprint(v)
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	out["json"] = string(j)
	y, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	out["yaml"] = string(y)
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(newHandler(&buf)).Info("loaded", "value", v)
		out[name] = buf.String()
	}
	return out
}

func assertHidden(t *testing.T, v any, secrets ...string) {
	t.Helper()
	for how, s := range printings(t, v) {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s of %T shows the secret %q:\n%s", how, v, secret, s)
			}
		}
	}
}

func TestSecretIsRedacted(t *testing.T) {
	s := Secret("hunter2-token")
	assertHidden(t, s, "hunter2")
	assertHidden(t, &s, "hunter2")
	assertHidden(t, []Secret{s}, "hunter2")
	assertHidden(t, struct{ Token Secret }{s}, "hunter2")
	if s.Reveal() != "hunter2-token" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String(), fmt.Sprint(s)} {
		if got != "<redacted>" {
			t.Errorf("printed %q, want <redacted>", got)
		}
	}
	// An empty secret prints empty, so that a missing token is visible.
	var empty Secret
	if got := fmt.Sprintf("%v|%#v", empty, empty); got != "|" {
		t.Errorf("empty secret printed as %q, want empty", got)
	}
}

// TestConfigPrintingHidesSecrets holds every kind of secret in a Config and
// prints the Config every way a caller might.
func TestConfigPrintingHidesSecrets(t *testing.T) {
	tokenFile := writeFile(t, "token", "file-token-SECRET-4\n")
	getenv := envMap(map[string]string{"CF_TOKEN": "env-token-SECRET-1"})
	src := `
cloudflare:
  accounts:
    - {name: a, plan: pro, api_token: "${CF_TOKEN}"}
    - {name: b, plan: pro, api_email: ops@example.com, api_key: legacy-key-SECRET-2}
    - {name: c, plan: pro, api_token_file: ` + tokenFile + `}
  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353, account: a}]
http: {ingest_tokens: [ingest-token-SECRET-3]}
`
	cfg := mustParse(t, src, getenv)
	// The secrets are really there, so the checks below can fail.
	got := []string{
		cfg.Cloudflare.Accounts[0].APIToken.Reveal(), cfg.Cloudflare.Accounts[1].APIKey.Reveal(),
		cfg.HTTP.IngestTokens[0].Reveal(), cfg.Cloudflare.Accounts[2].APIToken.Reveal(),
	}
	for i, s := range got {
		if !strings.Contains(s, "SECRET-"+fmt.Sprint(i+1)) {
			t.Fatalf("secret %d not loaded: %q", i+1, s)
		}
	}
	assertHidden(t, cfg, "SECRET")
	assertHidden(t, *cfg, "SECRET")
	assertHidden(t, cfg.Cloudflare, "SECRET")
	assertHidden(t, cfg.Cloudflare.Accounts[0], "SECRET")
	assertHidden(t, cfg.HTTP, "SECRET")
}

// TestErrorsHideSecrets makes Parse fail in every way that involves a
// secret, and checks that the error names the key but never shows the secret.
func TestErrorsHideSecrets(t *testing.T) {
	const s = "SeCrEt-value-77"
	const cfToken = "Yq8x-3KbN_7vTzR2mWc9LpQe5HsJd4Gf6UaBn0Xo"
	acct := func(fields string) string {
		return "cloudflare:\n  accounts:\n    - name: a\n      plan: free\n" + fields +
			"  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]\n"
	}
	spaced := writeFile(t, "spaced", s+" tail\n")
	tests := []struct {
		name, src, want string
	}{
		{"token is a list", acct("      api_token: [" + s + ", 2]\n"), "cloudflare.accounts[0].api_token: line 5: want a string, got a list"},
		{"token is a mapping", acct("      api_token: {" + s + ": 1}\n"), "cloudflare.accounts[0].api_token: line 5: want a string, got a mapping"},
		{"token glued to its key", "cloudflare: {accounts: [{api_token:" + s + "}]}\n", "cloudflare.accounts[0]: line 1: unknown key (not shown"},
		// A Cloudflare API token is 40 characters of [A-Za-z0-9_-], which
		// also fits the shape of a key name.
		{"token-shaped key", acct("      " + cfToken + ":\n"), "cloudflare.accounts[0]: line 5: unknown key (not shown"},
		{"token-shaped key in a flow mapping", "cloudflare: {accounts: [{name: a, " + cfToken + "}]}\n", "cloudflare.accounts[0]: line 1: unknown key (not shown"},
		{"letters-only token-shaped key", acct("      " + strings.Repeat("AbCdEfGhIj", 4) + ":\n"), "cloudflare.accounts[0]: line 5: unknown key (not shown"},
		{"token with a space", acct("      api_token: " + s + " x\n"), "cloudflare.accounts[0].api_token: contains whitespace"},
		{"token with a tab from a quoted escape", acct(`      api_token: "` + s + `\t"` + "\n"), "cloudflare.accounts[0].api_token: contains whitespace"},
		{"token repeated", acct("      api_token: " + s + "\n      api_token: " + s + "\n"), "cloudflare.accounts[0].api_token: line 6: duplicate key"},
		{"token and legacy key", acct("      api_token: " + s + "\n      api_email: a@b.c\n      api_key: " + s + "\n"), "cloudflare.accounts[0].api_token: set an API token"},
		{"key without email", acct("      api_key: " + s + "\n"), "cloudflare.accounts[0].api_email: must be set with api_key"},
		{"key with a newline", acct("      api_email: a@b.c\n      api_key: \"" + s + "\\n\"\n"), "cloudflare.accounts[0].api_key: contains whitespace"},
		{"token file content", acct("      api_token_file: " + spaced + "\n"), "cloudflare.accounts[0].api_token_file: contains whitespace"},
		{"unterminated quote", acct("      api_token: \"" + s + "\n"), "yaml: line"},
		{"colon in a plain token", acct("      api_token: " + s + ": x\n"), "yaml: line 5"},
		{"bad variable in a token", acct("      api_token: " + s + "${\n"), `cloudflare.accounts[0].api_token: line 5: "${" without`},
		{"ingest token too short", "http: {ingest_tokens: [" + s[:8] + "]}\n", "http.ingest_tokens[0]: must be at least 16 characters"},
		{"ingest token with a control character", "http: {ingest_tokens: [\"" + s + "\\u0001\"]}\n", "http.ingest_tokens[0]: contains whitespace"},
		{"ingest tokens are a mapping", "http: {ingest_tokens: {" + s + ": x}}\n", "http.ingest_tokens: line 1: want a list, got a mapping"},
		{"password in the nats url", "nats: {url: \"http://user:" + s + "@h:4222\"}\n", `nats.url: "http://user:xxxxx@h:4222" is not`},
		{"token as the nats url's user", "nats: {url: \"http://" + s + "@h:4222\"}\n", `nats.url: "http://<redacted>@h:4222" is not`},
		{"password in a broken nats url", "nats: {url: \"nats://u:" + s + "@h:99x\"}\n", `nats.url: "nats://<redacted>@h:99x" is not`},
		{"password in the api url", "cloudflare: {api_base_url: \"ftp://u:" + s + "@h\"}\n", `cloudflare.api_base_url: "ftp://u:xxxxx@h" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), noEnv)
			wantErr(t, err, tt.want)
			for _, secret := range []string{s[:8], cfToken[:8], "AbCdEfGh"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows the secret:\n%v", err)
				}
			}
		})
	}
}

// TestErrorsHideEnvironment puts a variable holding a secret into every kind
// of key, secret or not, and checks that failing values are named by their
// variable and never shown.
func TestErrorsHideEnvironment(t *testing.T) {
	const s = "env-SeCrEt-value-99 x\n"
	getenv := func(string) string { return s }
	for _, key := range []string{
		"nats: {url: ${V}}", "nats: {stream: ${V}}", "nats: {ack_wait: ${V}}", "nats: {max_deliver: ${V}}",
		"nats: {embedded: {listen: ${V}}}", "batch: {window: ${V}}", "cloudflare: {api_base_url: ${V}}",
		"cloudflare: {dry_run: ${V}}", "http: {listen: ${V}}", "http: {ingest_tokens: [${V}]}",
		"log: {level: ${V}}", "shutdown_timeout: ${V}",
		"cloudflare: {accounts: [{name: ${V}}]}", "cloudflare: {accounts: [{name: a, plan: ${V}}]}",
		"cloudflare: {accounts: [{name: a, plan: free, api_token: ${V}}]}",
		"cloudflare: {accounts: [{name: a, plan: free, api_token_file: ${V}}]}",
		"cloudflare: {accounts: [{name: a, plan: free, api_email: ${V}, api_key: k}]}",
		"cloudflare: {accounts: [{name: a, plan: free, api_key: ${V}, api_email: a@b.c}]}",
		"cloudflare: {accounts: [{name: a, plan: free, flex_burst: ${V}}]}",
		"cloudflare: {accounts: [{name: a, plan: free, flex_per_second: ${V}}]}",
		"cloudflare: {zones: [{name: ${V}}]}", "cloudflare: {zones: [{id: ${V}}]}", "cloudflare: {zones: [{account: ${V}}]}",
	} {
		src := strings.ReplaceAll(key, "${V}", `"${V}"`) + "\n"
		_, err := Parse([]byte(src), getenv)
		if err == nil {
			t.Errorf("%s: Parse succeeded", key)
			continue
		}
		if strings.Contains(err.Error(), "SeCrEt") {
			t.Errorf("%s: error shows the variable's value:\n%v", key, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://h1:4222", "nats://h1:4222"},
		{"nats://admin:s3cr3t@h1:4222", "nats://admin:xxxxx@h1:4222"},
		{"nats://s3cr3t-token@h1:4222", "nats://<redacted>@h1:4222"}, // a NATS token in the user's place
		{"nats://u:s3cr3t@h:99x", "nats://<redacted>@h:99x"},         // does not parse
		{"u:s3cr3t@h", "<redacted>@h"},
		{"https://api.cloudflare.com/client/v4", "https://api.cloudflare.com/client/v4"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
