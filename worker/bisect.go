package worker

import (
	"context"
	"errors"
	"time"

	"github.com/purge-worker/purge-worker/batcher"
	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// bisect isolates the keys that made Cloudflare refuse chunk c. Cloudflare
// reports no per-key results: one bad key fails the whole request, so the
// chunk is split in halves, each half sent on its own (under the rate
// limits), and every refused half split again down to single keys. Halves
// that succeed are purged; single keys refused are the ones whose intents
// get dead-lettered. A failure that is not about the keys (429, 5xx, auth)
// stops the search and puts whatever was not settled back.
func (w *Worker) bisect(ctx context.Context, a *account, c batcher.Chunk, first *cfclient.Error) batcher.Outcome {
	b := &bisection{w: w, a: a, c: c, out: batcher.Outcome{Failed: map[intent.Key]string{}}}
	if zoneLevel(first) {
		// The zone itself was refused: no key is to blame, and
		// bisecting would only spend two calls per key to learn that.
		for _, k := range c.Keys {
			b.out.Failed[k] = first.Error()
		}
		return b.out
	}
	b.split(ctx, c.Keys, first.Error())
	return b.out
}

// zoneLevel reports whether Cloudflare refused the zone rather than a key
// (a zone ID that does not exist or that the endpoint does not route).
func zoneLevel(e *cfclient.Error) bool {
	return e.HasCode(cfclient.CodeCouldNotRoute) || e.HasCode(cfclient.CodeNoRoute)
}

type bisection struct {
	w       *Worker
	a       *account
	c       batcher.Chunk
	out     batcher.Outcome
	stopped bool
}

// split handles keys known to be refused together for reason.
func (b *bisection) split(ctx context.Context, keys []intent.Key, reason string) {
	if len(keys) == 1 {
		b.out.Failed[keys[0]] = reason
		return
	}
	mid := len(keys) / 2
	for _, half := range [][]intent.Key{keys[:mid], keys[mid:]} {
		b.try(ctx, half)
	}
}

func (b *bisection) try(ctx context.Context, keys []intent.Key) {
	if b.stopped {
		b.out.Retry = append(b.out.Retry, keys...)
		return
	}
	for {
		if err := b.a.waitTurn(ctx, b.c.Kind, len(keys)); err != nil {
			b.stop(keys)
			return
		}
		err := b.a.pay(ctx, b.c.Kind, len(keys))
		if err == nil {
			break
		}
		if !errors.Is(err, errLate) {
			b.stop(keys)
			return
		}
	}
	issued := time.Now()
	err := b.w.attempt(ctx, b.a, b.c, keys)
	if err == nil {
		return // these keys are purged
	}
	var e *cfclient.Error
	switch {
	case ctx.Err() != nil:
		b.stop(keys)
	case !errors.As(err, &e):
		b.stop(keys)
		b.a.backOff(time.Now(), issued)
	case e.Kind == cfclient.KindClient || (e.Kind == cfclient.KindTooManyKeys && len(keys) == 1):
		b.split(ctx, keys, e.Error())
	case e.Kind == cfclient.KindTooManyKeys:
		b.w.tooManyPart(b.a, b.c, len(keys), e)
		b.out.Retry = append(b.out.Retry, keys...)
	default:
		b.stop(keys)
		b.w.transient(b.a, b.c.Kind, e, issued)
	}
}

func (b *bisection) stop(keys []intent.Key) {
	b.stopped = true
	b.out.Retry = append(b.out.Retry, keys...)
}
