package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/status"
)

func TestRunPurgesAndDrainsThenStopsCleanly(t *testing.T) {
	s := newStack(t)
	d := s.start()

	var want []string
	for i := range 6 {
		in := &intent.Intent{Zone: "example.com"}
		for j := range 5 {
			u := fmt.Sprintf("https://www.example.com/p/%d", (i*5+j)%20) // duplicates across intents
			in.Files = append(in.Files, intent.File{URL: u})
		}
		d.publish(in)
	}
	for i := range 20 {
		want = append(want, fmt.Sprintf("https://www.example.com/p/%d", i))
	}
	// An intent routed by hostname to the legacy-key account.
	d.publish(&intent.Intent{Files: []intent.File{{URL: "https://shop.example.org/cart"}}})

	testutil.Eventually(s.t, 20*time.Second, "stream drained", d.drained)
	got := s.acceptedKeys(zoneCom)
	for _, u := range want {
		if !got[u] {
			t.Errorf("%s was never purged", u)
		}
	}
	if !s.acceptedKeys(zoneOrg)["https://shop.example.org/cart"] {
		t.Error("the example.org URL was never purged through the legacy account")
	}
	for _, c := range s.cf.Calls() {
		if c.Outcome != "ok" {
			t.Errorf("call %+v was refused", c)
		}
	}

	// The HTTP surface of the running daemon.
	if code, body := s.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, metrics := s.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, m := range []string{"purge_worker_intents_total", "purge_worker_api_calls_total", "purge_worker_acks_total", "purge_worker_remembered_keys", "go_goroutines", "process_"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	if err := d.stop(); err != nil {
		t.Fatalf("Run returned %v after its context was cancelled, want nil", err)
	}
	// Everything Run bound is released: the HTTP port can be bound again.
	ln, err := net.Listen("tcp", s.httpAddr)
	if err != nil {
		t.Fatalf("http.listen %s still bound after Run returned: %v", s.httpAddr, err)
	}
	ln.Close()
	ln, err = net.Listen("tcp", s.natsAddr)
	if err != nil {
		t.Fatalf("embedded NATS %s still bound after Run returned: %v", s.natsAddr, err)
	}
	ln.Close()
}

func TestRunIngestsOverHTTP(t *testing.T) {
	s := newStack(t)
	s.start()
	code, body := s.postIntents(ingestToken, `{"zone":"example.com","files":["https://www.example.com/from-http"]}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/intents: %d %s", code, body)
	}
	testutil.Eventually(s.t, 20*time.Second, "the ingested URL purged", func() bool {
		return s.acceptedKeys(zoneCom)["https://www.example.com/from-http"]
	})
	// The daemon validates against its zones before storing.
	code, body = s.postIntents(ingestToken, `{"zone":"example.net","files":["https://example.net/"]}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "example.net") {
		t.Errorf("POST of an unknown zone: %d %s; want 400 naming it", code, body)
	}
}

func TestRunFailsWhenTheHTTPPortIsInUse(t *testing.T) {
	s := newStack(t)
	ln, err := net.Listen("tcp", s.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), parseConfig(t, s.yaml()), s.log)
	if err == nil {
		t.Fatal("Run started with its HTTP port in use")
	}
	if !strings.Contains(err.Error(), "http.listen") {
		t.Errorf("error %q should name http.listen", err)
	}
	noSecrets(t, "start-up error", err.Error())
}

func TestRunFailsWhenNATSIsUnreachable(t *testing.T) {
	s := newStack(t)
	dead := freeAddr(t) // nothing listens there
	yaml := strings.Replace(s.yaml(), "url: embedded", "url: nats://admin:NATSPW-s3cr3t@"+dead, 1)
	err := Run(context.Background(), parseConfig(t, yaml), s.log)
	if err == nil {
		t.Fatal("Run started without a reachable NATS server")
	}
	if !strings.Contains(err.Error(), "nats") || !strings.Contains(err.Error(), dead) {
		t.Errorf("error %q should name nats and the address %s", err, dead)
	}
	noSecrets(t, "start-up error", err.Error())
	if strings.Contains(err.Error(), "NATSPW-s3cr3t") {
		t.Errorf("error %q shows the NATS password", err)
	}
	noSecrets(t, "logs", s.logs.String())
	// A failed start releases the HTTP port it had bound.
	ln, err := net.Listen("tcp", s.httpAddr)
	if err != nil {
		t.Fatalf("http.listen still bound after a failed start: %v", err)
	}
	ln.Close()
}

// Run owns every goroutine it starts: once it returns, none is left, the
// embedded NATS server's included.
func TestRunLeavesNoGoroutines(t *testing.T) {
	s := newStack(t)
	d := s.start()
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/x"}}})
	testutil.Eventually(s.t, 20*time.Second, "stream drained", d.drained)
	d.nc.Close()
	http.DefaultClient.CloseIdleConnections()
	if err := d.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	testutil.Eventually(s.t, 10*time.Second, "Run's goroutines to end", func() bool { return len(leftovers()) == 0 })
}

// leftovers returns the stacks of goroutines, other than the caller's, that
// run code Run starts: the embedded NATS server, the NATS client, the
// worker and the HTTP API. (goleak is not a dependency of the module.)
func leftovers() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // this goroutine
		}
		for _, pkg := range []string{"nats-io/nats-server", "nats-io/nats.go", "purge-worker/worker.", "purge-worker/httpapi.", "purge-worker/internal/natsconn."} {
			if strings.Contains(g, pkg) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// The daemon keeps status records for tracked intents, with the configured
// nats.status_ttl, and answers POST ?wait= and GET /v1/intents/{id}.
func TestRunTracksIntents(t *testing.T) {
	s := newStack(t)
	s.natsExtra = "  status_ttl: 3h\n"
	d := s.start()
	code, body := s.do(http.MethodPost, "/v1/intents?wait=30s",
		[]byte(`{"zone":"example.com","files":["https://www.example.com/tracked"],"id":"track-1"}`),
		"Authorization", "Bearer "+ingestToken)
	if code != http.StatusOK || !strings.Contains(body, `"state":"purged"`) {
		t.Fatalf("POST ?wait=30s: %d %s", code, body)
	}
	if !s.acceptedKeys(zoneCom)["https://www.example.com/tracked"] {
		t.Error("answered purged, but Cloudflare accepted no call with the URL")
	}
	code, body = s.do(http.MethodGet, "/v1/intents/track-1", nil, "Authorization", "Bearer "+ingestToken)
	if code != http.StatusOK || !strings.Contains(body, `"state":"purged"`) {
		t.Errorf("GET /v1/intents/track-1: %d %s", code, body)
	}
	kv, err := status.Open(context.Background(), d.js)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(context.Background())
	if err != nil || st.TTL() != 3*time.Hour {
		t.Errorf("status bucket TTL %v (%v), want nats.status_ttl 3h", st.TTL(), err)
	}
}
