package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/lease"
)

// Role is what a replica is doing.
type Role string

// Roles: a worker is starting until Run has reached NATS, then standby or
// active. Only the active replica pulls messages and calls Cloudflare.
const (
	RoleStarting Role = "starting"
	RoleStandby  Role = "standby"
	RoleActive   Role = "active"
)

// Role reports the replica's current role. It is safe to call at any time.
func (w *Worker) Role() Role {
	if r, ok := w.role.Load().(Role); ok {
		return r
	}
	return RoleStarting
}

func (w *Worker) setRole(r Role) {
	w.role.Store(r)
	v := 0.0
	if r == RoleActive {
		v = 1
	}
	w.metrics.active.Set(v)
}

// AccountLevels is a snapshot of one account's token buckets.
type AccountLevels struct {
	Account     string
	Flex        float64 // flex calls that could be made now
	FlexBurst   float64
	URLs        float64 // URLs that could be purged now
	URLsBurst   float64
	PausedUntil time.Time // zero, or until when Cloudflare or a failure paused the account
}

// Levels returns each account's bucket levels as this replica knows them
// (on a standby: as they were when it was last active, or full).
func (w *Worker) Levels() []AccountLevels {
	now := time.Now()
	out := make([]AccountLevels, 0, len(w.accounts))
	for _, a := range w.accounts {
		a.mu.Lock()
		l := AccountLevels{Account: a.name, Flex: max(a.flex.tokensAt(now), 0), FlexBurst: a.flex.burst,
			URLs: max(a.urls.tokensAt(now), 0), URLsBurst: a.urls.burst}
		if a.pausedUntil.After(now) {
			l.PausedUntil = a.pausedUntil
		}
		a.mu.Unlock()
		out = append(out, l)
	}
	return out
}

// ensureBuckets creates the lease and limits buckets if they are missing,
// replicated like the intent stream, and keeps the lease bucket's TTL in
// line with the configured lease TTL.
func ensureBuckets(ctx context.Context, js jetstream.JetStream, cfg Config) (leases, limits jetstream.KeyValue, err error) {
	st, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return nil, nil, fmt.Errorf("look up stream %s: %w", cfg.Stream, err)
	}
	replicas := max(st.CachedInfo().Config.Replicas, 1)
	lc := lease.BucketConfig(cfg.LeaseTTL, replicas)
	leases, err = ensureBucket(ctx, js, lc)
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		// An older server: standbys notice an expired lease by polling.
		lc.LimitMarkerTTL = 0
		leases, err = ensureBucket(ctx, js, lc)
	}
	if err != nil {
		return nil, nil, err
	}
	limits, err = ensureBucket(ctx, js, LimitsBucketConfig(replicas))
	return leases, limits, err
}

func ensureBucket(ctx context.Context, js jetstream.JetStream, c jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, c)
	if err != nil {
		// Another replica created it at the same moment: update it.
		kv, err = js.CreateOrUpdateKeyValue(ctx, c)
	}
	if err != nil {
		return nil, fmt.Errorf("ensure kv bucket %s: %w", c.Bucket, err)
	}
	return kv, nil
}

// serve runs one active term: it claims every account's limits under the
// term, reclaims what a previous holder left un-acked, and pulls until ctx
// ends or the term is lost. It reports whether the term was lost.
func (w *Worker) serve(ctx context.Context, cons jetstream.Consumer, limits jetstream.KeyValue, t *lease.Term) (intakeErr error, lost bool) {
	f := newFence(t, w.cfg.Replica)
	for _, a := range w.accounts {
		l, err := openLedger(ctx, limits, a, f)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("limits_not_claimed", "account", a.name, "err", err)
			}
			return nil, ctx.Err() == nil
		}
		a.ledger.Store(l)
	}
	w.reclaim(ctx, cons)
	w.setRole(RoleActive)
	w.metrics.terms.WithLabelValues("acquired").Inc()
	w.log.Info("lease_acquired", "term", t.ID(), "replica", w.cfg.Replica)

	var watch sync.WaitGroup
	defer watch.Wait()
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch.Go(func() {
		// Ends with ictx at the latest, which serve cancels on return.
		select {
		case <-t.Lost():
		case <-f.deposed:
		case <-ictx.Done():
		}
		cancel()
	})
	// Count the start of a term as a wake: a backlog waiting in the stream
	// is then pulled whole (or for one window) before the senders look.
	w.lastWake = time.Now()
	intakeErr = w.intake(ictx, cons)
	if w.lateWake != nil {
		w.lateWake.Stop()
	}
	return intakeErr, ctx.Err() == nil
}

// reclaim makes what a previous holder left un-acked (it crashed, or lost
// its lease while holding messages) deliverable now rather than after
// ack_wait, by resetting the consumer to its ack floor. It is worth it only
// when ack_wait is longer than the lease TTL: otherwise those messages,
// no longer kept alive since the holder stopped, come back on their own by
// the time its lease has expired. A reset restarts the consumer's delivery
// sequence and delivery counts at 1. Servers before 2.14 cannot reset; the
// messages then come back when their ack_wait runs out.
func (w *Worker) reclaim(ctx context.Context, cons jetstream.Consumer) {
	if w.cfg.AckWait <= w.cfg.LeaseTTL {
		return
	}
	info, err := cons.Info(ctx)
	if err != nil || info.NumAckPending == 0 {
		return
	}
	if _, err := w.js.ResetConsumer(ctx, w.cfg.Stream, w.cfg.Consumer); err != nil {
		w.log.Warn("reclaim_failed", "messages", info.NumAckPending,
			"redelivered_within", w.cfg.AckWait.String(), "err", err)
		return
	}
	w.log.Info("reclaimed", "messages", info.NumAckPending)
}

// demote ends an active term that was lost: no call is issued any more
// (the accounts' ledgers are gone), calls in flight may finish and settle
// their messages, and everything still held is released at once to the
// replica that took over.
func (w *Worker) demote(t *lease.Term) {
	for _, a := range w.accounts {
		a.ledger.Store(nil)
	}
	w.setRole(RoleStandby)
	w.metrics.terms.WithLabelValues("lost").Inc()
	w.waitInFlight()
	w.releaseAll()
	// Intake has stopped; its state starts afresh with the next term,
	// whose reclaim may restart the consumer's delivery counts.
	w.holdUntil.Store(0)
	w.holdStart = time.Time{}
	w.lastFirst = 0
	_ = t.Release(context.Background())
	w.log.Warn("lease_demoted", "term", t.ID())
}

// waitInFlight waits until no call is in flight, for at most the shutdown
// timeout.
func (w *Worker) waitInFlight() {
	deadline := time.NewTimer(w.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for w.stats().InFlightKeys > 0 {
		select {
		case <-w.settled:
		case <-deadline.C:
			w.log.Warn("demote_deadline_passed", "in_flight_keys", w.stats().InFlightKeys)
			return
		}
	}
}
