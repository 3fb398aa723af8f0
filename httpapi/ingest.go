package httpapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/status"
)

// maxBatch bounds how many intents one request may carry.
const maxBatch = 1000

type ingest struct {
	cfg      Config
	log      *slog.Logger
	closing  <-chan struct{} // the server is shutting down
	tokens   [][sha256.Size]byte
	requests *prometheus.CounterVec
}

func newIngest(cfg Config, log *slog.Logger, closing <-chan struct{}) *ingest {
	in := &ingest{cfg: cfg, log: log, closing: closing}
	for _, t := range cfg.Tokens {
		in.tokens = append(in.tokens, sha256.Sum256([]byte(t)))
	}
	in.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "purge_worker_ingest_requests_total",
		Help: "POST /v1/intents requests, by HTTP status code.",
	}, []string{"code"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(in.requests)
	}
	return in
}

// authorized compares the bearer token with every configured token in
// constant time. Hashing first makes the comparison independent of the
// tokens' lengths too.
func (in *ingest) authorized(r *http.Request) bool {
	// The scheme is case-insensitive (RFC 9110 §11.1).
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimLeft(tok, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	match := 0
	for _, t := range in.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	return match == 1
}

type accepted struct {
	ID        string `json:"id"`
	Stream    string `json:"stream"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (in *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, body := in.serve(w, r)
	in.requests.WithLabelValues(fmt.Sprint(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="purge-worker"`)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

type errorBody struct {
	Error    string     `json:"error"`
	Accepted []accepted `json:"accepted,omitempty"`
}

func (in *ingest) serve(w http.ResponseWriter, r *http.Request) (int, any) {
	if len(in.tokens) == 0 || in.cfg.Publisher == nil {
		return http.StatusNotFound, errorBody{Error: "ingest is disabled: set http.ingest_tokens"}
	}
	if !in.authorized(r) {
		return http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, intent.MaxBodySize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("body larger than %d bytes", intent.MaxBodySize)}
		}
		return http.StatusBadRequest, errorBody{Error: "reading body: " + err.Error()}
	}
	intents, err := in.parse(data)
	if err != nil {
		return http.StatusBadRequest, errorBody{Error: err.Error()}
	}
	wait, err := in.waitParam(r)
	if err != nil {
		return http.StatusBadRequest, errorBody{Error: err.Error()}
	}
	var watch *status.Watcher
	var opts []intent.PublishOption
	if wait > 0 {
		if watch, err = in.watch(w, r, intents, wait); err != nil {
			in.log.Warn("ingest_status_unavailable", "err", err)
			return http.StatusServiceUnavailable, errorBody{Error: "cannot wait for outcomes: " + err.Error()}
		}
		defer watch.Stop()
		opts = append(opts, intent.Tracked())
	}
	var out []accepted
	for i, it := range intents {
		ack, err := intent.Publish(r.Context(), in.cfg.Publisher, intent.Subject(it), it, opts...)
		if errors.Is(err, intent.ErrInvalid) || errors.Is(err, nats.ErrMaxPayload) {
			// Too large once its id and headers are added: retrying
			// cannot help, splitting can.
			return http.StatusRequestEntityTooLarge, errorBody{
				Error:    fmt.Sprintf("intent %d: %v; split the intent", i, err),
				Accepted: out,
			}
		}
		if err != nil {
			in.log.Warn("ingest_publish_failed", "index", i, "err", err)
			return http.StatusServiceUnavailable, errorBody{
				Error:    fmt.Sprintf("intent %d not stored: %v", i, err),
				Accepted: out,
			}
		}
		out = append(out, accepted{ID: it.ID, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate})
		if watch != nil {
			if err := in.expect(r.Context(), watch, it.ID, ack); err != nil {
				in.log.Warn("ingest_status_unavailable", "err", err)
			}
		}
	}
	if watch != nil {
		return in.outcomes(r.Context(), watch, out, wait)
	}
	return http.StatusAccepted, map[string]any{"accepted": out}
}

// parse decodes one intent or an array of them and validates all of them
// before any is published.
func (in *ingest) parse(data []byte) ([]*intent.Intent, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty body: send one intent or a JSON array of intents")
	}
	var raws []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of intents: %w", err)
		}
		if len(raws) == 0 || len(raws) > maxBatch {
			return nil, fmt.Errorf("array must hold 1 to %d intents, got %d", maxBatch, len(raws))
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	out := make([]*intent.Intent, 0, len(raws))
	for i, raw := range raws {
		it, err := in.validate(raw)
		if err != nil {
			if len(raws) > 1 {
				return nil, fmt.Errorf("intent %d: %w", i, err)
			}
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func (in *ingest) validate(raw []byte) (*intent.Intent, error) {
	if in.cfg.Zones != nil {
		it, _, err := intent.Parse(raw, in.cfg.Zones)
		return it, err
	}
	it, err := intent.Decode(raw)
	if err != nil {
		return nil, err
	}
	return it, it.Validate()
}
