package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/batcher"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/lease"
)

// Worker pulls intents from JetStream and purges them. Create it with New and
// start it with Run; it is done when Run returns.
type Worker struct {
	cfg     Config
	log     *slog.Logger
	js      jetstream.JetStream
	dlq     msgPublisher // js, except in unit tests
	dead    *deadQueue
	zones   *intent.Zones
	metrics *metrics
	track   *tracker // status records of tracked intents

	accounts []*account
	byZone   map[string]*account // zone ID -> account

	// mu guards the batcher and the held messages: the batcher is pure and
	// not safe for concurrent use. A handle the batcher reported is taken
	// out of held under mu before its message is settled, so it is settled
	// once even if releaseAll or a nak races with it.
	mu    sync.Mutex
	batch *batcher.Batcher
	held  map[batcher.Handle]*held
	bySeq map[uint64]batcher.Handle
	nextH batcher.Handle
	// counted remembers the batcher's cumulative coalescing counters
	// already added to the metrics.
	counted struct{ dups, covered, earlier uint64 }

	lastWake time.Time // intake only: when it last woke the senders
	// lastFirst (intake only) is the sequence of the last first delivery:
	// first deliveries come in stream order, so a lower one means the
	// stream (or the consumer) was created again.
	lastFirst uint64
	// lateWake wakes the senders at the end of the window that began at
	// lastWake when intake skipped a wake-up meanwhile.
	lateWake *time.Timer
	// holdUntil (unix nanoseconds, 0: none) is the earliest a window may
	// end while the stream holds messages for us that intake has not
	// received: see noteBacklog.
	holdUntil atomic.Int64
	holdStart time.Time // intake only: when the current hold began
	// lastSeq reads the stream's last sequence, a horizon for the next
	// call (see readStored); nil when there is no stream (unit tests).
	lastSeq func(context.Context) (uint64, error)
	// seenLast is the highest last sequence read (under mu): one lower
	// than it means the stream was created again.
	seenLast uint64
	// learned records the (zone, type) maxima already logged, under mu.
	learned map[learnedKey]int
	// relief (under mu): see relieving.
	relief bool

	flushing atomic.Bool   // shutdown: hand out chunks regardless of windows
	settled  chan struct{} // cap 1: a call finished or a message was settled
	consumer atomic.Bool   // intake is bound to the consumer
	role     atomic.Value  // Role
	calls    sync.WaitGroup
	recent   callLog // the last calls, for Snapshot
}

// msgPublisher is what dead-lettering needs of JetStream.
type msgPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// New validates cfg and builds a Worker that will use js.
func New(js jetstream.JetStream, cfg Config) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	zones, err := cfg.intentZones()
	if err != nil {
		return nil, fmt.Errorf("worker zones: %w", err)
	}
	w := &Worker{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "worker"),
		js:      js,
		dlq:     js,
		zones:   zones,
		metrics: newMetrics(cfg.Registerer),
		byZone:  make(map[string]*account, len(cfg.Zones)),
		held:    make(map[batcher.Handle]*held),
		bySeq:   make(map[uint64]batcher.Handle),
		settled: make(chan struct{}, 1),
		dead:    newDeadQueue(),
		learned: make(map[learnedKey]int),
	}
	if js != nil {
		w.lastSeq = w.streamLastSeq
	}
	byName := make(map[string]*account, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		acct := newAccount(a, cfg.MaxInFlight)
		w.accounts = append(w.accounts, acct)
		byName[a.Name] = acct
	}
	for _, z := range cfg.Zones {
		// Parts carry the id as intent.Zones normalised it.
		zone, _ := zones.Lookup(z.ID)
		acct := byName[z.Account]
		acct.zones[zone.ID] = true
		w.byZone[zone.ID] = acct
	}
	w.track = newTracker(newWriter(js, cfg.StatusTTL, w.log, w.metrics))
	w.batch = batcher.New(batcher.Config{Window: cfg.Window, MaxKeys: w.maxKeys, RememberKeys: cfg.RememberKeys})
	w.registerGauges(cfg.Registerer)
	return w, nil
}

// Zones is the routing table the worker validates intents against, for
// callers (the HTTP ingest) that must validate the same way.
func (w *Worker) Zones() *intent.Zones { return w.zones }

func (w *Worker) maxKeys(zoneID string, k intent.Kind) int {
	a := w.byZone[zoneID]
	if a == nil {
		return 1
	}
	return a.limits.MaxPerRequest(k == intent.KindFile)
}

// Run ensures the streams, the consumer and the KV buckets, then campaigns
// for the lease: as a standby it only waits; once active it pulls and
// purges until ctx is cancelled or it loses the lease (it then releases
// what it holds and campaigns again). On cancellation an active replica
// shuts down in order within cfg.ShutdownTimeout: stop pulling, flush what
// is pending at once, ack what succeeds, store the last dead letters, nak
// the rest, release the lease. It returns nil after a clean shutdown, or
// the error that stopped it.
func (w *Worker) Run(ctx context.Context) error {
	cons, err := Ensure(ctx, w.js, w.cfg)
	if err != nil {
		return err
	}
	leases, limits, err := ensureBuckets(ctx, w.js, w.cfg)
	if err != nil {
		return err
	}
	for _, a := range w.accounts {
		a.fenced = true
	}
	bg := w.startBackground(ctx)

	w.log.Info("worker_started", "stream", w.cfg.Stream, "consumer", w.cfg.Consumer, "replica", w.cfg.Replica,
		"accounts", len(w.accounts), "zones", len(w.cfg.Zones), "window", w.cfg.Window.String())
	el := lease.New(lease.Config{KV: leases, Name: w.cfg.Consumer, Holder: w.cfg.Replica,
		TTL: w.cfg.LeaseTTL, Logger: w.log})
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		w.setRole(RoleStandby)
		t, err := el.Acquire(ctx)
		if err != nil {
			break // ctx is done
		}
		intakeErr, lost := w.serve(ctx, cons, limits, t)
		if !lost {
			return w.stopActive(ctx, bg, t, intakeErr)
		}
		w.demote(t)
		// Do not campaign again at once: whatever cost us the term
		// (NATS electing, a limits bucket we could not write) needs time.
		retry.Reset(w.cfg.LeaseTTL / 3)
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
	w.stopBackground(bg, nil)
	w.log.Info("worker_stopped")
	return nil
}

// stopActive ends Run for the active replica: the flush runs under the
// lease (its calls are paid under the term), then the lease is released,
// so that a standby takes over once the flush is done.
func (w *Worker) stopActive(ctx context.Context, bg *background, t *lease.Term, intakeErr error) error {
	w.stopBackground(bg, t.Lost())
	w.setRole(RoleStandby)
	if err := t.Release(context.WithoutCancel(ctx)); err != nil {
		w.log.Warn("lease_release_failed", "err", err)
	}
	w.metrics.terms.WithLabelValues("released").Inc()
	if intakeErr != nil && !errors.Is(intakeErr, context.Canceled) {
		return intakeErr
	}
	w.log.Info("worker_stopped")
	return nil
}

// shutdown flushes whatever is pending, without waiting for windows, until
// nothing is pending or in flight or the deadline passes, then cancels the
// senders (and with them any call still running).
// A lost lease ends it early: nothing more can be called.
func (w *Worker) shutdown(stopSenders context.CancelFunc, lost <-chan struct{}) {
	start := time.Now()
	w.flushing.Store(true)
	w.wakeAll()
	deadline := time.NewTimer(w.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for !w.idle() {
		select {
		case <-w.settled:
		case <-lost:
			w.log.Warn("shutdown_lease_lost", "held_messages", w.heldCount())
			stopSenders()
			return
		case <-deadline.C:
			s := w.stats()
			w.log.Warn("shutdown_deadline_passed", "pending_keys", s.PendingKeys,
				"in_flight_keys", s.InFlightKeys, "held_messages", w.heldCount())
			stopSenders()
			return
		}
	}
	w.log.Info("shutdown_flushed", "took", time.Since(start).Round(time.Millisecond).String())
	stopSenders()
}

func (w *Worker) idle() bool {
	s := w.stats()
	return s.PendingKeys == 0 && s.InFlightKeys == 0
}

// Ready reports whether the worker is doing its job: a standby waiting for
// the lease, or the active replica bound to the consumer with no account
// paused because Cloudflare refused its credentials.
func (w *Worker) Ready() error {
	switch w.Role() {
	case RoleStarting:
		return errors.New("starting")
	case RoleStandby:
		return nil
	}
	if !w.consumer.Load() {
		return errors.New("not consuming")
	}
	var errs []error
	for _, a := range w.accounts {
		if a.authFailed() {
			errs = append(errs, fmt.Errorf("account %s: cloudflare refused its credentials", a.name))
		}
	}
	return errors.Join(errs...)
}

func (w *Worker) wakeAll() {
	for _, a := range w.accounts {
		a.wake()
	}
}

func (w *Worker) signalSettled() {
	select {
	case w.settled <- struct{}{}:
	default:
	}
}

func (w *Worker) stats() batcher.Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.batch.Stats()
}

func (w *Worker) heldCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}

func (w *Worker) oldestAge() float64 {
	s := w.stats()
	if s.Oldest.IsZero() {
		return 0
	}
	return time.Since(s.Oldest).Seconds()
}
