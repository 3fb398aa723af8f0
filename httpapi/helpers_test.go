package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// testToken is the ingest token every test server accepts.
const testToken = "ingest-token-0123456789abcdef"

// zoneID and zoneName are the one configured zone.
const (
	zoneID   = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneName = "example.com"
)

// env is a real embedded JetStream server holding the PURGE stream, and a
// Server publishing to it, served by httptest.
type env struct {
	t   *testing.T
	ns  *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	st  jetstream.Stream
	reg *prometheus.Registry
	srv *Server
	ts  *httptest.Server
}

type envOpt func(*Config)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, reg: prometheus.NewRegistry()}
	e.ns = startNATS(t)
	e.nc, e.js = testutil.ConnectJS(t, e.ns.ClientURL())
	var err error
	if e.st, err = e.js.CreateStream(context.Background(), worker.StreamConfig("PURGE")); err != nil {
		t.Fatal(err)
	}
	zones, err := intent.NewZones([]intent.Zone{{ID: zoneID, Name: zoneName}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Tokens:     []string{testToken},
		Zones:      zones,
		Publisher:  e.js,
		Gatherer:   e.reg,
		Registerer: e.reg,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = New(cfg)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns := testutil.StartJetStream(t, t.TempDir(), -1)
	return ns
}

// response is an answer of the server, its body decoded.
type response struct {
	code   int
	header http.Header
	raw    string
	body   struct {
		Error    string     `json:"error"`
		Accepted []accepted `json:"accepted"`
	}
}

// post sends body to POST /v1/intents with the bearer token tok ("" for no
// Authorization header).
func (e *env) post(tok string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/intents", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{code: res.StatusCode, header: res.Header, raw: string(data)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &r.body); err != nil {
			e.t.Fatalf("answer %d is not JSON: %v: %q", res.StatusCode, err, data)
		}
	}
	return r
}

func (e *env) get(path string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// stored returns every message in the PURGE stream, in order.
func (e *env) stored() []*jetstream.RawStreamMsg {
	e.t.Helper()
	return testutil.StreamMsgs(e.t, e.st)
}

// counter returns the value of purge_worker_ingest_requests_total{code}.
func (e *env) counter(code string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "purge_worker_ingest_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
