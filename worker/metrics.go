package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/purge-worker/purge-worker/intent"
)

// metrics is the worker's Prometheus instrumentation. Labels are bounded
// enums (result, type, outcome, reason) plus the configured account names;
// never a URL, tag or message ID.
type metrics struct {
	intents      *prometheus.CounterVec
	items        *prometheus.CounterVec
	coalesced    *prometheus.CounterVec
	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	batchSize    *prometheus.HistogramVec
	rateWait     prometheus.Histogram
	acks         *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	// deadLetterLost counts messages terminated without a copy.
	deadLetterLost *prometheus.CounterVec
	authPaused     *prometheus.GaugeVec
	maxLowered     prometheus.Counter
	active         prometheus.Gauge
	terms          *prometheus.CounterVec
	statusWrites   *prometheus.CounterVec

	// Resolved children of the vectors intake touches per message, so
	// the hot path does not hash label values.
	itemsByKind                    [len(intent.Kinds)]prometheus.Counter
	accepted, invalid, redelivered prometheus.Counter
	acked                          prometheus.Counter
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_intents_total",
			Help: "Intent messages received, by result (accepted, invalid, redelivered).",
		}, []string{"result"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_items_total",
			Help: "Normalised purge keys received in accepted intents, by type.",
		}, []string{"type"}),
		coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_coalesced_total",
			Help: "Keys that needed no call of their own, by reason (duplicate, covered, earlier_call: a call issued after the message was stored).",
		}, []string{"reason"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_api_calls_total",
			Help: "Cloudflare purge API calls, by type and outcome.",
		}, []string{"type", "outcome"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "purge_worker_api_call_duration_seconds",
			Help:    "Duration of Cloudflare purge API calls.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"type"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "purge_worker_batch_size",
			Help:    "Keys per purge API call, by type.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 50, 100, 200, 500},
		}, []string{"type"}),
		rateWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "purge_worker_rate_limit_wait_seconds",
			Help:    "Pauses imposed on an account by Cloudflare 429 answers (Retry-After, or one refill).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_acks_total",
			Help: "Messages settled, by result (ack, nak, term).",
		}, []string{"result"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_dead_lettered_total",
			Help: "Messages copied to the dead-letter stream, by reason (invalid, rejected).",
		}, []string{"reason"}),
		deadLetterLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_dead_letter_lost_total",
			Help: "Messages terminated without a dead-letter copy after the copy failed on every delivery, by reason (invalid, rejected).",
		}, []string{"reason"}),
		authPaused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "purge_worker_account_auth_failed",
			Help: "1 while an account is paused because Cloudflare refused its credentials.",
		}, []string{"account"}),
		maxLowered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "purge_worker_chunks_too_large_total",
			Help: "Calls Cloudflare refused for holding more keys than the account accepts per request; each lowers that zone's and type's maximum.",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "purge_worker_active",
			Help: "1 while this replica holds the lease and is the one that pulls and calls Cloudflare, 0 on a standby.",
		}),
		terms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_lease_terms_total",
			Help: "Lease terms of this replica, by event (acquired, lost, released); acquired counts handovers to it.",
		}, []string{"event"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "purge_worker_status_writes_total",
			Help: "Status records of tracked intents written to KV, by result (ok, failed: retried, dropped: queue full).",
		}, []string{"result"}),
	}
	for _, k := range intent.Kinds {
		m.itemsByKind[k] = m.items.WithLabelValues(k.String())
	}
	// Exported at 0 from the start, so that increase() sees the first
	// dead letter (a series born at 1 shows no increase).
	for _, reason := range []string{"invalid", "rejected"} {
		m.deadLettered.WithLabelValues(reason)
	}
	m.accepted = m.intents.WithLabelValues("accepted")
	m.invalid = m.intents.WithLabelValues("invalid")
	m.redelivered = m.intents.WithLabelValues("redelivered")
	m.acked = m.acks.WithLabelValues("ack")
	if r != nil {
		r.MustRegister(m.intents, m.items, m.coalesced, m.calls, m.callDuration,
			m.batchSize, m.rateWait, m.acks, m.deadLettered, m.deadLetterLost, m.authPaused,
			m.maxLowered, m.active, m.terms, m.statusWrites)
	}
	return m
}

// registerGauges exposes the batcher's state, read under the worker's lock
// at scrape time so the gauges are never stale.
func (w *Worker) registerGauges(r prometheus.Registerer) {
	if r == nil {
		return
	}
	r.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_pending_items",
			Help: "Distinct keys waiting for a call (not in flight).",
		}, func() float64 { return float64(w.stats().PendingKeys) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_in_flight_items",
			Help: "Distinct keys in calls that have not completed.",
		}, func() float64 { return float64(w.stats().InFlightKeys) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_held_messages",
			Help: "Messages received and not yet settled.",
		}, func() float64 { return float64(w.heldCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_dead_letters_waiting",
			Help: "Messages waiting for their dead-letter copy to be stored; it grows while the dead-letter stream is slow or down.",
		}, func() float64 { return float64(w.deadLettersWaiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_remembered_keys",
			Help: "Keys of recent successful calls remembered with their horizons (at most batch.remember_keys).",
		}, func() float64 { return float64(w.stats().Remembered) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_oldest_pending_age_seconds",
			Help: "Age of the oldest key waiting for a call.",
		}, w.oldestAge),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_consuming",
			Help: "1 while intake is bound to the JetStream consumer.",
		}, func() float64 { return b2f(w.consumer.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "purge_worker_batch_window_seconds",
			Help: "The configured batch.window, for alerts that scale with it.",
		}, w.cfg.Window.Seconds),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
