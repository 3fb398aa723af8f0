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
	// byKey finds the tracked messages that hold a key, and where in
	// them: a call attributes itself to them in a lookup per key it
	// carries, however many tracked messages are held.
	byKey map[scopedKey]map[*trackedMsg]int
	calls uint64 // calls attributed so far, to number them
}

// scopedKey is a key with the zone and mode it is purged in.
type scopedKey struct {
	zone string
	mode intent.Mode
	key  intent.Key
}

// trackedMsg is a tracked intent the worker holds.
type trackedMsg struct {
	rec  status.Record
	keys []scopedKey // every key of every part
	// last[i] is the index in rec.Calls of the last call that covered
	// keys[i], or -1.
	last     []int
	lastCall uint64 // number of the call last appended to rec.Calls
}

func newTracker(w *writer) *tracker {
	return &tracker{w: w, msgs: make(map[uint64]*trackedMsg), byKey: make(map[scopedKey]map[*trackedMsg]int)}
}

// trackedID returns the id to track msg under, or "" if it is not tracked.
// A tracked intent without a Nats-Msg-Id has nothing to be found by; it is
// purged as usual.
func trackedID(msg message) string {
	h := msg.Headers()
	if !strings.EqualFold(h.Get(intent.HeaderTrack), "true") {
		return ""
	}
	return h.Get(nats.MsgIdHdr)
}

// received records a pending intent. Call it before the intent's keys reach
// the batcher, so that no call covering them is missed. A redelivery of a
// message still held changes nothing.
func (t *tracker) received(msg message, seq uint64, parts []intent.Part, now time.Time) {
	id := trackedID(msg)
	if id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.msgs[seq]; ok {
		return
	}
	m := &trackedMsg{rec: status.Record{ID: id, State: status.Pending, Subject: msg.Subject(), Seq: seq,
		Received: now.UTC(), Updated: now.UTC()}}
	for _, p := range parts {
		for _, k := range p.Keys {
			sk := scopedKey{p.ZoneID, p.Mode, k}
			holders := t.byKey[sk]
			if holders == nil {
				holders = make(map[*trackedMsg]int, 1)
				t.byKey[sk] = holders
			}
			holders[m] = len(m.keys)
			m.keys = append(m.keys, sk)
			m.last = append(m.last, -1)
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
	call := status.Call{Type: kind.String(), Mode: mode.String(), ZoneID: zoneID, Keys: len(keys),
		Issued: issued.UTC(), CloudflareID: cfID}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	n := t.calls
	if kind == intent.KindFile || kind == intent.KindTag {
		// Files and tags cover only themselves.
		for _, k := range keys {
			for m, i := range t.byKey[scopedKey{zoneID, mode, k}] {
				m.covered(i, n, call)
			}
		}
		return
	}
	// Hosts, prefixes and purge_everything cover other keys too: few
	// calls (they draw on the flex bucket), so a walk over the held
	// tracked messages is affordable.
	for _, m := range t.msgs {
		for i, sk := range m.keys {
			if sk.zone == zoneID && sk.mode == mode && coversAny(kind, keys, sk.key) {
				m.covered(i, n, call)
			}
		}
	}
}

// covered records that call number n covered m.keys[i].
func (m *trackedMsg) covered(i int, n uint64, call status.Call) {
	if m.lastCall != n {
		m.rec.Calls = append(m.rec.Calls, call)
		m.lastCall = n
	}
	m.last[i] = len(m.rec.Calls) - 1
}

// coversAny reports whether a call of kind with keys covers k.
func coversAny(kind intent.Kind, keys []intent.Key, k intent.Key) bool {
	if kind == intent.KindEverything {
		return true
	}
	for _, b := range keys {
		if b == k || intent.Covers(b, k) {
			return true
		}
	}
	return false
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
func (t *tracker) deadLettered(msg message, seq uint64, reason string, now time.Time) {
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
	for _, sk := range m.keys {
		holders := t.byKey[sk]
		delete(holders, m)
		if len(holders) == 0 {
			delete(t.byKey, sk)
		}
	}
	t.active.Add(-1)
	return m
}

// covering returns the calls that were the last to cover at least one key,
// in the order they were made: an earlier call whose keys were all covered
// again later (it was issued before the intent was stored) is left out.
func (m *trackedMsg) covering() []status.Call {
	used := make([]bool, len(m.rec.Calls))
	for _, idx := range m.last {
		if idx >= 0 {
			used[idx] = true
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
