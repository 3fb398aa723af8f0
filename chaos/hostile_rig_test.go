package chaos

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// hostileRig is a worker running in the test process against an embedded
// JetStream server and cftest, as the daemon wires them, for feeding it
// hostile messages.
type hostileRig struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
	cf *cftest.Server
	w  *worker.Worker

	valid     []*intent.Intent
	published []time.Time
}

// newHostileRig starts NATS with the given max_payload (0: the default of
// 1 MiB), cftest, and a worker.
func newHostileRig(t *testing.T, maxPayload int32) *hostileRig {
	t.Helper()
	ns := startNATS(t, freePort(t), filepath.Join(t.TempDir(), "nats"), maxPayload)
	nc, js := testutil.ConnectJS(t, ns.url())
	cf := cftest.NewServer()
	t.Cleanup(cf.Close)
	acct := cf.AddAccount("acct", "pro", cfToken)
	for _, z := range testZones() {
		cf.AddZone(z.ID, z.Name, acct)
	}
	w := startWorker(t, js, cfclient.New(cf.URL, cfclient.Auth{Token: cfToken}, nil), testLogger(t))
	return &hostileRig{t: t, nc: nc, js: js, cf: cf, w: w}
}

// startWorker runs a worker in the test process on js, sending through
// purger, until the test ends, and waits until it is ready.
func startWorker(t *testing.T, js jetstream.JetStream, purger worker.Purger, log *slog.Logger) *worker.Worker {
	t.Helper()
	limits, _ := cfclient.PlanLimits("pro")
	w, err := worker.New(js, worker.Config{
		Stream: streamName, Consumer: consumerName, DLQStream: dlqName,
		AckWait: 30 * time.Second, MaxAckPending: 20000, MaxDeliver: -1,
		Window: 100 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
		Accounts:   []worker.Account{{Name: "acct", Limits: limits, Purger: purger}},
		Zones:      testZones(),
		Logger:     log,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop within 30s")
		}
	})
	testutil.Eventually(t, 30*time.Second, "the worker to be ready", func() bool { return w.Ready() == nil })
	return w
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("PURGE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// publishRaw publishes body on subject with the headers and id as
// Nats-Msg-Id (none if id is empty), and returns the publish error.
func (h *hostileRig) publishRaw(subject, id string, body []byte, hdr nats.Header) error {
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	for k, vs := range hdr {
		msg.Header[k] = vs
	}
	if id != "" {
		msg.Header.Set(nats.MsgIdHdr, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := h.js.PublishMsg(ctx, msg)
	return err
}

// publishValid publishes the n-th valid intent of the test and records
// when.
func (h *hostileRig) publishValid(n int) {
	h.t.Helper()
	z := testZones()[n%3].Name
	in := &intent.Intent{Zone: z, ID: "valid-" + intent.NewID(),
		Files: []intent.File{{URL: "https://www." + z + "/between/" + strconv.Itoa(n)}},
		Tags:  []string{"between-" + strconv.Itoa(n)}}
	h.published = append(h.published, time.Now())
	h.valid = append(h.valid, in)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := intent.Publish(ctx, h.js, intent.Subject(in), in); err != nil {
		h.t.Fatalf("publish a valid intent: %v", err)
	}
}

// checkValidPurged checks that every valid intent's keys were purged by a
// call that arrived after it was published.
func (h *hostileRig) checkValidPurged() {
	h.t.Helper()
	var pubs []*pub
	for i, in := range h.valid {
		pubs = append(pubs, &pub{id: in.ID, in: in, at: h.published[i]})
	}
	cv := checkCoverage(pubs, h.cf.Calls())
	for _, l := range cv.lost {
		h.t.Errorf("valid intent not purged: %s", l)
	}
	for _, u := range cv.unroutable {
		h.t.Errorf("test bug: %s", u)
	}
	if cv.keys == 0 {
		h.t.Error("no valid key was checked")
	}
}

func (h *hostileRig) waitDrained() {
	h.t.Helper()
	testutil.Eventually(h.t, time.Minute, "the stream to drain", func() bool { return drained(h.js) })
}

// isStreamTooLarge reports whether err is the stream refusing a message
// over its max_msg_size.
func isStreamTooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
