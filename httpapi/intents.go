package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/status"
)

// maxWait bounds POST /v1/intents?wait=: a client that wants to wait
// longer asks GET /v1/intents/{id} afterwards.
const maxWait = 2 * time.Minute

// waitParam returns the ?wait= duration, 0 when absent.
func (in *ingest) waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	if in.cfg.Status == nil {
		return 0, errors.New("wait: this server does not track intents")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxWait {
		return 0, fmt.Errorf("wait: want a duration such as 30s, at most %s, got %q", maxWait, v)
	}
	return d, nil
}

// watch starts watching the records of intents, giving an id to those
// without one, and lets the answer be written after the wait.
func (in *ingest) watch(w http.ResponseWriter, r *http.Request, intents []*intent.Intent, wait time.Duration) (*status.Watcher, error) {
	kv, err := status.Open(r.Context(), in.cfg.Status)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(intents))
	for i, it := range intents {
		if it.ID == "" {
			it.ID = intent.NewID()
		}
		ids[i] = it.ID
	}
	// The server's WriteTimeout is shorter than the longest wait.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
	return status.Watch(r.Context(), kv, ids)
}

// expect tells watch where id was stored. The record of a duplicate may
// have been settled before the watch began, so it is read once.
func (in *ingest) expect(ctx context.Context, watch *status.Watcher, id string, ack *jetstream.PubAck) error {
	watch.Expect(id, ack.Sequence)
	defer watch.Drain(nil)
	if ack.Duplicate {
		return watch.Fetch(ctx, id, nil)
	}
	return nil
}

// waited is the answer to POST /v1/intents?wait=.
type waited struct {
	Accepted []accepted      `json:"accepted"`
	Outcomes []status.Record `json:"outcomes"`
	// Pending lists the ids not settled within the wait.
	Pending []string `json:"pending,omitempty"`
}

// outcomes waits up to wait (less if the client goes away or the server
// shuts down) and answers 200 with every outcome, or 202 with those there
// are and the ids still pending.
func (in *ingest) outcomes(ctx context.Context, watch *status.Watcher, acc []accepted, wait time.Duration) (int, any) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var shutdown sync.WaitGroup
	shutdown.Go(func() {
		select {
		case <-in.closing:
			cancel()
		case <-ctx.Done():
		}
	})
	_ = watch.Wait(ctx, nil)
	cancel()
	shutdown.Wait()
	recs := watch.Records()
	body := waited{Accepted: acc, Outcomes: []status.Record{}}
	for _, a := range acc {
		if r, ok := recs[a.ID]; ok && r.Settled() {
			body.Outcomes = append(body.Outcomes, r)
		} else {
			body.Pending = append(body.Pending, a.ID)
		}
	}
	if len(body.Pending) > 0 {
		return http.StatusAccepted, body
	}
	return http.StatusOK, body
}

// record serves GET /v1/intents/{id}: the status record of a tracked
// intent, or 404. It takes the same bearer tokens as POST.
func (in *ingest) record(w http.ResponseWriter, r *http.Request) {
	code, body := in.lookup(r)
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="purge-worker"`)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func (in *ingest) lookup(r *http.Request) (int, any) {
	if len(in.tokens) == 0 || in.cfg.Status == nil {
		return http.StatusNotFound, errorBody{Error: "intent status is disabled: set http.ingest_tokens"}
	}
	if !in.authorized(r) {
		return http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token"}
	}
	id := r.PathValue("id")
	notFound := errorBody{Error: fmt.Sprintf("no status record for id %q: not tracked, not received yet, or expired", id)}
	kv, err := status.Open(r.Context(), in.cfg.Status)
	if errors.Is(err, status.ErrNoBucket) {
		return http.StatusNotFound, notFound
	}
	if err != nil {
		return http.StatusServiceUnavailable, errorBody{Error: err.Error()}
	}
	rec, err := status.Get(r.Context(), kv, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return http.StatusNotFound, notFound
	}
	if err != nil {
		return http.StatusServiceUnavailable, errorBody{Error: err.Error()}
	}
	return http.StatusOK, rec
}
