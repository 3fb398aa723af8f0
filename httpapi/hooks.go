package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/webhook"
)

// Results of POST /v1/hooks/{name}, the values of the result label.
const (
	hookAccepted     = "accepted"     // 202: stored
	hookDuplicate    = "duplicate"    // 202: a retried delivery, already stored
	hookIgnored      = "ignored"      // 200: the event purges nothing
	hookUnauthorized = "unauthorized" // 401: verification failed, nothing stored
	hookBadRequest   = "bad_request"  // 400: the body could not be read or mapped
	hookTooLarge     = "too_large"    // 413
	hookUnavailable  = "unavailable"  // 503: JetStream did not store it
	hookUnknown      = "unknown_hook" // 404, counted under hook=""
)

// hooks serves POST /v1/hooks/{name}.
type hooks struct {
	byName    map[string]*webhook.Hook
	publisher jetstream.Publisher
	now       func() time.Time
	log       *slog.Logger
	requests  *prometheus.CounterVec
}

func newHooks(cfg Config, log *slog.Logger) *hooks {
	h := &hooks{byName: map[string]*webhook.Hook{}, publisher: cfg.Publisher, now: cfg.Now, log: log}
	if h.now == nil {
		h.now = time.Now
	}
	for _, hk := range cfg.Webhooks {
		h.byName[hk.Name()] = hk
	}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "purge_worker_webhook_requests_total",
		Help: "POST /v1/hooks/{name} requests, by configured hook and result (accepted, duplicate, ignored, unauthorized, bad_request, too_large, unavailable, unknown_hook).",
	}, []string{"hook", "result"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(h.requests)
	}
	// Every configured hook shows at zero from the start, so that a rate
	// or an alert on a result works before its first occurrence.
	for name := range h.byName {
		for _, r := range []string{hookAccepted, hookDuplicate, hookIgnored, hookUnauthorized, hookBadRequest, hookTooLarge, hookUnavailable} {
			h.requests.WithLabelValues(name, r)
		}
	}
	return h
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	hook, ok := h.byName[name]
	if !ok {
		h.requests.WithLabelValues("", hookUnknown).Inc()
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no webhook of that name is configured in http.webhooks"})
		return
	}
	code, result, body := h.serve(r, hook)
	h.requests.WithLabelValues(name, result).Inc()
	writeJSON(w, code, body)
}

func (h *hooks) serve(r *http.Request, hook *webhook.Hook) (int, string, any) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, intent.MaxBodySize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, hookTooLarge, errorBody{Error: fmt.Sprintf("body larger than %d bytes", intent.MaxBodySize)}
		}
		return http.StatusBadRequest, hookBadRequest, errorBody{Error: "reading body: " + err.Error()}
	}
	req := &webhook.Request{Method: r.Method, Target: r.RequestURI, Header: r.Header, Body: data}
	out, err := hook.Handle(req, h.now())
	switch {
	case errors.Is(err, webhook.ErrUnverified):
		h.log.Info("webhook_unverified", "hook", hook.Name(), "remote", r.RemoteAddr, "err", err)
		return http.StatusUnauthorized, hookUnauthorized, errorBody{Error: err.Error()}
	case err != nil:
		h.log.Warn("webhook_bad_payload", "hook", hook.Name(), "err", err)
		return http.StatusBadRequest, hookBadRequest, errorBody{Error: err.Error()}
	case out.Ignored != "":
		h.log.Debug("webhook_ignored", "hook", hook.Name(), "reason", out.Ignored)
		return http.StatusOK, hookIgnored, map[string]string{"ignored": out.Ignored}
	}
	if h.publisher == nil {
		return http.StatusServiceUnavailable, hookUnavailable, errorBody{Error: "no JetStream publisher"}
	}
	var acc []accepted
	result := hookDuplicate
	for i, in := range out.Intents {
		ack, err := publishTracked(r.Context(), h.publisher, in)
		if tooLarge(err) {
			return http.StatusRequestEntityTooLarge, hookTooLarge, errorBody{Error: err.Error(), Accepted: acc}
		}
		if err != nil {
			h.log.Warn("webhook_publish_failed", "hook", hook.Name(), "id", in.ID, "err", err)
			return http.StatusServiceUnavailable, hookUnavailable, errorBody{
				Error:    fmt.Sprintf("intent %d of %d not stored: %v", i+1, len(out.Intents), err),
				Accepted: acc,
			}
		}
		if !ack.Duplicate {
			result = hookAccepted
		}
		acc = append(acc, accepted{ID: in.ID, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate})
	}
	h.log.Info("webhook_accepted", "hook", hook.Name(), "intents", len(acc), "duplicate", result == hookDuplicate)
	answer := map[string]any{"accepted": acc}
	if out.Unmapped != "" {
		// Only the also URLs were purged: say why, where the CMS's
		// delivery log and our log both show it.
		h.log.Warn("webhook_unmapped_pages", "hook", hook.Name(), "reason", out.Unmapped)
		answer["unmapped"] = out.Unmapped
	}
	return http.StatusAccepted, result, answer
}

// publishTracked stores an intent that the webhook package has validated,
// with its id as Nats-Msg-Id, so that a retried delivery is stored once,
// and tracked, so that its outcome can be looked up by id. Items are
// bounded in number, not in length: a payload of very long URLs can still
// make an intent too large to store, which is the one way the validated
// intent can be refused.
func publishTracked(ctx context.Context, js jetstream.Publisher, in *intent.Intent) (*jetstream.PubAck, error) {
	return intent.Publish(ctx, js, intent.Subject(in), in, intent.Tracked())
}

// tooLarge reports whether Publish refused the intent for its size.
func tooLarge(err error) bool {
	var fe *intent.FieldError
	return errors.As(err, &fe) && fe.Field == "body"
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
