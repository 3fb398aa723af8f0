package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/status"
)

// Bounds of the status writer.
const (
	// maxQueuedRecords bounds the records waiting to be written while KV
	// is unreachable; past it new intents' records are dropped (counted),
	// never the purges.
	maxQueuedRecords = 100_000
	writeTimeout     = 5 * time.Second
	// pendingDelay is how long a pending record waits before it is
	// written. Most intents are settled within a window or two, and their
	// final record then replaces the pending one unwritten: one KV write
	// per intent instead of two, which is most of what tracking costs.
	pendingDelay = 2 * time.Second
)

// kvOpener creates or updates the status bucket and publishes to it;
// jetstream.JetStream implements it.
type kvOpener interface {
	CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error)
	asyncPublisher
}

// asyncPublisher publishes without waiting for each acknowledgement.
type asyncPublisher interface {
	PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// kvSubject prefixes a key to give the subject a record is stored on.
// A KV put is a publish to "$KV.<bucket>.<key>" on the bucket's stream (NATS
// ADR-8); publishing it asynchronously pipelines the writes of a batch,
// where KeyValue.Put would wait for each acknowledgement in turn. The
// bucket is the one the worker created, not a mirror, so this is the
// subject Put would use.
const kvSubject = "$KV." + status.Bucket + "."

// writer writes status records to KV off the hot path. It keeps only the
// latest record of each intent, so a record that could not be written yet
// is simply replaced by its successor, and retries failures with backoff.
type writer struct {
	// open creates or updates the bucket; nil when the worker has no
	// JetStream (unit tests): no records are kept then.
	open    func(ctx context.Context) (asyncPublisher, error)
	log     *slog.Logger
	metrics *metrics

	mu sync.Mutex
	// queue holds the latest unwritten record of each intent, by KV key.
	// ready lists keys whose record is due, later the keys of pending
	// records in the order they fall due (their due times only grow), so
	// that a flush touches what it writes, not the whole queue. Both may
	// hold stale keys (written since, or replaced); queue decides.
	queue map[string]queued
	ready []string
	later []dueKey
	// armed is when the writer will look at the queue again by itself
	// (zero: not before a wake-up).
	armed time.Time
	wake  chan struct{} // cap 1
}

type dueKey struct {
	key string
	due time.Time
}

// queued is a record waiting to be written from due on.
type queued struct {
	rec status.Record
	due time.Time
}

func newWriter(js kvOpener, ttl time.Duration, log *slog.Logger, m *metrics) *writer {
	wr := &writer{log: log.With("component", "status"), metrics: m,
		queue: make(map[string]queued), wake: make(chan struct{}, 1)}
	if js != nil {
		wr.open = func(ctx context.Context) (asyncPublisher, error) {
			if _, err := js.CreateOrUpdateKeyValue(ctx, status.BucketConfig(ttl)); err != nil {
				return nil, err
			}
			return js, nil
		}
	}
	return wr
}

// put queues rec for writing; it never blocks. A pending record is due
// pendingDelay after rec.Updated, a final one at once.
func (wr *writer) put(rec status.Record) {
	if wr.open == nil {
		return
	}
	q := queued{rec: rec, due: rec.Updated}
	if !rec.Settled() {
		q.due = q.due.Add(pendingDelay)
	}
	key := status.Key(rec.ID)
	wr.mu.Lock()
	_, replaces := wr.queue[key]
	full := !replaces && len(wr.queue) >= maxQueuedRecords
	if !full {
		wr.queue[key] = q
		if rec.Settled() {
			wr.ready = append(wr.ready, key)
		} else {
			wr.later = append(wr.later, dueKey{key, q.due})
		}
	}
	// A pending record needs a wake-up only when the writer would not
	// look again by its due time anyway.
	wake := rec.Settled() || wr.armed.IsZero() || q.due.Before(wr.armed)
	if wake && !full {
		wr.armed = q.due
	}
	wr.mu.Unlock()
	if full {
		wr.metrics.statusWrites.WithLabelValues("dropped").Inc()
		return
	}
	if wake {
		select {
		case wr.wake <- struct{}{}:
		default:
		}
	}
}

// start runs the writer until the returned stop is called. stop lets it
// write what is left until by (at least writeTimeout from then) and waits
// for it to return.
//
// It opens the bucket before it returns, so that the bucket exists once the
// worker is ready: a publisher waiting for records needs it before it
// publishes. If that fails, the writer keeps trying.
func (wr *writer) start(ctx context.Context) (stop func(by time.Time)) {
	var kv asyncPublisher
	if wr.open != nil {
		kv = wr.openBucket(ctx)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var by time.Time // written before cancel, read after it
	var done sync.WaitGroup
	done.Go(func() {
		wr.run(runCtx, kv, func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), later(by, time.Now().Add(writeTimeout)))
		})
	})
	return func(deadline time.Time) {
		by = deadline
		cancel()
		done.Wait()
	}
}

// run writes queued records to kv as they fall due until ctx is cancelled,
// then writes what is left, all of it, until final's deadline. A nil kv is
// opened first, and again after each failure.
func (wr *writer) run(ctx context.Context, kv asyncPublisher, final func() (context.Context, context.CancelFunc)) {
	if wr.open == nil {
		return
	}
	back := backoff.NewExponentialBackOff()
	back.InitialInterval = 100 * time.Millisecond
	back.MaxInterval = 10 * time.Second
	back.MaxElapsedTime = 0
	// Look at once: the bucket may still have to be opened.
	timer := time.NewTimer(0)
	defer timer.Stop()
	var notBefore time.Time // while backing off, new records wait too
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := final()
			wr.last(fctx, kv)
			cancel()
			return
		case <-wr.wake:
		case <-timer.C:
		}
		now := time.Now()
		if now.Before(notBefore) {
			timer.Reset(notBefore.Sub(now))
			continue
		}
		if kv == nil {
			kv = wr.openBucket(ctx)
		}
		ok, next := false, time.Time{}
		if kv != nil {
			ok, next = wr.flush(ctx, kv, now)
		}
		if !ok {
			d := back.NextBackOff()
			notBefore = now.Add(d)
			timer.Reset(d)
			continue
		}
		back.Reset()
		notBefore = time.Time{}
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0))
		}
	}
}

// openBucket creates or updates the bucket; nil if that failed, which
// counts as a failed write of every queued record.
func (wr *writer) openBucket(ctx context.Context) asyncPublisher {
	octx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	kv, err := wr.open(octx)
	if err != nil {
		wr.mu.Lock()
		n := len(wr.queue)
		wr.mu.Unlock()
		wr.metrics.statusWrites.WithLabelValues("failed").Add(float64(n))
		wr.log.Warn("status_bucket_unavailable", "bucket", status.Bucket, "records", n, "err", err)
		return nil
	}
	return kv
}

// last writes every queued record, due or not, at shutdown.
func (wr *writer) last(ctx context.Context, kv asyncPublisher) {
	for ctx.Err() == nil {
		wr.mu.Lock()
		n := len(wr.queue)
		wr.mu.Unlock()
		if n == 0 {
			return
		}
		if kv == nil {
			if kv = wr.openBucket(ctx); kv == nil {
				break
			}
		}
		if ok, _ := wr.flush(ctx, kv, time.Time{}); !ok {
			break
		}
	}
	wr.mu.Lock()
	n := len(wr.queue)
	wr.mu.Unlock()
	if n > 0 {
		wr.log.Warn("status_records_lost_at_shutdown", "records", n)
	}
}

// flush writes every record due at now (every record if now is zero) and
// reports whether all writes succeeded, and when the next record falls due
// (zero if none waits). Failed records go back into the queue unless a
// newer record of the same intent arrived meanwhile.
func (wr *writer) flush(ctx context.Context, kv asyncPublisher, now time.Time) (bool, time.Time) {
	batch, next := wr.takeDue(now)
	if len(batch) == 0 {
		return true, next
	}
	failed, lastErr := publishAll(ctx, kv, batch)
	wr.metrics.statusWrites.WithLabelValues("ok").Add(float64(len(batch) - len(failed)))
	if len(failed) == 0 {
		return true, next
	}
	wr.metrics.statusWrites.WithLabelValues("failed").Add(float64(len(failed)))
	wr.log.Warn("status_write_failed", "records", len(failed), "err", lastErr)
	wr.mu.Lock()
	for key, rec := range failed {
		if _, newer := wr.queue[key]; !newer {
			wr.queue[key] = queued{rec: rec} // due at once on the retry
			wr.ready = append(wr.ready, key)
		}
	}
	wr.mu.Unlock()
	return false, next
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// takeDue takes out of the queue every record due at now (every record if
// now is zero), and returns them by key with the time the next record
// falls due (zero if none waits).
func (wr *writer) takeDue(now time.Time) (map[string]status.Record, time.Time) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	batch := make(map[string]status.Record, len(wr.ready))
	if now.IsZero() {
		for key, q := range wr.queue {
			batch[key] = q.rec
		}
		clear(wr.queue)
		wr.ready, wr.later, wr.armed = nil, nil, time.Time{}
		return batch, time.Time{}
	}
	i := 0
	for ; i < len(wr.later) && !wr.later[i].due.After(now); i++ {
		wr.ready = append(wr.ready, wr.later[i].key)
	}
	wr.later = wr.later[i:]
	for _, key := range wr.ready {
		if q, ok := wr.queue[key]; ok && !q.due.After(now) {
			batch[key] = q.rec
			delete(wr.queue, key)
		}
	}
	wr.ready = wr.ready[:0]
	var next time.Time
	if len(wr.later) > 0 {
		next = wr.later[0].due
	}
	wr.armed = next
	return batch, next
}

// publishAll writes batch (records by KV key) with pipelined publishes and
// returns the records that were not stored, and the last error.
func publishAll(ctx context.Context, kv asyncPublisher, batch map[string]status.Record) (map[string]status.Record, error) {
	type inFlight struct {
		key string
		f   jetstream.PubAckFuture
	}
	failed := map[string]status.Record{}
	var lastErr error
	futures := make([]inFlight, 0, len(batch))
	for key, rec := range batch {
		data, err := json.Marshal(rec)
		if err != nil {
			continue // cannot happen: a Record always encodes
		}
		// The stall wait bounds how long a full pipeline holds us.
		f, err := kv.PublishMsgAsync(&nats.Msg{Subject: kvSubject + key, Data: data},
			jetstream.WithStallWait(writeTimeout))
		if err != nil {
			failed[key], lastErr = rec, err
			continue
		}
		futures = append(futures, inFlight{key, f})
	}
	timeout := time.NewTimer(writeTimeout)
	defer timeout.Stop()
	expired := false
	for _, p := range futures {
		if err := await(ctx, p.f, timeout.C, &expired); err != nil {
			failed[p.key], lastErr = batch[p.key], err
		}
	}
	return failed, lastErr
}

// await waits for f's acknowledgement until timeout fires (once it has,
// *expired is set and only answers already there count) or ctx ends.
func await(ctx context.Context, f jetstream.PubAckFuture, timeout <-chan time.Time, expired *bool) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	default:
	}
	if *expired {
		return errWriteLate
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-timeout:
		*expired = true
		return errWriteLate
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errWriteLate = errors.New("status write not acknowledged within " + writeTimeout.String())
