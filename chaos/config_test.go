package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chaosAckWait is the consumer's ack_wait in the chaos run: short, so that
// the messages a killed worker held come back quickly, and so that a
// keep-alive that fails shows up as a redelivery within the run.
const chaosAckWait = 5 * time.Second

// writeConfig writes the worker's config.yaml. The secrets are not in the
// file: they come from the environment through ${VAR}, as in production.
func writeConfig(t testing.TB, dir, natsURL, cfURL, httpAddr string) string {
	t.Helper()
	var zones strings.Builder
	for _, z := range testZones() {
		fmt.Fprintf(&zones, "    - {name: %s, id: %s, account: %s}\n", z.Name, z.ID, z.Account)
	}
	cfg := fmt.Sprintf(`# purge-worker config of the chaos test
nats:
  url: %s
  ack_wait: %s
  max_ack_pending: 20000
  lease_ttl: %s  # = ack_wait: by a takeover, what a killed worker held is back
batch:
  window: 200ms
cloudflare:
  api_base_url: %s
  dry_run: "false"
  accounts:
    - name: acct
      plan: pro
      api_token: ${CHAOS_CF_TOKEN}
  zones:
%shttp:
  listen: %s
  ingest_tokens: ["${CHAOS_INGEST_TOKEN}"]
log: {level: debug, format: json}
shutdown_timeout: 2s
`, natsURL, chaosAckWait, chaosAckWait, cfURL, zones.String(), httpAddr)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func secretEnv() []string {
	return []string{"CHAOS_CF_TOKEN=" + cfToken, "CHAOS_INGEST_TOKEN=" + ingestToken}
}
