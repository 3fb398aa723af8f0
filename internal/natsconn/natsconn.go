// Package natsconn owns how purge-worker's binaries reach NATS: connecting
// with credentials, TLS and endless reconnects, and running the in-process
// JetStream server used by the embedded default and the sandbox.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/config"
)

// Options says how to connect.
type Options struct {
	Servers         []string // nats://host:port, ...
	Name            string   // client name shown by the server
	CredentialsFile string
	CAFile          string
	CertFile        string
	KeyFile         string
	Logger          *slog.Logger
}

// Connect connects to the first reachable server. It fails fast when none
// is reachable at start-up, so a misconfigured daemon says so at once; once
// connected it reconnects forever, since a worker that gives up on NATS
// would silently stop purging.
func Connect(o Options) (*nats.Conn, error) {
	if len(o.Servers) == 0 {
		return nil, errors.New("no NATS server given")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats_disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats_reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats_async_error", "err", err)
		}),
	}
	if o.CredentialsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredentialsFile))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	nc, err := nats.Connect(joinURLs(o.Servers), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", RedactURLs(o.Servers), err)
	}
	return nc, nil
}

func joinURLs(urls []string) string {
	out := ""
	for i, u := range urls {
		if i > 0 {
			out += ","
		}
		out += u
	}
	return out
}

// RedactURLs hides user:password in server URLs for error messages.
func RedactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = config.RedactURL(u)
	}
	return joinURLs(out)
}

// Embedded is an in-process JetStream server.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a single-node JetStream server listening on listen
// (host:port; port 0 or -1 picks a free port) and storing in storeDir.
func StartEmbedded(listen, storeDir string, log *slog.Logger) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen port %q: %w", portStr, err)
	}
	if port == 0 {
		port = -1
	}
	if port > 0 {
		// Fail at once, with the reason, rather than after the
		// server's readiness timeout.
		l, err := net.Listen("tcp", listen)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS cannot listen on %s: %w", listen, err)
		}
		l.Close()
	}
	abs, err := filepath.Abs(storeDir)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS store_dir %q: %w", storeDir, err)
	}
	opts := &server.Options{
		ServerName: "purge-worker-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   abs,
		NoSigs:     true, // signals belong to main
		NoLog:      log == nil,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	if log != nil {
		srv.SetLoggerV2(&serverLogger{log: log.With("component", "nats_server")}, false, false, false)
	}
	go srv.Start() // the server owns this goroutine; Shutdown ends it
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start listening on %s (port in use?)", listen)
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is the URL clients connect to.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// Drain drains nc, so that acks still buffered reach the server, and waits
// for it to close, at most timeout; then it closes nc regardless.
func Drain(nc *nats.Conn, timeout time.Duration) {
	done := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		nc.Close()
	}
}
