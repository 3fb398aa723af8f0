// Package lease elects one active replica among the replicas of a consumer
// through a key in a JetStream KV bucket. The key is created with Create
// (only if absent), renewed with Update carrying the last revision
// (compare-and-set), and expires with the bucket's TTL when its holder stops
// renewing it. The revision of the Create is the term: a number that grows
// with every new holder, so whatever a holder writes elsewhere can carry it
// as a fencing token.
//
// A holder that cannot renew gives its term up before the key can have
// expired on the server: the deadline runs from the time the last
// successful renewal was sent, which is before the server stored it, so the
// server's expiry is always later than the holder's.
package lease

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket that holds the leases, one key per consumer.
const Bucket = "PURGE_LEASE"

// BucketConfig is the configuration of the lease bucket for a lease TTL:
// every revision expires ttl after it was written, and expiries leave a
// marker for a short while so that watching standbys see them at once.
func BucketConfig(ttl time.Duration, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         Bucket,
		Description:    "active replica of each purge-worker consumer",
		TTL:            ttl,
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       replicas,
		LimitMarkerTTL: max(ttl, time.Second),
	}
}

// Record is the value of a lease key.
type Record struct {
	Holder  string    `json:"holder"`
	Term    uint64    `json:"term,omitempty"` // 0 in the creating write, whose revision is the term
	Since   time.Time `json:"since"`
	Renewed time.Time `json:"renewed"`
}

// Current returns the lease record under key and the term it belongs to,
// or ok false when nobody holds the lease.
func Current(ctx context.Context, kv jetstream.KeyValue, key string) (rec Record, term uint64, ok bool, err error) {
	e, err := kv.Get(ctx, Key(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Record{}, 0, false, nil
	}
	if err != nil {
		return Record{}, 0, false, err
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return Record{}, 0, false, fmt.Errorf("lease %s: %w", key, err)
	}
	term = rec.Term
	if term == 0 {
		term = e.Revision()
	}
	return rec, term, true, nil
}

var plainKey = regexp.MustCompile(`^[-_=a-zA-Z0-9]+$`)

// Key turns a name (a consumer, an account) into a valid KV key: the name
// itself when it is one, else a prefixed base64url encoding of it.
func Key(name string) string {
	if plainKey.MatchString(name) {
		return name
	}
	return "b64_" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// Config is what a Lease needs.
type Config struct {
	KV     jetstream.KeyValue // the lease bucket
	Name   string             // what the lease is for (the consumer); encoded with Key
	Holder string             // this replica
	TTL    time.Duration      // the bucket's TTL
	Logger *slog.Logger
}

// Lease campaigns for one key.
type Lease struct {
	cfg Config
	key string
	log *slog.Logger
}

// New returns a Lease for cfg.
func New(cfg Config) *Lease {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{cfg: cfg, key: Key(cfg.Name), log: log}
}

// renewEvery is how often a holder renews, and margin how long before the
// server's earliest possible expiry it gives the term up when renewals
// keep failing. The margin only has to cover the moment between checking
// the term and a call leaving: a successor must still create the key and
// claim the limits before it calls, and the limits are fenced anyway. A
// small margin leaves renewals the most room to outlast a leader election
// of the bucket (at 15s: 13.5s after the last good renewal).
func (l *Lease) renewEvery() time.Duration { return l.cfg.TTL / 3 }
func (l *Lease) margin() time.Duration     { return l.cfg.TTL / 10 }

// Acquire blocks until this replica holds the lease, or ctx ends. It tries
// at once, again whenever the watched key is deleted or expires, and every
// quarter TTL in case a watch event was missed. The returned Term renews
// itself until it is lost or released.
func (l *Lease) Acquire(ctx context.Context) (*Term, error) {
	var events <-chan jetstream.KeyValueEntry
	if w, err := l.cfg.KV.Watch(ctx, l.key, jetstream.UpdatesOnly()); err == nil {
		defer func() { _ = w.Stop() }()
		events = w.Updates()
	} else if ctx.Err() == nil {
		// Polling alone still finds an expired or deleted lease.
		l.log.Warn("lease_watch_failed", "err", err)
	}
	poll := time.NewTicker(l.cfg.TTL / 4)
	defer poll.Stop()
	for {
		t, err := l.tryCreate(ctx)
		if t != nil {
			return t, nil
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("lease_campaign_failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-poll.C:
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if e == nil || e.Operation() == jetstream.KeyValuePut {
				continue // renewed by its holder: nothing to take
			}
		}
	}
}

// tryCreate creates the key; a nil Term and nil error mean someone holds it.
func (l *Lease) tryCreate(ctx context.Context) (*Term, error) {
	cctx, cancel := context.WithTimeout(ctx, l.renewEvery())
	defer cancel()
	sent := time.Now()
	rec := Record{Holder: l.cfg.Holder, Since: sent, Renewed: sent}
	rev, err := l.cfg.KV.Create(cctx, l.key, mustJSON(rec))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec.Term = rev
	t := &Term{l: l, id: rev, rec: rec, rev: rev, sent: sent,
		stop: make(chan struct{}), lost: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a Record always marshals
	}
	return b
}
