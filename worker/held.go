package worker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/batcher"
)

// message is a received message: how the worker settles it, and its
// content for the dead-letter copy. jetstream.Msg implements it; tests
// hand in their own.
type message interface {
	Ack() error
	Nak() error
	NakWithDelay(delay time.Duration) error
	InProgress() error
	TermWithReason(reason string) error
	Data() []byte
	Headers() nats.Header
	Subject() string
}

// held is a message received and not yet settled.
type held struct {
	msg message
	seq uint64 // stream sequence: a redelivery of a held message is recognised by it
}

// take removes h from the held set and returns its message; nil if h was
// already settled. Callers hold w.mu.
func (w *Worker) take(h batcher.Handle) *held {
	m, ok := w.held[h]
	if !ok {
		return nil
	}
	delete(w.held, h)
	delete(w.bySeq, m.seq)
	return m
}

// settle turns a batcher result into acks and dead letters. Callers must not
// hold w.mu: acking does I/O.
func (w *Worker) settle(res batcher.Result) {
	if len(res.Acked) == 0 && len(res.Dead) == 0 {
		return
	}
	w.mu.Lock()
	acks := make([]*held, 0, len(res.Acked))
	for _, h := range res.Acked {
		if m := w.take(h); m != nil {
			acks = append(acks, m)
		}
	}
	type dead struct {
		m      *held
		reason string
	}
	deads := make([]dead, 0, len(res.Dead))
	for _, d := range res.Dead {
		if m := w.take(d.Handle); m != nil {
			deads = append(deads, dead{m, "cloudflare refused " + d.Key.String() + ": " + d.Reason})
		}
	}
	w.mu.Unlock()

	for _, m := range acks {
		if err := m.msg.Ack(); err != nil {
			w.log.Warn("ack_failed", "seq", m.seq, "err", err)
		}
		w.track.purged(m.seq, time.Now())
	}
	w.metrics.acks.WithLabelValues("ack").Add(float64(len(acks)))
	for _, d := range deads {
		w.queueDeadLetter(d.m.msg, "rejected", d.reason)
	}
	w.signalSettled()
}

// nak releases handles for redelivery after delay (0: at once).
func (w *Worker) nak(hs []batcher.Handle, delay time.Duration) {
	w.mu.Lock()
	msgs := make([]*held, 0, len(hs))
	for _, h := range hs {
		w.batch.Drop(h)
		if m := w.take(h); m != nil {
			msgs = append(msgs, m)
		}
	}
	w.mu.Unlock()
	for _, m := range msgs {
		w.track.forget(m.seq)
		var err error
		if delay > 0 {
			err = m.msg.NakWithDelay(delay)
		} else {
			err = m.msg.Nak()
		}
		if err != nil {
			w.log.Warn("nak_failed", "seq", m.seq, "err", err)
		}
	}
	w.metrics.acks.WithLabelValues("nak").Add(float64(len(msgs)))
	w.signalSettled()
}

// keepAlive tells JetStream that every held message, and every one waiting
// for its dead-letter copy, is still being worked on, often enough (a third
// of ack_wait, so one lost +WPI is harmless) that none is ever redelivered
// to another replica.
func (w *Worker) keepAlive(ctx context.Context) {
	t := time.NewTicker(w.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		msgs := make([]message, 0, len(w.held))
		for _, m := range w.held {
			msgs = append(msgs, m.msg)
		}
		w.mu.Unlock()
		msgs = append(msgs, w.waitingDeadLetters()...)
		for _, m := range msgs {
			// A failure here is a lost connection; the message will be
			// redelivered and purged again at worst, never lost.
			_ = m.InProgress()
		}
	}
}

// releaseAll naks every message still held when the worker stops, so that
// another replica (or the next start) gets it at once instead of after
// ack_wait.
func (w *Worker) releaseAll() {
	w.mu.Lock()
	hs := make([]batcher.Handle, 0, len(w.held))
	for h := range w.held {
		hs = append(hs, h)
	}
	w.mu.Unlock()
	if len(hs) > 0 {
		w.log.Info("releasing_unfinished", "messages", len(hs))
		w.nak(hs, 0)
	}
}
