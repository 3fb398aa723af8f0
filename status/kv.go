package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketConfig is the configuration the worker creates the bucket with:
// records expire ttl after their last write, and only the latest record of
// an intent is kept.
func BucketConfig(ttl time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "status of tracked purge intents (purge-worker)",
		TTL:         ttl,
		History:     1,
		Storage:     jetstream.FileStorage,
	}
}

// Source opens KV buckets; jetstream.JetStream implements it.
type Source interface {
	KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error)
}

// Open returns the status bucket for reading; ErrNoBucket if it does not
// exist.
func Open(ctx context.Context, js Source) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, ErrNoBucket
	}
	if err != nil {
		return nil, fmt.Errorf("open status bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Get returns the record of intent id; jetstream.ErrKeyNotFound if there is
// none (never tracked, or expired).
func Get(ctx context.Context, kv jetstream.KeyValue, id string) (Record, error) {
	e, err := kv.Get(ctx, Key(id))
	if err != nil {
		return Record{}, err
	}
	return decode(e)
}

func decode(e jetstream.KeyValueEntry) (Record, error) {
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Record{}, fmt.Errorf("status record %q: %w", e.Key(), err)
	}
	return r, nil
}

// filterMax is the most ids a Watcher watches by key; for more it watches
// the whole bucket (new writes only), which costs one consumer instead of
// one filter subject per id.
const filterMax = 100

// Watcher follows the records of a set of intents as the worker writes
// them. Start it before publishing the intents, so that no write is missed.
type Watcher struct {
	kv   jetstream.KeyValue
	kw   jetstream.KeyWatcher
	want map[string]uint64 // id -> stream sequence (0: any)
	got  map[string]Record
	left int // ids in want not settled yet
}

// Watch starts watching the records of ids (new writes only). Call Stop
// when done.
func Watch(ctx context.Context, kv jetstream.KeyValue, ids []string) (*Watcher, error) {
	var kw jetstream.KeyWatcher
	var err error
	if len(ids) <= filterMax {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = Key(id)
		}
		kw, err = kv.WatchFiltered(ctx, keys, jetstream.UpdatesOnly())
	} else {
		kw, err = kv.WatchAll(ctx, jetstream.UpdatesOnly())
	}
	if err != nil {
		return nil, fmt.Errorf("watch status bucket %s: %w", Bucket, err)
	}
	w := &Watcher{kv: kv, kw: kw, want: make(map[string]uint64, len(ids)), got: make(map[string]Record, len(ids))}
	for _, id := range ids {
		w.want[id] = 0
	}
	w.left = len(w.want)
	return w, nil
}

// Expect records the stream sequence the intent id was stored at, once it
// is known: records of an earlier intent with the same id (another seq) are
// then ignored. A record already received for another seq is forgotten.
func (w *Watcher) Expect(id string, seq uint64) {
	if _, ok := w.want[id]; !ok {
		return
	}
	w.want[id] = seq
	if r, ok := w.got[id]; ok && r.Seq != 0 && r.Seq != seq {
		if r.Settled() {
			w.left++
		}
		delete(w.got, id)
	}
}

// Fetch reads the current record of id once, for an intent the watch may
// have missed: one whose publish was a duplicate, stored (and maybe
// settled) before the watch began. each is called as by Wait. No record is
// not an error.
func (w *Watcher) Fetch(ctx context.Context, id string, each func(Record)) error {
	r, err := Get(ctx, w.kv, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if w.take(r) && each != nil {
		each(r)
	}
	return nil
}

// Wait returns once every watched intent is settled, or when ctx ends
// (with ctx's error). each, if not nil, is called once for every intent
// as it settles.
func (w *Watcher) Wait(ctx context.Context, each func(Record)) error {
	for w.left > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.kw.Updates():
			if !ok {
				return errors.New("status watch ended")
			}
			w.update(e, each)
		}
	}
	return nil
}

// Drain takes the updates that have arrived, without waiting. A publisher
// of many intents calls it between publishes: the watch's buffer is
// bounded, and a watch nobody reads stalls.
func (w *Watcher) Drain(each func(Record)) {
	for {
		select {
		case e, ok := <-w.kw.Updates():
			if !ok {
				return
			}
			w.update(e, each)
		default:
			return
		}
	}
}

func (w *Watcher) update(e jetstream.KeyValueEntry, each func(Record)) {
	if e == nil || e.Operation() != jetstream.KeyValuePut {
		return
	}
	r, err := decode(e)
	if err != nil {
		return // not a record; the id stays pending
	}
	if w.take(r) && each != nil {
		each(r)
	}
}

// take records r and reports whether it settled an intent just now.
func (w *Watcher) take(r Record) bool {
	seq, ok := w.want[r.ID]
	if !ok || (seq != 0 && r.Seq != 0 && r.Seq != seq) {
		return false
	}
	prev, had := w.got[r.ID]
	if had && prev.Settled() {
		return false
	}
	w.got[r.ID] = r
	if r.Settled() {
		w.left--
		return true
	}
	return false
}

// Records returns the last record seen of each watched id; ids with none
// (not received by the worker yet) are missing.
func (w *Watcher) Records() map[string]Record { return w.got }

// Unsettled returns the ids not settled yet, in no particular order.
func (w *Watcher) Unsettled() []string {
	var out []string
	for id := range w.want {
		if r, ok := w.got[id]; !ok || !r.Settled() {
			out = append(out, id)
		}
	}
	return out
}

// Stop ends the watch.
func (w *Watcher) Stop() error { return w.kw.Stop() }
