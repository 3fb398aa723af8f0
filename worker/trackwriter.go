package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/status"
)

// Bounds of the status writer.
const (
	// maxQueuedRecords bounds the records waiting to be written while KV
	// is unreachable; past it new intents' records are dropped (counted),
	// never the purges.
	maxQueuedRecords = 100_000
	// writeConcurrency is how many KV puts run at once: a deploy's
	// thousands of tracked intents are written in round trips, not one
	// after another.
	writeConcurrency = 32
	writeTimeout     = 5 * time.Second
	// pendingDelay is how long a pending record waits before it is
	// written. Most intents are settled within a window or two, and their
	// final record then replaces the pending one unwritten: one KV write
	// per intent instead of two, which is most of what tracking costs.
	pendingDelay = 2 * time.Second
)

// kvOpener creates or updates the status bucket; jetstream.JetStream
// implements it.
type kvOpener interface {
	CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error)
}

// kvPutter writes one record; jetstream.KeyValue implements it.
type kvPutter interface {
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

// writer writes status records to KV off the hot path. It keeps only the
// latest record of each intent, so a record that could not be written yet
// is simply replaced by its successor, and retries failures with backoff.
type writer struct {
	// open creates or updates the bucket; nil when the worker has no
	// JetStream (unit tests): no records are kept then.
	open    func(ctx context.Context) (kvPutter, error)
	log     *slog.Logger
	metrics *metrics

	mu    sync.Mutex
	queue map[string]queued // by KV key
	wake  chan struct{}     // cap 1
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
		wr.open = func(ctx context.Context) (kvPutter, error) {
			return js.CreateOrUpdateKeyValue(ctx, status.BucketConfig(ttl))
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
	}
	wr.mu.Unlock()
	if full {
		wr.metrics.statusWrites.WithLabelValues("dropped").Inc()
		return
	}
	if rec.Settled() {
		select {
		case wr.wake <- struct{}{}:
		default:
		}
	}
}

// run creates the bucket and writes queued records as they fall due until
// ctx is cancelled, then writes what is left, all of it, until final's
// deadline.
func (wr *writer) run(ctx context.Context, final func() (context.Context, context.CancelFunc)) {
	if wr.open == nil {
		return
	}
	back := backoff.NewExponentialBackOff()
	back.InitialInterval = 100 * time.Millisecond
	back.MaxInterval = 10 * time.Second
	back.MaxElapsedTime = 0
	// Open the bucket at once, not at the first record: a publisher
	// waiting for records needs it before it publishes.
	timer := time.NewTimer(0)
	defer timer.Stop()
	var kv kvPutter
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
func (wr *writer) openBucket(ctx context.Context) kvPutter {
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
func (wr *writer) last(ctx context.Context, kv kvPutter) {
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
func (wr *writer) flush(ctx context.Context, kv kvPutter, now time.Time) (bool, time.Time) {
	batch := make(map[string]status.Record)
	var next time.Time
	wr.mu.Lock()
	for key, q := range wr.queue {
		if !now.IsZero() && q.due.After(now) {
			if next.IsZero() || q.due.Before(next) {
				next = q.due
			}
			continue
		}
		batch[key] = q.rec
		delete(wr.queue, key)
	}
	wr.mu.Unlock()
	if len(batch) == 0 {
		return true, next
	}
	var (
		wg     sync.WaitGroup
		fmu    sync.Mutex
		failed = map[string]status.Record{}
		lastEr error
		sem    = make(chan struct{}, writeConcurrency)
	)
	for key, rec := range batch {
		data, err := json.Marshal(rec)
		if err != nil {
			continue // cannot happen: a Record always encodes
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			defer cancel()
			if _, err := kv.Put(pctx, key, data); err != nil {
				fmu.Lock()
				failed[key], lastEr = rec, err
				fmu.Unlock()
			}
		})
	}
	wg.Wait()
	wr.metrics.statusWrites.WithLabelValues("ok").Add(float64(len(batch) - len(failed)))
	if len(failed) == 0 {
		return true, next
	}
	wr.metrics.statusWrites.WithLabelValues("failed").Add(float64(len(failed)))
	wr.log.Warn("status_write_failed", "records", len(failed), "err", lastEr)
	wr.mu.Lock()
	for key, rec := range failed {
		if _, newer := wr.queue[key]; !newer {
			wr.queue[key] = queued{rec: rec} // due at once on the retry
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
