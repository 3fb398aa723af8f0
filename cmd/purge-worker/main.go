// Command purge-worker is the daemon: it pulls purge intents from NATS
// JetStream and sends the fewest rate-limited Cloudflare purge calls that
// cover them. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/internal/daemon"
	"github.com/purge-worker/purge-worker/internal/logging"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("purge-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("PURGE_WORKER_CONFIG")
	if def == "" {
		def = "config.yaml"
	}
	path := fs.String("config", def, "config file (env PURGE_WORKER_CONFIG)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *version {
		fmt.Fprintln(stderr, "purge-worker", daemon.Version)
		return 0
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "purge-worker: %v\n", err)
		return 1
	}
	log, err := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(stderr, "purge-worker: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("starting", "version", daemon.Version, "config", *path, "dry_run", cfg.DryRun())
	if err := daemon.Run(ctx, cfg, log); err != nil {
		fmt.Fprintf(stderr, "purge-worker: %v\n", err)
		return 1
	}
	return 0
}
