package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/purge-worker/purge-worker/batcher"
	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// issue is what the sender knew when it issued a call.
type issue struct {
	at    time.Time
	epoch uint64 // the account's auth epoch
}

// execute sends one chunk and settles its outcome.
func (w *Worker) execute(ctx context.Context, a *account, c batcher.Chunk, iss issue) {
	if err := a.pay(ctx, c.Kind, len(c.Keys)); err != nil {
		w.unpaid(a, c, iss, err)
		return
	}
	err := w.attempt(ctx, a, c, c.Keys)
	if err == nil {
		w.succeed(ctx, a, c, iss.epoch)
		return
	}
	var cfErr *cfclient.Error
	switch {
	case ctx.Err() != nil:
		// Shutdown deadline: leave the keys for redelivery.
		w.requeue(c)
	case !errors.As(err, &cfErr):
		// Pause before the keys go back, or the sender could resend
		// them at once.
		d := a.backOff(time.Now(), iss.at)
		w.requeue(c)
		w.log.Warn("purge_failed", "account", a.name, "zone_id", c.ZoneID, "backoff", d.String(), "err", err)
	case cfErr.Kind == cfclient.KindClient || (cfErr.Kind == cfclient.KindTooManyKeys && len(c.Keys) == 1):
		out := w.bisect(ctx, a, c, cfErr)
		w.mu.Lock()
		res := w.batch.Resolve(c.ID, time.Now(), out)
		w.mu.Unlock()
		w.settle(res)
	case cfErr.Kind == cfclient.KindTooManyKeys:
		w.tooMany(a, c, cfErr)
	default:
		// Pause first: the moment the keys are back, the sender may
		// look for a chunk.
		w.transient(a, c.Kind, cfErr, iss.at)
		w.requeue(c)
	}
}

// transient applies a failure that says nothing about the keys: a 429
// pauses the account as Cloudflare asked, a refused token pauses it and
// releases its messages, anything else backs off.
func (w *Worker) transient(a *account, kind intent.Kind, e *cfclient.Error, issued time.Time) {
	now := time.Now()
	switch e.Kind {
	case cfclient.KindRateLimited:
		d := a.rateLimited(now, e.RetryAfter, kind)
		w.storeLevels(a)
		w.metrics.rateWait.Observe(d.Seconds())
		w.log.Warn("rate_limited", "account", a.name, "wait", d.String(), "err", e)
	case cfclient.KindAuth:
		w.pauseAuth(a, e)
	default:
		w.log.Warn("purge_failed", "account", a.name, "backoff", a.backOff(now, issued).String(), "err", e)
	}
}

func (w *Worker) succeed(ctx context.Context, a *account, c batcher.Chunk, issued uint64) {
	if a.succeeded(issued) {
		w.metrics.authPaused.WithLabelValues(a.name).Set(0)
		w.log.Info("account_auth_restored", "account", a.name)
	}
	w.mu.Lock()
	res := w.batch.Succeed(c.ID, time.Now())
	w.mu.Unlock()
	w.settle(res)
}

func (w *Worker) requeue(c batcher.Chunk) {
	w.mu.Lock()
	w.batch.Requeue(c.ID)
	w.mu.Unlock()
}

// pauseAuth pauses an account whose credentials Cloudflare refused and naks
// its messages with a delay: nothing is dead-lettered for it, since the
// intents are fine and will succeed once the token is fixed.
func (w *Worker) pauseAuth(a *account, e *cfclient.Error) {
	a.setAuthDown(time.Now().Add(w.cfg.AuthRetry))
	w.metrics.authPaused.WithLabelValues(a.name).Set(1)
	w.mu.Lock()
	hs := w.batch.Holding(a.hasZone)
	w.mu.Unlock()
	w.log.Error("account_auth_failed", "account", a.name, "retry_in", w.cfg.AuthRetry.String(),
		"released_messages", len(hs), "err", e)
	w.nak(hs, w.cfg.AuthRetry)
}

// attempt makes one API call for keys of chunk c (all of them, or a part
// while bisecting) and records it. The log line carries the chunk's
// horizon: the call settles messages stored up to that sequence.
func (w *Worker) attempt(ctx context.Context, a *account, c batcher.Chunk, keys []intent.Key) error {
	zone, mode, kind := c.ZoneID, c.Mode, c.Kind
	start := time.Now()
	resp, err := a.purger.Purge(ctx, zone, cfMode(mode), toRequest(kind, keys))
	if err == nil {
		w.track.called(zone, mode, kind, keys, resp.ID, start)
	}
	typ, out := kind.String(), outcome(ctx, err)
	w.metrics.calls.WithLabelValues(typ, out).Inc()
	w.metrics.callDuration.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	w.metrics.batchSize.WithLabelValues(typ).Observe(float64(len(keys)))
	w.recent.add(CallRecord{At: start, Account: a.name, Zone: w.zoneName(zone), Mode: mode.String(), Type: typ, Keys: len(keys), Outcome: out, Took: time.Since(start)})
	w.log.LogAttrs(ctx, slog.LevelDebug, "purge_call", slog.String("account", a.name),
		slog.String("zone_id", zone), slog.String("mode", mode.String()), slog.String("type", typ),
		slog.Int("keys", len(keys)), slog.Uint64("horizon", c.Horizon), slog.String("took", time.Since(start).String()),
		slog.Any("err", err))
	return err
}

func outcome(ctx context.Context, err error) string {
	if err == nil {
		return "ok"
	}
	if ctx.Err() != nil {
		return "canceled"
	}
	var e *cfclient.Error
	if errors.As(err, &e) {
		return e.Kind.String()
	}
	return "error"
}
