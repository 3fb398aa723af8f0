package lease

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Term is one holder's tenure of the lease: from the Create that won it to
// its release or loss. A goroutine renews it until then; Release stops that
// goroutine and waits for it.
type Term struct {
	l  *Lease
	id uint64

	mu   sync.Mutex
	rec  Record
	rev  uint64    // revision of the last successful write
	sent time.Time // when that write was sent

	stop     chan struct{} // closed by Release
	lost     chan struct{} // closed when the term is over
	done     chan struct{} // closed when the renewing goroutine returns
	stopOnce sync.Once
	lostOnce sync.Once
}

var errOvertaken = errors.New("lease taken by another holder")

// ID is the term's fencing token: the revision of the Create that won it.
// A later term always has a larger ID.
func (t *Term) ID() uint64 { return t.id }

// Lost is closed when the term is over: overtaken, not renewed in time, or
// released.
func (t *Term) Lost() <-chan struct{} { return t.lost }

// Valid reports whether the holder may still act at now: the term is not
// over and now is before the deadline by which an unrenewed lease gives
// itself up, a margin before the server can expire the key.
func (t *Term) Valid(now time.Time) bool {
	select {
	case <-t.lost:
		return false
	default:
	}
	return now.Before(t.deadline())
}

func (t *Term) deadline() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent.Add(t.l.cfg.TTL - t.l.margin())
}

func (t *Term) run() {
	defer close(t.done)
	renew := time.NewTimer(t.l.renewEvery())
	defer renew.Stop()
	expire := time.NewTimer(time.Until(t.deadline()))
	defer expire.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-expire.C:
			t.lose("not_renewed_in_time")
			return
		case <-renew.C:
		}
		err := t.renew()
		switch {
		case err == nil:
			expire.Reset(time.Until(t.deadline()))
			renew.Reset(t.l.renewEvery())
		case errors.Is(err, errOvertaken):
			t.lose("overtaken")
			return
		default:
			// The KV stream may be electing a leader: retry soon,
			// the expire timer bounds how long.
			t.l.log.Warn("lease_renew_failed", "term", t.id, "err", err)
			renew.Reset(min(t.l.renewEvery()/4, time.Second))
		}
	}
}

// renew writes the record again with compare-and-set on the last revision.
func (t *Term) renew() error {
	ctx, cancel := context.WithDeadline(context.Background(), t.deadline())
	defer cancel()
	t.mu.Lock()
	rec, rev := t.rec, t.rev
	t.mu.Unlock()
	sent := time.Now()
	rec.Renewed = sent
	next, err := t.l.cfg.KV.Update(ctx, t.l.key, mustJSON(rec), rev)
	if err == nil {
		t.mu.Lock()
		t.rec, t.rev, t.sent = rec, next, sent
		t.mu.Unlock()
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	// An earlier renewal whose answer was lost may have been stored:
	// the key is still ours if it holds our term.
	e, gerr := t.l.cfg.KV.Get(ctx, t.l.key)
	if gerr != nil {
		if errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted) {
			return errOvertaken
		}
		return gerr
	}
	var stored Record
	if json.Unmarshal(e.Value(), &stored) != nil || stored.Holder != t.rec.Holder || stored.Term != t.id {
		return errOvertaken
	}
	t.mu.Lock()
	t.rev = e.Revision()
	t.mu.Unlock()
	return err // retry with the adopted revision
}

func (t *Term) lose(reason string) {
	t.lostOnce.Do(func() {
		close(t.lost)
		t.l.log.Warn("lease_lost", "term", t.id, "reason", reason)
	})
}

// Release ends the term: it stops renewing and, if the key is still this
// term's, deletes it so that a standby takes over at once.
func (t *Term) Release(ctx context.Context) error {
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.done
	select {
	case <-t.lost:
		return nil // overtaken or expired: the key is not ours to delete
	default:
	}
	t.mu.Lock()
	rev := t.rev
	t.mu.Unlock()
	t.lostOnce.Do(func() { close(t.lost) })
	err := t.l.cfg.KV.Delete(ctx, t.l.key, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return nil // someone else's by now
	}
	return err
}
