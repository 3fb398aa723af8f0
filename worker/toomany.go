package worker

import (
	"fmt"

	"github.com/purge-worker/purge-worker/batcher"
	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// learnedKey names a per-request maximum learnt from Cloudflare.
type learnedKey struct {
	zone string
	kind intent.Kind
}

// tooMany handles Cloudflare refusing chunk c for holding more keys than
// the account accepts: the chunk's zone and type take the maximum the
// refusal states (or half the chunk when it states none) and the keys go
// back pending, to leave again at once in chunks of that size.
func (w *Worker) tooMany(a *account, c batcher.Chunk, e *cfclient.Error) {
	w.mu.Lock()
	m := w.batch.Shrink(c.ID, e.MaxKeys)
	w.mu.Unlock()
	w.learnMax(a, c, len(c.Keys), m, e)
}

// tooManyPart handles the same refusal of n keys of chunk c while the
// chunk is being bisected: the maximum is lowered alike; the keys go back
// with the bisection's outcome.
func (w *Worker) tooManyPart(a *account, c batcher.Chunk, n int, e *cfclient.Error) {
	w.mu.Lock()
	m := w.batch.Lower(c.ZoneID, c.Kind, n, e.MaxKeys)
	w.mu.Unlock()
	w.learnMax(a, c, n, m, e)
}

// learnMax counts a refused call of n keys and tells the operator once per
// new maximum m, with the config line that would have avoided the refusal.
func (w *Worker) learnMax(a *account, c batcher.Chunk, n, m int, e *cfclient.Error) {
	w.metrics.maxLowered.Inc()
	w.mu.Lock()
	k := learnedKey{c.ZoneID, c.Kind}
	news := m > 0 && w.learned[k] != m
	if news {
		w.learned[k] = m
	}
	w.mu.Unlock()
	if !news {
		return
	}
	how := "stated"
	if e.MaxKeys == 0 {
		how = "halved"
	}
	w.log.Warn("per_request_maximum_lowered", "account", a.name, "zone_id", c.ZoneID,
		"type", c.Kind.String(), "refused_keys", n, "max", m, "how", how,
		"avoid_with", overrideFor(a.name, c.Kind, m), "err", e)
}

// overrideFor is the config.yaml setting that makes the worker send at most
// m keys of kind per request from the start.
func overrideFor(account string, kind intent.Kind, m int) string {
	key := "max_keys_per_request"
	if kind == intent.KindFile {
		key = "max_urls_per_request"
	}
	return fmt.Sprintf("cloudflare.accounts[name=%s].%s: %d", account, key, m)
}
