package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/batcher"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/lease"
)

// LimitsBucket is the KV bucket that holds every account's token-bucket
// levels, one key per account. It has no TTL: a Free plan's flex bucket
// takes minutes to refill, and a restart must not forget what was spent.
const LimitsBucket = "PURGE_LIMITS"

// LimitsBucketConfig is the configuration of the limits bucket.
func LimitsBucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      LimitsBucket,
		Description: "rate-limit bucket levels of each Cloudflare account (purge-worker)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}
}

// StoredLevels is what the limits bucket holds for an account (as JSON):
// the tokens of each bucket at At that no call is owed, the end of a pause
// Cloudflare imposed, and the lease term of the replica that wrote them.
type StoredLevels struct {
	Term        uint64    `json:"term"`
	Holder      string    `json:"holder"`
	Flex        float64   `json:"flex"`
	URLs        float64   `json:"urls"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	At          time.Time `json:"at"`
}

var (
	// errNotActive: this replica does not hold a valid lease term.
	errNotActive = errors.New("not the active replica")
	// errDeposed: another replica's term wrote the account's levels.
	errDeposed = errors.New("limits written under a later lease term")
	// errLate: while the limits write took place, the account was paused
	// or its tokens were taken back.
	errLate = errors.New("account paused or tokens gone when the call was to leave")
)

// fence is one lease term as the senders see it: calls may be issued while
// the term is valid and no limits write has found a later term's levels.
type fence struct {
	term    *lease.Term
	holder  string
	deposed chan struct{}
	once    sync.Once
}

func newFence(t *lease.Term, holder string) *fence {
	return &fence{term: t, holder: holder, deposed: make(chan struct{})}
}

func (f *fence) valid(now time.Time) bool {
	select {
	case <-f.deposed:
		return false
	default:
	}
	return f.term.Valid(now)
}

func (f *fence) depose() { f.once.Do(func() { close(f.deposed) }) }

// ledger stores one account's levels under one fence. Every call is paid
// in it before it is issued (persist), so a replica that takes over, or a
// process that restarts after SIGKILL, never spends the same budget twice.
type ledger struct {
	kv    jetstream.KeyValue
	key   string
	fence *fence

	mu    sync.Mutex // serialises writes, so each carries the last revision
	rev   uint64
	saved uint64 // the account's change count the last write included
}

// mayCall reports whether the account may issue a call at now.
func (a *account) mayCall(now time.Time) bool {
	if !a.fenced {
		return true
	}
	l := a.ledger.Load()
	return l != nil && l.fence.valid(now)
}

// persist stores the account's levels unless an earlier write already
// included every change made so far. A call may be issued only after it
// returned nil for the tokens the call took.
func (a *account) persist(ctx context.Context) error {
	if !a.fenced {
		return nil
	}
	l := a.ledger.Load()
	if l == nil {
		return errNotActive
	}
	return l.save(ctx, a)
}

func (l *ledger) save(ctx context.Context, a *account) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.fence.valid(now) {
		return errNotActive
	}
	lv, n := a.levels(now)
	if n <= l.saved {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rev, err := l.kv.Update(ctx, l.key, l.encode(lv), l.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		l.fence.depose()
		return errDeposed
	}
	if err != nil {
		return fmt.Errorf("store limits of account %s: %w", a.name, err)
	}
	l.rev, l.saved = rev, n
	return nil
}

func (l *ledger) encode(lv StoredLevels) []byte {
	lv.Term, lv.Holder = l.fence.term.ID(), l.fence.holder
	b, err := json.Marshal(lv)
	if err != nil {
		panic(err) // StoredLevels always marshals
	}
	return b
}

// levels returns the account's levels at now and its change count.
func (a *account) levels(now time.Time) (StoredLevels, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return StoredLevels{Flex: a.flex.avail(now), URLs: a.urls.avail(now),
		PausedUntil: a.pausedUntil, At: now}, a.changes
}

// adopt lowers the account's levels to stored ones (refilled since they
// were written) and takes over their pause.
func (a *account) adopt(lv StoredLevels, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.flex.lower(lv.Flex, lv.At, now)
	a.urls.lower(lv.URLs, lv.At, now)
	if lv.PausedUntil.After(a.pausedUntil) {
		a.pausedUntil = lv.PausedUntil
	}
	a.changes++
}

// openLedger starts an account's ledger for fence f: it continues from the
// stored levels and writes them back at once under the new term, so that
// the previous holder's next write fails and it cannot call again.
func openLedger(ctx context.Context, kv jetstream.KeyValue, a *account, f *fence) (*ledger, error) {
	l := &ledger{kv: kv, key: lease.Key(a.name), fence: f}
	retry := time.NewTimer(0)
	defer retry.Stop()
	for attempt := 0; ; attempt++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-retry.C:
		}
		rev, err := l.claim(ctx, a)
		if err == nil {
			l.rev = rev
			return l, nil
		}
		if errors.Is(err, errDeposed) || attempt == 4 {
			return nil, err
		}
		// A read from a follower that lags behind: read again.
		retry.Reset(100 * time.Millisecond)
	}
}

func (l *ledger) claim(ctx context.Context, a *account) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e, err := l.kv.Get(ctx, l.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		lv, n := a.levels(time.Now())
		rev, err := l.kv.Create(ctx, l.key, l.encode(lv))
		l.saved = n
		return rev, err
	case err != nil:
		return 0, fmt.Errorf("read limits of account %s: %w", a.name, err)
	}
	var stored StoredLevels
	if err := json.Unmarshal(e.Value(), &stored); err != nil {
		// Unreadable: assume the worst, empty buckets now.
		stored = StoredLevels{At: time.Now()}
	}
	if stored.Term > l.fence.term.ID() {
		l.fence.depose()
		return 0, errDeposed
	}
	now := time.Now()
	a.adopt(stored, now)
	lv, n := a.levels(now)
	rev, err := l.kv.Update(ctx, l.key, l.encode(lv), e.Revision())
	l.saved = n
	return rev, err
}

// unpaid puts back a chunk that could not be paid: it is not sent. A
// replica that is no longer active leaves it to the demotion; a call whose
// tokens ran out while it waited is simply picked again; a limits bucket
// that cannot be written (NATS electing a leader) backs off.
func (w *Worker) unpaid(a *account, c batcher.Chunk, iss issue, err error) {
	if !errors.Is(err, errNotActive) && !errors.Is(err, errDeposed) && !errors.Is(err, errLate) {
		d := a.backOff(time.Now(), iss.at)
		w.log.Warn("limits_not_stored", "account", a.name, "backoff", d.String(), "err", err)
	}
	w.requeue(c)
}

// storeLevels stores an account's levels after a 429 emptied a bucket, so
// that the next active replica waits too.
func (w *Worker) storeLevels(a *account) {
	if err := a.persist(context.Background()); err != nil {
		w.log.Warn("limits_not_stored", "account", a.name, "err", err)
	}
}

// pay stores the levels with a call's reserved tokens and then spends them
// as the call leaves. Only after it returned nil may the call be issued;
// otherwise the reservation is given back.
func (a *account) pay(ctx context.Context, kind intent.Kind, n int) error {
	if !a.fenced {
		// No ledger: nothing to write, so nothing happened since the
		// sender checked the pause and the tokens.
		a.spend(time.Now(), kind, n, false)
		return nil
	}
	if err := a.persist(ctx); err != nil {
		a.release(kind, n)
		return err
	}
	// The write may have taken long: look again at what may have
	// changed meanwhile, as the sender did before picking the chunk.
	now := time.Now()
	if !a.mayCall(now) {
		a.release(kind, n)
		return errNotActive
	}
	if !a.spend(now, kind, n, true) {
		return errLate
	}
	return nil
}
