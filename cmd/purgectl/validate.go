package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/internal/natsconn"
)

func (e env) validateConfig(args []string) error {
	fs := flag.NewFlagSet("validate-config", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	def := os.Getenv("PURGE_WORKER_CONFIG")
	if def == "" {
		def = "config.yaml"
	}
	path := fs.String("config", def, "config file (env PURGE_WORKER_CONFIG)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	mode := "live"
	if r := cfg.DryRunReason(); r != "" {
		mode = "dry run (" + r + ")"
	}
	fmt.Fprintf(e.stdout, "%s: ok\n  nats: %s\n  accounts: %d, zones: %d\n  mode: %s\n",
		*path, natsconn.RedactURLs(cfg.NATSServers()), len(cfg.Cloudflare.Accounts), len(cfg.Cloudflare.Zones), mode)
	return nil
}
