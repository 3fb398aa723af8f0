package worker

import (
	"context"
	"time"

	"github.com/purge-worker/purge-worker/batcher"
)

// runSender is the loop of one account: whenever the batcher has a chunk due
// for one of the account's zones and the account holds a rate token for it,
// it takes the chunk and starts the call. While there is no token it does
// not take anything, so keys keep accumulating and the next call is as full
// as it can be.
func (w *Worker) runSender(ctx context.Context, a *account) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		if wait := w.dispatch(ctx, a); wait >= 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wakeCh:
		case <-timer.C:
		}
	}
}

// dispatch starts every call the account can make now and returns how long
// to wait before looking again, or -1 to wait for a wake-up. Before the
// first chunk of a round it reads the stream's last sequence, the horizon
// those calls carry (readStored).
func (w *Worker) dispatch(ctx context.Context, a *account) time.Duration {
	read := false
	for {
		now := time.Now()
		if d := a.pausedFor(now); d > 0 {
			return d
		}
		if len(a.slots) == cap(a.slots) {
			return -1 // a finishing call wakes us
		}
		flex, files := a.gate(now)
		w.mu.Lock()
		f := w.filter(a, flex, files)
		if !read {
			due, ok := w.batch.Due(f)
			if !ok || due.After(now) {
				wait := w.nextWake(a, now, f)
				w.mu.Unlock()
				return wait
			}
			w.mu.Unlock()
			w.readStored(ctx)
			read = true
			continue
		}
		c, ok := w.batch.Next(now, f)
		wait := time.Duration(-1)
		if !ok {
			wait = w.nextWake(a, now, f)
		} else if !a.take(now, c.Kind, len(c.Keys)) {
			w.batch.Requeue(c.ID)
			ok, wait = false, 10*time.Millisecond
		}
		w.mu.Unlock()
		if !ok {
			return wait
		}
		a.slots <- struct{}{}
		iss := issue{at: now, epoch: a.epoch()}
		w.calls.Go(func() {
			defer func() {
				<-a.slots
				// Every sender: a capped worker's partial chunks
				// wait until no call is in flight, on any account.
				w.wakeAll()
				w.signalSettled()
			}()
			w.execute(ctx, a, c, iss)
		})
	}
}

// filter is what the account's sender may take now. Callers hold w.mu.
func (w *Worker) filter(a *account, flex, files bool) batcher.Filter {
	capped := w.atCap(len(w.held))
	return batcher.Filter{
		Zone:      a.hasZone,
		Flex:      flex,
		Files:     files,
		Force:     w.flushing.Load(),
		Capped:    capped,
		Relieving: w.relieving(capped),
		HoldUntil: w.hold(),
	}
}

// relieving reports whether full chunks should still go at once after the
// worker was capped: from the cap until it holds half of max_ack_pending
// again. Without it, a cap would release one call slot's worth of full
// chunks, JetStream would refill the room they freed, and the worker would
// be capped again at once, once per few chunks. Callers hold w.mu.
func (w *Worker) relieving(capped bool) bool {
	switch {
	case capped:
		w.relief = true
	case len(w.held) <= w.cfg.MaxAckPending/2:
		w.relief = false
	}
	return w.relief
}

// nextWake returns when the account should look again: the earliest time a
// chunk is due and its bucket can pay for it. Callers hold w.mu.
func (w *Worker) nextWake(a *account, now time.Time, f batcher.Filter) time.Duration {
	var next time.Time
	for _, flex := range []bool{true, false} {
		f.Flex, f.Files = flex, !flex
		due, ok := w.batch.Due(f)
		if !ok {
			continue
		}
		if r := a.readyAt(now, flex); r.After(due) {
			due = r
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	if next.IsZero() {
		return -1
	}
	return max(next.Sub(now), 0)
}
