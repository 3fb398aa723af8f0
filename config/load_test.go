package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wantErr fails t unless err is non-nil and contains every one of wants.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

// TestParseRefusesBadYAML covers what the strict decoder refuses before
// validation: unknown and repeated keys, wrong types, and YAML features the
// config does not support.
func TestParseRefusesBadYAML(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown top-level key", "nat: {}\n",
			[]string{"nat: line 1: unknown key; valid keys here: nats, batch, cloudflare, http, log, shutdown_timeout"}},
		{"unknown nested key", "nats:\n  ur: nats://x\n",
			[]string{"nats.ur: line 2: unknown key; valid keys here: url, embedded,"}},
		{"unknown key in a list item", "cloudflare: {accounts: [{name: a, plan: free, apitoken: x}]}\n",
			[]string{"cloudflare.accounts[0].apitoken: line 1: unknown key"}},
		{"keys are case-sensitive", "nats: {URL: embedded}\n", []string{"nats.URL: line 1: unknown key"}},
		{"duplicate key", "log: {level: info}\nlog: {level: debug}\n", []string{"log: line 2: duplicate key (first at line 1)"}},
		{"bare integer duration", "nats:\n  ack_wait: 30\n",
			[]string{`nats.ack_wait: line 2: want a duration with a unit such as "30s" or "500ms", got "30"`}},
		{"bare zero duration", "batch: {window: 0}\n", []string{`batch.window: line 1: want a duration with a unit`, `got "0"`}},
		{"bad duration", "shutdown_timeout: soon\n", []string{`shutdown_timeout: line 1: want a duration`, `got "soon"`}},
		{"float for integer", "nats: {max_ack_pending: 1.5}\n", []string{`nats.max_ack_pending: line 1: want an integer, got "1.5"`}},
		{"text for integer", "nats: {max_deliver: many}\n", []string{`nats.max_deliver: line 1: want an integer, got "many"`}},
		{"integer overflow", "nats: {max_deliver: 99999999999999999999}\n", []string{`nats.max_deliver: line 1: want an integer`}},
		{"text for number", "cloudflare: {accounts: [{flex_per_second: fast}]}\n",
			[]string{`cloudflare.accounts[0].flex_per_second: line 1: want a number, got "fast"`}},
		{"infinite number", "cloudflare: {accounts: [{urls_per_second: inf}]}\n",
			[]string{`cloudflare.accounts[0].urls_per_second: line 1: want a number, got "inf"`}},
		{"list for a section", "nats: [1, 2]\n", []string{"nats: line 1: want a mapping of keys, got a list"}},
		{"scalar for a section", "log: debug\n", []string{"log: line 1: want a mapping of keys, got a single value"}},
		{"mapping for a list", "cloudflare: {zones: {name: example.com}}\n", []string{"cloudflare.zones: line 1: want a list, got a mapping"}},
		{"list for a string", "nats: {url: [a, b]}\n", []string{"nats.url: line 1: want a string, got a list"}},
		{"mapping for a duration", "batch: {window: {s: 1}}\n", []string{`batch.window: line 1: want a duration such as "30s", got a mapping`}},
		{"alias", "log: &l {level: info}\nbatch: *l\n", []string{"batch: line 2: YAML aliases are not supported"}},
		{"merge key", "log:\n  <<: {level: info}\n", []string{"log: line 2: YAML merge keys (<<) are not supported"}},
		{"non-scalar key", "? [a]\n: b\n", []string{"config: line 1: a key must be a plain name, got a list"}},
		{"root is a scalar", "hello\n", []string{"line 1: the config must be a mapping of keys, got a single value"}},
		{"root is a list", "- a\n", []string{"line 1: the config must be a mapping of keys, got a list"}},
		{"two documents", minimal + "---\nlog: {}\n", []string{"a second YAML document"}},
		{"syntax error", "nats:\n  url: [embedded\n", []string{"yaml: line"}},
		{"tab indentation", "nats:\n\turl: embedded\n", []string{"yaml: line 2"}},
		{"unterminated variable", "nats: {url: \"${NATS_URL\"}\n", []string{`nats.url: line 1: "${" without a closing "}"`}},
		{"bad variable name", "nats: {url: \"${1X}\"}\n", []string{`nats.url: line 1: a "${...}" reference needs a variable name`}},
		{"empty variable name", "nats: {url: \"${}\"}\n", []string{`nats.url: line 1: a "${...}" reference needs a variable name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), noEnv)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestParseReportsEveryDecodeError(t *testing.T) {
	_, err := Parse([]byte("nats: {ur: x, ack_wait: 5}\nbatch: {windw: 1s}\n"), noEnv)
	wantErr(t, err, "nats.ur:", "nats.ack_wait:", "batch.windw:")
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("got %d error lines, want 3:\n%v", n, err)
	}
}

func TestParseEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		_, err := Parse([]byte(src), noEnv)
		wantErr(t, err, "cloudflare.zones: at least one zone is required")
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): want only the missing-zone error, got:\n%v", src, err)
		}
	}
}

func TestParseExpandsEnvironment(t *testing.T) {
	env := map[string]string{
		"CREDS":    "a: b\nbatch:\n  window: 5s\n{x: [y]}",
		"PENDING":  "500",
		"WINDOW":   "250ms",
		"HOST":     "nats.internal",
		"COLOUR":   "blue",
		"TOKEN":    "tok-${PENDING}",
		"LOGLEVEL": "",
	}
	var asked []string
	getenv := func(k string) string { asked = append(asked, k); return env[k] }
	src := zonesOf("{name: default, plan: free, api_token: cf-token-0123}", zone) + `
nats:
  url: nats://${HOST}:4222
  credentials_file: ${CREDS}
  max_ack_pending: ${PENDING}
  max_deliver: "${UNSET:-7}"
  stream: PURGE$$X
  consumer: $HOME-${COLOUR}
batch: {window: "${WINDOW}"}
log: {level: "${LOGLEVEL:-warn}"}
http: {ingest_tokens: ["${TOKEN}-0123456789"]}
`
	cfg := mustParse(t, src, getenv)
	n := cfg.NATS
	if n.URL != "nats://nats.internal:4222" || n.CredentialsFile != env["CREDS"] || n.MaxAckPending != 500 ||
		n.MaxDeliver != 7 || n.Stream != "PURGE$X" || n.Consumer != "$HOME-blue" {
		t.Errorf("nats = %+v", n)
	}
	// The newline-laden value stayed one string: it did not set batch.window.
	if cfg.Batch.Window != 250*time.Millisecond || cfg.Log.Level != "warn" {
		t.Errorf("window = %s, level = %q; want 250ms, warn", cfg.Batch.Window, cfg.Log.Level)
	}
	// Substituted text is not expanded again.
	if got := cfg.HTTP.IngestTokens[0].Reveal(); got != "tok-${PENDING}-0123456789" {
		t.Errorf("ingest token = %q, want the variable's text unexpanded", got)
	}
	for _, k := range asked {
		if k == "HOME" {
			t.Errorf("$HOME (unbraced) was looked up; only ${VAR} is expanded")
		}
	}
}

func TestParseDoesNotExpandKeys(t *testing.T) {
	var asked []string
	getenv := func(k string) string { asked = append(asked, k); return "log" }
	_, err := Parse([]byte(minimal+"${KEY}: {level: info}\n"), getenv)
	wantErr(t, err, "unknown key (not shown")
	if len(asked) != 0 {
		t.Errorf("getenv was called for %q; keys must not be expanded", asked)
	}
}

func TestParseNilGetenvUsesEnvironment(t *testing.T) {
	t.Setenv("PURGE_WORKER_TEST_ZONE", "example.net")
	cfg := mustParse(t, `
cloudflare:
  accounts: [{name: default, plan: free}]
  zones: [{name: "${PURGE_WORKER_TEST_ZONE}", id: 023e105f4ecef8ad9ca31a8372d0c353}]
`, nil)
	if got := cfg.Cloudflare.Zones[0].Name; got != "example.net" {
		t.Errorf("zone name = %q, want example.net from the environment", got)
	}
}

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"A": "x", "B": "y", "EMPTY": "", "DOLLAR": "$${A}"})
	tests := []struct {
		in, want string
		refs     int
	}{
		{"plain", "plain", 0},
		{"${A}", "x", 1},
		{"<${A}${B}>", "<xy>", 2},
		{"${UNSET}", "", 1},
		{"${UNSET:-fall back}", "fall back", 1},
		{"${EMPTY:-fb}", "fb", 1},
		{"${A:-fb}", "x", 1},
		{"${UNSET:-}", "", 1},
		{"$$", "$", 0},
		{"$${A}", "${A}", 0},
		{"$$$${A}", "$${A}", 0},
		{"$$${A}", "$x", 1},
		{"a$b$", "a$b$", 0},
		{"$A", "$A", 0},
		{"${DOLLAR}", "$${A}", 1},
	}
	for _, tt := range tests {
		got, refs, err := expand(tt.in, env)
		if err != nil || got != tt.want || len(refs) != tt.refs {
			t.Errorf("expand(%q) = %q, %q, %v; want %q with %d refs", tt.in, got, refs, err, tt.want, tt.refs)
		}
	}
	for _, in := range []string{"${", "${A", "x${A:-b", "${-}", "${A B}", "${9}"} {
		if got, _, err := expand(in, env); err == nil {
			t.Errorf("expand(%q) = %q, want an error", in, got)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func accountWith(extra string) string {
	return "cloudflare:\n  accounts: [{name: default, plan: free, " + extra + "}]\n" +
		"  zones: [{name: example.com, id: 023e105f4ecef8ad9ca31a8372d0c353}]\n"
}

func TestParseReadsAPITokenFile(t *testing.T) {
	path := writeFile(t, "token", "cf-file-token\r\n \n")
	cfg := mustParse(t, accountWith("api_token_file: "+path), noEnv)
	a := cfg.Cloudflare.Accounts[0]
	if a.APIToken.Reveal() != "cf-file-token" || a.APITokenFile != path || !a.HasCredentials() || cfg.DryRun() {
		t.Errorf("account = %+v, DryRun() = %v; want the trimmed file content as token and a live config", a, cfg.DryRun())
	}
	// Parse's result passes Validate again: a token read from a file is not
	// mistaken for a config that sets both keys.
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate after Parse: %v", err)
	}
}

func TestParseAPITokenFileErrors(t *testing.T) {
	const key = "cloudflare.accounts[0].api_token_file: "
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	empty := writeFile(t, "empty", "\n\n")
	big := writeFile(t, "big", strings.Repeat("a", maxSecretFile+1))
	spaced := writeFile(t, "spaced", "file secret with spaces\n")
	tests := []struct {
		name, extra string
		want        []string
	}{
		{"missing", "api_token_file: " + missing, []string{key + `cannot read file "` + missing + `": no such file or directory`}},
		{"directory", "api_token_file: " + dir, []string{key + `cannot read file "` + dir + `": not a regular file`}},
		{"empty", "api_token_file: " + empty, []string{key + `cannot read file "` + empty + `": is empty`}},
		{"too large", "api_token_file: " + big, []string{key + `cannot read file "` + big + `": larger than 64 KiB`}},
		{"path from the environment", `api_token_file: "${TOKEN_FILE}"`, []string{key + "cannot read the file named by ${TOKEN_FILE}: no such file"}},
		{"content not header-safe", "api_token_file: " + spaced, []string{key + "contains whitespace", "(value not shown)"}},
		{"both token and file", "api_token: t, api_token_file: " + empty, []string{key + "set api_token or api_token_file, not both"}},
	}
	getenv := envMap(map[string]string{"TOKEN_FILE": missing})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(accountWith(tt.extra)), getenv)
			wantErr(t, err, tt.want...)
			if strings.Contains(err.Error(), "secret with spaces") {
				t.Errorf("error shows the file's content:\n%v", err)
			}
		})
	}
	_, err := Parse([]byte(accountWith("api_token_file: "+missing)), noEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}
