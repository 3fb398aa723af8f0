package main

import (
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/natsconn"
)

// errUsage means the flag package has already printed what was wrong;
// errHelp that it printed the help that was asked for.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error { *s = append(*s, v); return nil }

// conn holds the connection flags every NATS command takes.
type conn struct {
	server, creds string
}

func (c *conn) register(fs *flag.FlagSet) {
	def := os.Getenv("NATS_URL")
	if def == "" {
		def = "nats://127.0.0.1:4222"
	}
	fs.StringVar(&c.server, "server", def, "NATS server URLs, comma separated (env NATS_URL)")
	fs.StringVar(&c.creds, "creds", "", "NATS credentials file")
}

func (c *conn) connect() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := natsconn.Connect(natsconn.Options{
		Servers:         strings.Split(c.server, ","),
		Name:            "purgectl",
		CredentialsFile: c.creds,
	})
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}
