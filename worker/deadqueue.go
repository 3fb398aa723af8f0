package worker

import (
	"context"
	"sync"
)

// deadQueueLen bounds the dead letters waiting for their copy. Intake and
// the calls hand dead letters over and go on; only when this many are
// waiting (the dead-letter stream is slow or down) do they wait too.
const deadQueueLen = 256

// deadQueue carries dead letters from intake and the calls to the one
// goroutine that stores their copies (runDeadLetters), so that a slow
// dead-letter stream holds up neither intake nor the senders. Messages in
// it are kept alive like held ones until they are settled.
type deadQueue struct {
	jobs chan deadJob

	mu      sync.Mutex
	waiting map[uint64]message // queued or being copied, by job number
	next    uint64
}

func newDeadQueue() *deadQueue {
	return &deadQueue{jobs: make(chan deadJob, deadQueueLen), waiting: make(map[uint64]message)}
}

// queueDeadLetter hands msg over to be dead-lettered, waiting while the
// queue is full. It must not be called once closeDeadLetters was.
func (w *Worker) queueDeadLetter(msg message, kind, reason string) {
	q := w.dead
	q.mu.Lock()
	q.next++
	id := q.next
	q.waiting[id] = msg
	q.mu.Unlock()
	q.jobs <- deadJob{id: id, msg: msg, kind: kind, reason: reason}
}

// runDeadLetters stores the copies of queued dead letters until the queue
// is closed and empty. Once ctx ends (the shutdown deadline passed), what
// is left is nak'ed at once for redelivery.
func (w *Worker) runDeadLetters(ctx context.Context) {
	q := w.dead
	for j := range q.jobs {
		if ctx.Err() == nil {
			w.deadLetter(ctx, j)
		} else {
			if err := j.msg.Nak(); err != nil {
				w.log.Warn("nak_failed", "err", err)
			}
			w.metrics.acks.WithLabelValues("nak").Inc()
		}
		q.mu.Lock()
		delete(q.waiting, j.id)
		q.mu.Unlock()
	}
}

// closeDeadLetters tells runDeadLetters that nothing more will be queued.
// Callers make sure intake and every call have ended.
func (w *Worker) closeDeadLetters() { close(w.dead.jobs) }

// deadLettersWaiting returns how many messages are queued for
// dead-lettering or being copied.
func (w *Worker) deadLettersWaiting() int {
	w.dead.mu.Lock()
	defer w.dead.mu.Unlock()
	return len(w.dead.waiting)
}

// waitingDeadLetters returns the messages queued for dead-lettering, for
// the keep-alive.
func (w *Worker) waitingDeadLetters() []message {
	q := w.dead
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]message, 0, len(q.waiting))
	for _, m := range q.waiting {
		out = append(out, m)
	}
	return out
}
