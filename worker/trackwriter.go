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
	writeConcurrency = 16
	writeTimeout     = 5 * time.Second
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
	queue map[string]status.Record // by KV key
	wake  chan struct{}            // cap 1
}

func newWriter(js kvOpener, ttl time.Duration, log *slog.Logger, m *metrics) *writer {
	wr := &writer{log: log.With("component", "status"), metrics: m,
		queue: make(map[string]status.Record), wake: make(chan struct{}, 1)}
	if js != nil {
		wr.open = func(ctx context.Context) (kvPutter, error) {
			return js.CreateOrUpdateKeyValue(ctx, status.BucketConfig(ttl))
		}
	}
	return wr
}

// put queues rec for writing; it never blocks.
func (wr *writer) put(rec status.Record) {
	if wr.open == nil {
		return
	}
	key := status.Key(rec.ID)
	wr.mu.Lock()
	_, queued := wr.queue[key]
	full := !queued && len(wr.queue) >= maxQueuedRecords
	if !full {
		wr.queue[key] = rec
	}
	wr.mu.Unlock()
	if full {
		wr.metrics.statusWrites.WithLabelValues("dropped").Inc()
		return
	}
	select {
	case wr.wake <- struct{}{}:
	default:
	}
}

// run creates the bucket and writes queued records until ctx is
// cancelled, then makes one last attempt, bounded by writeTimeout, to write
// what is left.
func (wr *writer) run(ctx context.Context) {
	if wr.open == nil {
		return
	}
	back := backoff.NewExponentialBackOff()
	back.InitialInterval = 100 * time.Millisecond
	back.MaxInterval = 10 * time.Second
	back.MaxElapsedTime = 0
	// Open the bucket at once, not at the first record: a publisher
	// waiting for records needs it before it publishes.
	retry := time.NewTimer(0)
	defer retry.Stop()
	var kv kvPutter
	var notBefore time.Time // while backing off, new records wait too
	for {
		select {
		case <-ctx.Done():
			wr.final(kv)
			return
		case <-wr.wake:
			if time.Now().Before(notBefore) {
				continue
			}
		case <-retry.C:
		}
		var ok bool
		if kv == nil {
			kv = wr.openBucket(ctx)
		}
		if kv != nil {
			ok = wr.flush(ctx, kv)
		}
		if ok {
			back.Reset()
			notBefore = time.Time{}
			continue
		}
		d := back.NextBackOff()
		notBefore = time.Now().Add(d)
		retry.Reset(d)
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

// final is the last flush at shutdown.
func (wr *writer) final(kv kvPutter) {
	wr.mu.Lock()
	n := len(wr.queue)
	wr.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if kv == nil {
		if kv = wr.openBucket(ctx); kv == nil {
			return
		}
	}
	if !wr.flush(ctx, kv) {
		wr.mu.Lock()
		n = len(wr.queue)
		wr.mu.Unlock()
		wr.log.Warn("status_records_lost_at_shutdown", "records", n)
	}
}

// flush writes every queued record and reports whether all writes
// succeeded. Failed records go back into the queue unless a newer record of
// the same intent arrived meanwhile.
func (wr *writer) flush(ctx context.Context, kv kvPutter) bool {
	wr.mu.Lock()
	batch := wr.queue
	wr.queue = make(map[string]status.Record, len(batch))
	wr.mu.Unlock()
	if len(batch) == 0 {
		return true
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
		return true
	}
	wr.metrics.statusWrites.WithLabelValues("failed").Add(float64(len(failed)))
	wr.log.Warn("status_write_failed", "records", len(failed), "err", lastEr)
	wr.mu.Lock()
	for key, rec := range failed {
		if _, newer := wr.queue[key]; !newer {
			wr.queue[key] = rec
		}
	}
	wr.mu.Unlock()
	return false
}
