package worker

import (
	"context"
	"time"
)

// storedReadTimeout bounds the read of the stream's last sequence before a
// call. A read that fails or times out costs nothing but coverage: the call
// then carries the horizon known from earlier reads and deliveries.
const storedReadTimeout = 2 * time.Second

// streamLastSeq reads the intent stream's last sequence from the server.
func (w *Worker) streamLastSeq(ctx context.Context) (uint64, error) {
	s, err := w.js.Stream(ctx, w.cfg.Stream)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.LastSeq, nil
}

// readStored reads the stream's last sequence and tells the batcher, just
// before the sender hands out chunks: every message the stream holds at or
// below that sequence was stored before the calls that follow are issued,
// so those calls serve it (the horizon, see package batcher). This is the
// server's own figure, read after the fact, so a horizon never exceeds what
// was really stored; a stream's last sequence survives purges and deletes.
// One small request per round of calls is cheap: calls are few.
func (w *Worker) readStored(ctx context.Context) {
	if w.lastSeq == nil || w.flushing.Load() {
		// At shutdown intake has stopped: nothing can ride along any
		// more, and a server that is going away must not delay the
		// flush.
		return
	}
	rctx, cancel := context.WithTimeout(ctx, storedReadTimeout)
	seq, err := w.lastSeq(rctx)
	cancel()
	if err != nil {
		w.log.Debug("stream_last_seq_failed", "stream", w.cfg.Stream, "err", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq < w.seenLast {
		// The stream was deleted and created again: its sequences
		// start over, and no earlier call says anything about them.
		w.log.Warn("stream_sequence_went_back", "stream", w.cfg.Stream, "last_seq", seq, "was", w.seenLast)
		w.batch.Rewind()
	}
	w.seenLast = seq
	w.batch.Stored(seq)
}
