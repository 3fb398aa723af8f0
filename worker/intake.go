package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
)

// Prefetch returns how many messages the worker asks the NATS client to
// buffer ahead of it. A buffered message's ack_wait is already running
// (nats.go#1929) and the keep-alive does not reach it until intake has
// taken it, so the buffer must drain well within ack_wait even when intake
// is slow (a restart's backlog on a loaded machine): it holds what intake
// takes in ack_wait/30 at 1,000 messages a second, where it takes tens of
// thousands on 2 cores (BENCHMARKS.md). That is 1,000 at the default
// ack_wait of 30s, which amortises the pull round trip over 500 messages,
// and never more; and a quarter of max_ack_pending at most, since every
// replica shares it.
func (c *Config) Prefetch() int {
	n := int(min(c.AckWait.Seconds()*1000/30, 1000))
	if m := c.MaxAckPending; m > 0 {
		n = min(n, m/4)
	}
	return max(n, 1)
}

// intake pulls messages until ctx is cancelled. It reopens the iterator
// after errors the client cannot recover from by itself (consumer deleted,
// connection closed and reopened) so that a live daemon never stops pulling.
func (w *Worker) intake(ctx context.Context, cons jetstream.Consumer) error {
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	for {
		err := w.consume(ctx, cons)
		w.consumer.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.log.Warn("intake_interrupted", "err", err)
		retry.Reset(time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-retry.C:
		}
		if c, err := Ensure(ctx, w.js, w.cfg); err == nil {
			cons = c
		} else {
			w.log.Warn("ensure_consumer_failed", "err", err)
		}
	}
}

// consume runs one Messages iterator until ctx is cancelled or it fails.
func (w *Worker) consume(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(w.cfg.Prefetch()),
		jetstream.PullExpiry(10*time.Second))
	if err != nil {
		return err
	}
	w.consumer.Store(true)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		switch {
		case err == nil:
			w.receive(ctx, msg)
		case ctx.Err() != nil:
			w.stopPulling(it)
			return ctx.Err()
		case errors.Is(err, jetstream.ErrNoHeartbeat):
			// Recoverable: the iterator has already issued a new pull.
			w.log.Debug("no_heartbeat", "err", err)
		default:
			it.Stop()
			return err
		}
	}
}

// stopPulling ends intake on shutdown. Messages already buffered by the
// client are nak'ed so that another replica gets them at once rather than
// after ack_wait.
func (w *Worker) stopPulling(it jetstream.MessagesContext) {
	it.Drain()
	n := 0
	for {
		msg, err := it.Next(jetstream.NextMaxWait(100 * time.Millisecond))
		if err != nil {
			break
		}
		_ = msg.Nak()
		n++
	}
	w.metrics.acks.WithLabelValues("nak").Add(float64(n))
	w.log.Info("intake_stopped", "buffered_released", n)
}

// receive validates one message and hands it to the batcher, or
// dead-letters it.
func (w *Worker) receive(ctx context.Context, msg jetstream.Msg) {
	now := time.Now()
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to ack or redeliver.
		w.log.Warn("message_without_metadata", "subject", msg.Subject(), "err", err)
		return
	}
	// Before the keys become visible to the senders: they must not take
	// a full chunk as if nothing more were coming.
	w.noteBacklog(meta.NumPending)
	_, parts, err := intent.Parse(msg.Data(), w.zones)
	if err != nil {
		w.metrics.invalid.Inc()
		// Intake's ctx ends when shutdown begins; a message already
		// received is still dead-lettered.
		w.deadLetter(context.WithoutCancel(ctx), msg, "invalid", err.Error())
		// It may have been the last pending message of a burst.
		w.wakeAfterIntake(now, meta.NumPending, false)
		return
	}
	w.track.received(msg, meta.Sequence.Stream, parts, now)
	fresh, held := w.add(msg, meta.Sequence.Stream, now, parts)
	if fresh {
		w.metrics.accepted.Inc()
		for _, p := range parts {
			for _, k := range p.Keys {
				w.metrics.itemsByKind[k.Kind].Inc()
			}
		}
	} else {
		w.metrics.redelivered.Inc()
	}
	w.wakeAfterIntake(now, meta.NumPending, w.atCap(held))
}

// wakeAfterIntake wakes the senders once a burst is in. While the stream
// still holds messages for us (a backlog, or a burst that arrived faster
// than we pull), waking them would send a chunk before the duplicates of its
// keys further down the burst are seen, and those duplicates would then need
// a call of their own (a call issued before a message was received never
// counts for it). So the senders are woken when the last pending message is
// in, when we hold as many messages as JetStream will give us (capped), and
// at least once a window meanwhile, so that a backlog still flows. Meanwhile
// the senders are patient (see noteBacklog). Windows are enforced by the
// senders' own timers.
func (w *Worker) wakeAfterIntake(now time.Time, pending uint64, capped bool) {
	if pending > 0 && !capped && now.Sub(w.lastWake) < w.cfg.Window {
		// A sender that looked before this message came and found
		// nothing has no timer armed: make sure it looks again once the
		// window is over, even if no further message arrives.
		d := w.lastWake.Add(w.cfg.Window).Sub(now)
		if w.lateWake == nil {
			w.lateWake = time.AfterFunc(d, w.wakeAll)
		} else {
			w.lateWake.Reset(d)
		}
		return
	}
	if w.lateWake != nil {
		w.lateWake.Stop()
	}
	w.lastWake = now
	w.wakeAll()
}

// noteBacklog records whether the stream still holds messages for us. While
// it does, the senders are patient: full chunks wait for their window too.
// Should the rest never come (another replica took it), nothing is stuck:
// patience only makes a full chunk wait for its window like any other, so
// every key still goes when its window ends.
func (w *Worker) noteBacklog(pending uint64) {
	w.backlog.Store(pending > 0)
}

// atCap reports whether held messages have reached max_ack_pending: JetStream
// delivers nothing more until we ack, so waiting for the rest of a backlog
// is pointless and the senders flush what they have.
func (w *Worker) atCap(held int) bool {
	return w.cfg.MaxAckPending > 0 && held >= w.cfg.MaxAckPending
}

// add registers a message with the batcher and returns whether it was new
// and how many messages are now held. A redelivery of a message we still
// hold (its ack_wait ran out despite the keep-alive, e.g. across a
// reconnect) only refreshes the message to settle; it is not purged twice.
func (w *Worker) add(msg Message, seq uint64, now time.Time, parts []intent.Part) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h, ok := w.bySeq[seq]; ok {
		w.held[h].msg = msg
		return false, len(w.held)
	}
	w.nextH++
	h := w.nextH
	w.held[h] = &held{msg: msg, seq: seq}
	w.bySeq[seq] = h
	if !w.batch.Add(h, now, parts) {
		// Nothing to purge (cannot happen for a validated intent, but
		// an intent with no keys is trivially covered).
		w.take(h)
		_ = msg.Ack()
		w.metrics.acks.WithLabelValues("ack").Inc()
		return true, len(w.held)
	}
	w.countCoalesced()
	return true, len(w.held)
}

// countCoalesced moves the batcher's cumulative counters into the metrics.
// Callers hold w.mu.
func (w *Worker) countCoalesced() {
	dups, covered := w.batch.Coalesced()
	if d := dups - w.counted.dups; d > 0 {
		w.metrics.coalesced.WithLabelValues("duplicate").Add(float64(d))
	}
	if d := covered - w.counted.covered; d > 0 {
		w.metrics.coalesced.WithLabelValues("covered").Add(float64(d))
	}
	w.counted.dups, w.counted.covered = dups, covered
}
