package worker

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/batcher"
)

// recentCalls is how many finished calls a Snapshot lists.
const recentCalls = 50

// recentDeadLetters is how many dead letters a Snapshot lists, newest first.
const recentDeadLetters = 5

// Snapshot is what the worker is doing at one moment, for the status page.
// It is plain data and holds no secret: names, counts, times and reasons.
type Snapshot struct {
	At   time.Time
	Role string // "starting", "active" or "standby"
	// Consuming reports that intake is bound to the JetStream consumer.
	Consuming     bool
	Accounts      []AccountState
	Pending       []PendingState // per zone and mode, oldest first
	InFlightKeys  int
	HeldMessages  int
	MaxAckPending int
	Calls         []CallRecord // newest first, at most 50
	DeadLetters   DeadLetters
}

// AccountState is one Cloudflare account's rate buckets and pause.
type AccountState struct {
	Name string
	Flex Bucket // flex requests: tags, hosts, prefixes, purge_everything
	URLs Bucket // single-file purges, counted per URL
	// Pause is why the account may not call now ("rate_limited",
	// "backoff", "auth"), or empty; PausedFor is how long it still waits.
	Pause     string
	PausedFor time.Duration
}

// Bucket is a token bucket's level.
type Bucket struct {
	Tokens    float64
	Burst     int
	PerSecond float64 // the plan's refill rate
}

// PendingState is the keys of one zone and mode waiting for a call.
type PendingState struct {
	Zone, ZoneID, Mode string
	Keys               int
	OldestAge          time.Duration
	// NextCallIn is when the next call is due: the window, a full chunk
	// or the account's pause, whichever is later; 0 means now.
	NextCallIn time.Duration
}

// CallRecord is one finished Cloudflare call.
type CallRecord struct {
	At                        time.Time // when it was issued
	Account, Zone, Mode, Type string
	Keys                      int
	Outcome                   string // "ok" or the error kind, as in purge_worker_api_calls_total
	Took                      time.Duration
}

// DeadLetters is the dead-letter stream's depth and its latest messages.
type DeadLetters struct {
	Depth  uint64
	Recent []DeadLetter // newest first
	Err    string       // why the stream could not be read, if it could not
}

// DeadLetter is one message of the dead-letter stream.
type DeadLetter struct {
	Seq     uint64
	At      time.Time
	Subject string // the original subject
	Reason  string
}

// callLog keeps the last recentCalls calls. Its zero value is ready.
type callLog struct {
	mu   sync.Mutex
	buf  [recentCalls]CallRecord
	next int // total recorded; the newest is at (next-1) % recentCalls
}

func (l *callLog) add(c CallRecord) {
	l.mu.Lock()
	l.buf[l.next%recentCalls] = c
	l.next++
	l.mu.Unlock()
}

// list returns the recorded calls, newest first.
func (l *callLog) list() []CallRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.next, recentCalls)
	out := make([]CallRecord, n)
	for i := range n {
		out[i] = l.buf[(l.next-1-i)%recentCalls]
	}
	return out
}

// Snapshot returns the worker's state now. It reads the dead-letter stream
// under ctx; a failure there is reported in DeadLetters.Err, not returned.
func (w *Worker) Snapshot(ctx context.Context) Snapshot {
	now := time.Now()
	s := Snapshot{
		At:            now,
		Role:          string(w.Role()),
		Consuming:     w.consumer.Load(),
		MaxAckPending: w.cfg.MaxAckPending,
		Calls:         w.recent.list(),
	}
	for _, a := range w.accounts {
		s.Accounts = append(s.Accounts, a.state(now))
	}
	w.mu.Lock()
	capped := w.atCap(len(w.held))
	spaces := w.batch.Spaces(batcher.Filter{Force: w.flushing.Load(), Capped: capped,
		Relieving: capped || w.relief, HoldUntil: w.hold()})
	s.InFlightKeys = w.batch.Stats().InFlightKeys
	s.HeldMessages = len(w.held)
	w.mu.Unlock()
	for _, sp := range spaces {
		next := max(sp.Due.Sub(now), 0)
		if a := w.byZone[sp.ZoneID]; a != nil {
			next = max(next, a.pausedFor(now))
		}
		s.Pending = append(s.Pending, PendingState{
			Zone: w.zoneName(sp.ZoneID), ZoneID: sp.ZoneID, Mode: sp.Mode.String(),
			Keys: sp.PendingKeys, OldestAge: now.Sub(sp.Oldest), NextCallIn: next,
		})
	}
	s.DeadLetters = w.deadLetters(ctx)
	return s
}

func (a *account) state(now time.Time) AccountState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := AccountState{Name: a.name,
		Flex: levelOf(&a.flex, a.limits.FlexPerSecond, now),
		URLs: levelOf(&a.urls, a.limits.URLsPerSecond, now)}
	if now.Before(a.pausedUntil) {
		st.Pause, st.PausedFor = a.pauseCause, a.pausedUntil.Sub(now)
	}
	if a.authDown {
		st.Pause = "auth"
	}
	return st
}

// levelOf reads b's level; perSecond is the plan's refill rate (b refills
// a little slower, see withMargin). Callers hold the account's mu.
func levelOf(b *bucket, perSecond float64, now time.Time) Bucket {
	return Bucket{Tokens: max(b.tokensAt(now), 0), Burst: int(b.burst), PerSecond: perSecond}
}

func (w *Worker) zoneName(id string) string {
	if z, ok := w.zones.Lookup(id); ok {
		return z.Name
	}
	return id
}

// deadLetters reads the dead-letter stream's depth and its last messages.
func (w *Worker) deadLetters(ctx context.Context) DeadLetters {
	var d DeadLetters
	st, err := w.js.Stream(ctx, w.cfg.DLQStream)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	info, err := st.Info(ctx)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	d.Depth = info.State.Msgs
	// Bounded: replayed messages leave gaps, and a page must not walk
	// a long run of them.
	for seq, tries := info.State.LastSeq, 0; seq >= max(info.State.FirstSeq, 1) && len(d.Recent) < recentDeadLetters && tries < 10*recentDeadLetters; seq, tries = seq-1, tries+1 {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted (replayed or purged)
		}
		d.Recent = append(d.Recent, deadLetter(m))
	}
	return d
}

func deadLetter(m *jetstream.RawStreamMsg) DeadLetter {
	return DeadLetter{
		Seq:     m.Sequence,
		At:      m.Time,
		Subject: m.Header.Get(HeaderSubject),
		Reason:  m.Header.Get(HeaderError),
	}
}
