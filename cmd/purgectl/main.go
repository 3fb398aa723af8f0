// Command purgectl is the operator's and publisher's CLI for purge-worker:
// publish intents, inspect the queue, manage the dead-letter stream, check a
// config file, and run a sandbox fake of the Cloudflare API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: purgectl <command> [flags]

commands:
  publish          publish purge intents (flags, -f FILE, -f - for stdin, --urls for one URL a line);
                   --wait [DURATION] waits until they are purged (exit 0; 1 dead-lettered, 3 timed out)
  status           stream depth, consumer pending and ack-pending, DLQ depth; --id ID: one tracked intent
  dlq list         list dead-lettered intents with their reasons
  dlq replay       republish dead-lettered intents to their original subject
  dlq purge        delete dead-lettered intents
  validate-config  load and validate a config file
  sandbox          run a fake Cloudflare purge API and print the calls it receives

common flags: --server URL (default $NATS_URL or nats://127.0.0.1:4222), --creds FILE
run 'purgectl <command> -h' for the flags of a command
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// env is what a command may touch: its streams, so that tests can run
// commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	var err error
	switch args[0] {
	case "publish":
		err = e.publish(ctx, args[1:])
	case "status":
		err = e.status(ctx, args[1:])
	case "dlq":
		err = e.dlq(ctx, args[1:])
	case "validate-config":
		err = e.validateConfig(args[1:])
	case "sandbox":
		err = e.sandbox(ctx, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "purgectl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		switch err {
		case errHelp:
			return 0
		case errUsage:
			return 2
		}
		fmt.Fprintf(stderr, "purgectl %s: %v\n", args[0], err)
		if ee, ok := errors.AsType[*exitError](err); ok {
			return ee.code
		}
		return 1
	}
	return 0
}
