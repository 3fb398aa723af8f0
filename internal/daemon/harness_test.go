package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// Secrets the daemon is configured with. They are distinctive so that a
// search for them in logs, metrics, errors and dead letters cannot match
// anything else.
const (
	cfToken     = "CFTOKEN-s3cr3t-7f2a9c41d0e8b5"
	cfKey       = "CFKEY-s3cr3t-91b2c3d4e5f60718"
	ingestToken = "INGEST-s3cr3t-4b5c6d7e8f9a0b1c"
)

const (
	zoneCom = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneOrg = "1b2c3d4e5f60718293a4b5c6d7e8f901"
)

// syncBuffer is testutil.SyncBuffer, under the name this package's tests use.
type syncBuffer = testutil.SyncBuffer

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// stack is a cftest fake of Cloudflare and a config that points the daemon
// at it, with an embedded JetStream server.
type stack struct {
	t        *testing.T
	cf       *cftest.Server
	acct     *cftest.Account
	legacy   *cftest.Account
	natsAddr string
	httpAddr string
	logs     *syncBuffer
	log      *slog.Logger
	// natsExtra is added to the config's nats section ("  key: value\n").
	natsExtra string
	// hooks is YAML put under http (indented by four spaces), such as
	// "webhooks:\n    - {...}".
	hooks string
	// edit, if set, rewrites the config file before start.
	edit func(yaml string) string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, logs: &syncBuffer{}}
	s.cf = cftest.NewServer()
	t.Cleanup(s.cf.Close)
	s.acct = s.cf.AddAccount("default", "pro", cfToken)
	s.cf.AddZone(zoneCom, "example.com", s.acct)
	s.legacy = s.cf.AddAccount("legacy", "pro", "")
	s.legacy.SetEmailKey("ops@example.org", cfKey)
	s.cf.AddZone(zoneOrg, "example.org", s.legacy)
	s.natsAddr = freeAddr(t)
	s.httpAddr = freeAddr(t)
	s.log = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return s
}

// yaml returns the daemon's config file; extra is appended verbatim.
func (s *stack) yaml() string {
	return fmt.Sprintf(`
nats:
  url: embedded
  embedded: {listen: %q, store_dir: %q}
%sbatch:
  window: 200ms
cloudflare:
  api_base_url: %s
  dry_run: "false"
  accounts:
    - {name: default, plan: pro, api_token: %s}
    - {name: legacy, plan: pro, api_email: ops@example.org, api_key: %s}
  zones:
    - {name: example.com, id: %s, account: default}
    - {name: example.org, id: %s, account: legacy}
http:
  listen: %q
  ingest_tokens: [%s]
  %s
log: {level: debug, format: json}
shutdown_timeout: 10s
`, s.natsAddr, s.t.TempDir(), s.natsExtra, s.cf.URL, cfToken, cfKey, zoneCom, zoneOrg, s.httpAddr, ingestToken, s.hooks)
}

func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// daemon is a running Run.
type daemon struct {
	s      *stack
	cancel context.CancelFunc
	done   chan error
	nc     *nats.Conn
	js     jetstream.JetStream
}

// start runs the daemon until stop, and waits for it to be ready.
func (s *stack) start() *daemon {
	s.t.Helper()
	yaml := s.yaml()
	if s.edit != nil {
		yaml = s.edit(yaml)
	}
	cfg := parseConfig(s.t, yaml)
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- Run(ctx, cfg, s.log) }()
	s.t.Cleanup(func() { d.stop() })
	testutil.Eventually(s.t, 20*time.Second, "/readyz answering 200", func() bool {
		code, _ := s.get("/readyz")
		return code == http.StatusOK
	})
	d.nc, d.js = testutil.ConnectJS(s.t, "nats://"+s.natsAddr)
	return d
}

// stop cancels Run's context and returns what Run returned.
func (d *daemon) stop() error {
	if d.cancel == nil {
		return nil
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		return err
	case <-time.After(30 * time.Second):
		d.s.t.Fatal("Run did not return within 30s of its context being cancelled")
		return nil
	}
}

func (s *stack) get(path string) (int, string) {
	res, err := http.Get("http://" + s.httpAddr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// do sends a request to the daemon's HTTP listener with the given header
// name and value pairs, and returns the status and the body.
func (s *stack) do(method, path string, body []byte, header ...string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

func (s *stack) postIntents(token, body string) (int, string) {
	s.t.Helper()
	return s.do(http.MethodPost, "/v1/intents", []byte(body), "Authorization", "Bearer "+token)
}

func (d *daemon) publish(in *intent.Intent) {
	d.s.t.Helper()
	if _, err := intent.Publish(context.Background(), d.js, intent.Subject(in), in); err != nil {
		d.s.t.Fatalf("publish: %v", err)
	}
}

func (d *daemon) publishRaw(subject string, body []byte) {
	d.s.t.Helper()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, intent.NewID())
	if _, err := d.js.PublishMsg(context.Background(), msg); err != nil {
		d.s.t.Fatalf("publish raw: %v", err)
	}
}

// drained reports whether the intent stream is empty and the consumer
// holds nothing.
func (d *daemon) drained() bool {
	ctx := context.Background()
	st, err := d.js.Stream(ctx, "PURGE")
	if err != nil {
		return false
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs != 0 {
		return false
	}
	c, err := d.js.Consumer(ctx, "PURGE", "purge-worker")
	if err != nil {
		return false
	}
	ci, err := c.Info(ctx)
	return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
}

// dlq returns every dead-lettered message.
func (d *daemon) dlq() []*jetstream.RawStreamMsg {
	d.s.t.Helper()
	return testutil.NamedStreamMsgs(d.s.t, d.js, "PURGE_DLQ")
}

// accepted returns the keys of every call cftest accepted, for zone.
func (s *stack) acceptedKeys(zone string) map[string]bool {
	out := map[string]bool{}
	for _, c := range s.cf.Accepted() {
		if c.ZoneID == zone {
			for _, k := range c.Keys {
				out[k] = true
			}
		}
	}
	return out
}
