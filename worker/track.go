package worker

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/status"
)

// tracker keeps the status records of tracked intents (header
// Purge-Track: true): pending when received, then purged with the calls
// that covered the intent's keys, or dead-lettered with the reason.
//
// Tracking never stands in the way of a purge. The hooks the worker calls
// only touch memory; the records are written to KV by the tracker's own
// writer (see trackwriter.go), which retries failed writes with backoff and
// keeps only the latest record of each intent, so a slow or failing KV
// delays records, never acks. Untracked intents cost one header lookup.
type tracker struct {
	w *writer

	// active counts tracked messages held, so that a call made while none
	// is held costs one atomic load.
	active atomic.Int64
	mu     sync.Mutex
	msgs   map[uint64]*trackedMsg // by stream sequence
}

// trackedMsg is a tracked intent the worker holds.
type trackedMsg struct {
	rec   status.Record
	parts []intent.Part
	// last[i][j] is the index in rec.Calls of the last call that covered
	// parts[i].Keys[j], or -1.
	last [][]int
}

func newTracker(w *writer) *tracker {
	return &tracker{w: w, msgs: make(map[uint64]*trackedMsg)}
}

// trackedID returns the id to track msg under, or "" if it is not tracked.
// A tracked intent without a Nats-Msg-Id has nothing to be found by; it is
// purged as usual.
func trackedID(msg Message) string {
	h := msg.Headers()
	if !strings.EqualFold(h.Get(intent.HeaderTrack), "true") {
		return ""
	}
	return h.Get(nats.MsgIdHdr)
}

// received records a pending intent. Call it before the intent's keys reach
// the batcher, so that no call covering them is missed. A redelivery of a
// message still held changes nothing.
func (t *tracker) received(msg Message, seq uint64, parts []intent.Part, now time.Time) {
	id := trackedID(msg)
	if id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.msgs[seq]; ok {
		return
	}
	m := &trackedMsg{
		rec: status.Record{ID: id, State: status.Pending, Subject: msg.Subject(), Seq: seq,
			Received: now.UTC(), Updated: now.UTC()},
		parts: parts,
		last:  make([][]int, len(parts)),
	}
	for i, p := range parts {
		m.last[i] = make([]int, len(p.Keys))
		for j := range m.last[i] {
			m.last[i][j] = -1
		}
	}
	t.msgs[seq] = m
	t.active.Add(1)
	t.w.put(m.rec)
}

// called attributes a successful call to the tracked intents it covers.
func (t *tracker) called(zoneID string, mode intent.Mode, kind intent.Kind, keys []intent.Key, cfID string, issued time.Time) {
	if t.active.Load() == 0 {
		return
	}
	c := newCallKeys(kind, keys)
	call := status.Call{Type: kind.String(), Mode: mode.String(), ZoneID: zoneID, Keys: len(keys),
		Issued: issued.UTC(), CloudflareID: cfID}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.msgs {
		idx := -1
		for i, p := range m.parts {
			if p.ZoneID != zoneID || p.Mode != mode {
				continue
			}
			for j, k := range p.Keys {
				if !c.covers(k) {
					continue
				}
				if idx < 0 {
					idx = len(m.rec.Calls)
					m.rec.Calls = append(m.rec.Calls, call)
				}
				m.last[i][j] = idx
			}
		}
	}
}

// purged records that the intent at seq was acked.
func (t *tracker) purged(seq uint64, now time.Time) {
	m := t.take(seq)
	if m == nil {
		return
	}
	m.rec.State = status.Purged
	m.rec.Calls = m.covering()
	m.rec.Updated = now.UTC()
	t.w.put(m.rec)
}

// deadLettered records that msg was dead-lettered for reason. It works for
// an intent never registered too (refused on arrival).
func (t *tracker) deadLettered(msg Message, seq uint64, reason string, now time.Time) {
	m := t.take(seq)
	var rec status.Record
	if m != nil {
		rec = m.rec
	} else {
		id := trackedID(msg)
		if id == "" {
			return
		}
		rec = status.Record{ID: id, Subject: msg.Subject(), Seq: seq, Received: now.UTC()}
	}
	rec.State, rec.Reason, rec.Calls, rec.Updated = status.DeadLettered, reason, nil, now.UTC()
	t.w.put(rec)
}

// forget drops the intent at seq without a record: it was nak'ed and will
// be received again; its record stays pending meanwhile.
func (t *tracker) forget(seq uint64) { t.take(seq) }

func (t *tracker) take(seq uint64) *trackedMsg {
	if t.active.Load() == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.msgs[seq]
	if !ok {
		return nil
	}
	delete(t.msgs, seq)
	t.active.Add(-1)
	return m
}

// covering returns the calls that were the last to cover at least one key,
// in the order they were made: an earlier call whose keys were all covered
// again later (it was issued before the intent was stored) is left out.
func (m *trackedMsg) covering() []status.Call {
	used := make([]bool, len(m.rec.Calls))
	for _, l := range m.last {
		for _, idx := range l {
			if idx >= 0 {
				used[idx] = true
			}
		}
	}
	var out []status.Call
	for i, c := range m.rec.Calls {
		if used[i] {
			out = append(out, c)
		}
	}
	return out
}

// callKeys answers whether a call covers a key: equal keys, and what its
// hosts, prefixes or purge_everything cover (intent.Covers).
type callKeys struct {
	kind  intent.Kind
	keys  []intent.Key
	exact map[intent.Key]struct{}
}

func newCallKeys(kind intent.Kind, keys []intent.Key) callKeys {
	c := callKeys{kind: kind, keys: keys, exact: make(map[intent.Key]struct{}, len(keys))}
	for _, k := range keys {
		c.exact[k] = struct{}{}
	}
	return c
}

func (c callKeys) covers(k intent.Key) bool {
	if c.kind == intent.KindEverything {
		return true
	}
	if _, ok := c.exact[k]; ok {
		return true
	}
	if c.kind != intent.KindHost && c.kind != intent.KindPrefix {
		return false // files and tags cover only themselves
	}
	for _, b := range c.keys {
		if intent.Covers(b, k) {
			return true
		}
	}
	return false
}
