package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// The sandbox's defaults match examples/sandbox.yaml, so the walk-through
// needs no flags.
const (
	sandboxToken  = "sandbox-token-0123456789"
	sandboxZone   = "example.com=023e105f4ecef8ad9ca31a8372d0c353"
	sandboxListen = "127.0.0.1:8787"
)

// sandbox serves cftest, the project's faithful fake of the Cloudflare purge
// API, on a port, and prints each call it receives, so anyone can watch the
// worker batch without a Cloudflare account.
func (e env) sandbox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", sandboxListen, "address to serve the fake API on")
	plan := fs.String("plan", "free", "plan whose limits to enforce: "+strings.Join(cfclient.Plans, ", "))
	token := fs.String("token", sandboxToken, "API token the fake accepts")
	var zones strs
	fs.Var(&zones, "zone", "zone as name=32-hex-id (repeatable; default "+sandboxZone+")")
	maxURLs := fs.Int("max-urls", 0, "lower the files-per-request maximum (e.g. 30, as some accounts still have)")
	keys := fs.Int("show-keys", 5, "how many keys of each call to print")
	if err := parse(fs, args); err != nil {
		return err
	}
	limits, ok := cfclient.PlanLimits(*plan)
	if !ok {
		return fmt.Errorf("--plan %q: want one of %s", *plan, strings.Join(cfclient.Plans, ", "))
	}
	if len(zones) == 0 {
		zones = strs{sandboxZone}
	}
	var mu sync.Mutex // the observer may be called from several requests at once
	srv := cftest.NewUnstarted(cftest.WithObserver(func(c cftest.Call) {
		mu.Lock()
		defer mu.Unlock()
		printCall(e, c, *keys)
	}))
	acct := srv.AddAccount("sandbox", *plan, *token)
	if *maxURLs > 0 {
		limits.MaxURLsPerRequest = *maxURLs
		acct.SetLimits(limits)
	}
	seen := map[string]bool{}
	for _, z := range zones {
		name, id, ok := strings.Cut(z, "=")
		id = strings.ToLower(id)
		switch {
		case !ok || name == "":
			return fmt.Errorf("--zone %q: want name=id", z)
		case len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "":
			return fmt.Errorf("--zone %q: the id must be 32 hex digits", z)
		case seen[id] || seen[name]:
			return fmt.Errorf("--zone %q: zone given twice", z)
		}
		seen[id], seen[name] = true, true
		srv.AddZone(id, name, acct)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(e.stdout, "fake Cloudflare purge API (plan %s) on http://%s/client/v4\n  token: %s\n  zones: %s\nwaiting for calls; Ctrl-C stops\n",
		*plan, ln.Addr(), *token, strings.Join(zones, ", "))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func printCall(e env, c cftest.Call, show int) {
	keys := c.Keys
	more := ""
	if len(keys) > show {
		more = fmt.Sprintf(" ... (+%d more)", len(keys)-show)
		keys = keys[:show]
	}
	fmt.Fprintf(e.stdout, "%s %-16s %-12s %-16s %3d keys  %d %s  %s%s\n",
		c.At.Format("15:04:05.000"), c.Endpoint, c.ZoneName, c.Kind, len(c.Keys), c.Status, c.Outcome,
		strings.Join(keys, " "), more)
}
