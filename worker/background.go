package worker

import (
	"context"
	"sync"
	"time"
)

// background is what Run starts besides intake: a sender per account, the
// keep-alive, the dead-letter loop and the status writer. They outlive
// Run's context, since they must still flush after the signal;
// stopBackground ends them in order.
type background struct {
	stopSenders, stopDead context.CancelFunc
	senders, dead         sync.WaitGroup
	// stopTracking ends the status writer once it has written what is
	// left, by the deadline it is given.
	stopTracking func(by time.Time)
}

func (w *Worker) startBackground(ctx context.Context) *background {
	b := &background{}
	sendCtx, stopSenders := context.WithCancel(context.WithoutCancel(ctx))
	deadCtx, stopDead := context.WithCancel(context.WithoutCancel(ctx))
	b.stopSenders, b.stopDead = stopSenders, stopDead
	for _, a := range w.accounts {
		b.senders.Go(func() { w.runSender(sendCtx, a) })
	}
	b.senders.Go(func() { w.keepAlive(sendCtx) })
	b.dead.Go(func() { w.runDeadLetters(deadCtx) })
	b.stopTracking = w.track.w.start(ctx)
	return b
}

// stopBackground shuts down, once intake has stopped, within
// cfg.ShutdownTimeout: flush what is pending at once and ack what succeeds
// (shutdown), then store the dead letters the last calls produced, then
// nak whatever is left. At the deadline the calls still running are
// cancelled and the dead letters not yet stored are nak'ed. A lost lease
// (lost closed) ends the flush early: nothing more can be called.
func (w *Worker) stopBackground(b *background, lost <-chan struct{}) {
	by := time.Now().Add(w.cfg.ShutdownTimeout)
	deadline := time.AfterFunc(w.cfg.ShutdownTimeout, b.stopDead)
	defer deadline.Stop()
	w.shutdown(b.stopSenders, lost)
	b.senders.Wait()
	w.calls.Wait()
	// Intake and the calls are over: nothing more is dead-lettered.
	w.closeDeadLetters()
	b.dead.Wait()
	b.stopDead()
	w.releaseAll()
	// Last: the acks, dead letters and naks above all have records.
	b.stopTracking(by)
}
