package worker

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/batcher"
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
	w.checkOrder(meta)
	// Before the keys become visible to the senders: they must not take
	// a chunk as if nothing more were coming.
	w.noteBacklog(now, meta.NumPending)
	_, parts, err := intent.Parse(msg.Data(), w.zones)
	if err != nil {
		w.metrics.invalid.Inc()
		w.queueDeadLetter(msg, "invalid", err.Error())
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

// checkOrder notices a first delivery at or below the previous one: the
// stream or the consumer was deleted and created again, so sequences start
// over. Every horizon is then forgotten before the message is added (a call
// made for the old stream says nothing about the new one's messages), and
// the messages still held from before are released: they are gone with
// their stream, or will be delivered again.
func (w *Worker) checkOrder(meta *jetstream.MsgMetadata) {
	if meta.NumDelivered != 1 {
		return
	}
	seq := meta.Sequence.Stream
	last := w.lastFirst
	w.lastFirst = seq
	if seq > last || last == 0 {
		return
	}
	w.log.Warn("stream_sequence_went_back", "stream", w.cfg.Stream, "seq", seq, "was", last)
	w.mu.Lock()
	hs := make([]batcher.Handle, 0, len(w.held))
	for h := range w.held {
		hs = append(hs, h)
	}
	w.mu.Unlock()
	w.nak(hs, 0)
	w.mu.Lock()
	w.batch.Rewind()
	w.seenLast = 0
	w.mu.Unlock()
}

// wakeAfterIntake wakes the senders after a message came in. They keep
// their own timers for windows (see batcher's due rule), so a wake-up only
// matters when something changed that a timer cannot know: the last
// pending message of a backlog is in (holdUntil was cleared), the worker
// holds max_ack_pending messages, or a sender that found nothing pending
// has no timer armed. While a backlog flows, waking at most once a window
// is enough for the last; lateWake makes sure that wake-up happens even if
// no further message arrives.
func (w *Worker) wakeAfterIntake(now time.Time, pending uint64, capped bool) {
	if pending > 0 && !capped && now.Sub(w.lastWake) < w.cfg.Window {
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

// maxHoldWindows bounds how long a backlog may hold windows open, in
// windows: long enough for a backlog of millions to be pulled (a million
// takes about 15 s on 2 cores), short enough that a stream published to
// faster than the worker pulls does not keep a partial chunk waiting
// without end.
const maxHoldWindows = 60

// noteBacklog records, for the senders' due rule, whether the stream still
// holds messages for us that were stored before now: while it does, no
// window ends before a window after the last message came in, so that the
// rest of a backlog (duplicates, coverers, more keys for a partial chunk)
// is seen before chunks leave. Should the rest never come (another replica
// took it), the hold lapses one window after the last message; and it is
// not extended beyond maxHoldWindows windows until intake has caught up
// once. Intake only.
func (w *Worker) noteBacklog(now time.Time, pending uint64) {
	if pending == 0 {
		w.holdStart = time.Time{}
		w.holdUntil.Store(0)
		return
	}
	if w.holdStart.IsZero() {
		w.holdStart = now
	}
	if now.Sub(w.holdStart) < maxHoldWindows*w.cfg.Window {
		w.holdUntil.Store(now.Add(w.cfg.Window).UnixNano())
	}
}

// hold returns the time before which no window may end, or the zero time.
func (w *Worker) hold() time.Time {
	if n := w.holdUntil.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// atCap reports whether held messages have reached max_ack_pending: JetStream
// delivers nothing more until we ack, so waiting for the rest of a backlog
// is pointless and the senders send full chunks at once.
func (w *Worker) atCap(held int) bool {
	return w.cfg.MaxAckPending > 0 && held >= w.cfg.MaxAckPending
}

// add registers a message with the batcher and returns whether it was new
// and how many messages are now held. A message whose keys calls already
// made cover (they were issued after it was stored) is acked at once. A
// redelivery of a message we still hold (its ack_wait ran out despite the
// keep-alive, e.g. across a reconnect) only refreshes the message to
// settle; it is not purged twice.
func (w *Worker) add(msg message, seq uint64, now time.Time, parts []intent.Part) (bool, int) {
	w.mu.Lock()
	if h, ok := w.bySeq[seq]; ok {
		w.held[h].msg = msg
		n := len(w.held)
		w.mu.Unlock()
		return false, n
	}
	w.nextH++
	h := w.nextH
	wait := w.batch.Add(h, seq, now, parts)
	if wait {
		w.held[h] = &held{msg: msg, seq: seq}
		w.bySeq[seq] = h
	}
	w.countCoalesced()
	n := len(w.held)
	w.mu.Unlock()
	if !wait {
		if err := msg.Ack(); err != nil {
			w.log.Warn("ack_failed", "seq", seq, "err", err)
		}
		w.metrics.acked.Inc()
		// Settled by calls made before it was received: purged, with
		// no call of its own to list.
		w.track.purged(seq, now)
	}
	return true, n
}

// countCoalesced moves the batcher's cumulative counters into the metrics.
// Callers hold w.mu.
func (w *Worker) countCoalesced() {
	dups, covered, earlier := w.batch.Coalesced()
	if d := dups - w.counted.dups; d > 0 {
		w.metrics.coalesced.WithLabelValues("duplicate").Add(float64(d))
	}
	if d := covered - w.counted.covered; d > 0 {
		w.metrics.coalesced.WithLabelValues("covered").Add(float64(d))
	}
	if d := earlier - w.counted.earlier; d > 0 {
		w.metrics.coalesced.WithLabelValues("earlier_call").Add(float64(d))
	}
	w.counted.dups, w.counted.covered, w.counted.earlier = dups, covered, earlier
}
