package batcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/purge-worker/purge-worker/intent"
)

// The property tests drive a Batcher with random intents over a small key
// universe (so duplicates and coverage are common) and check it against a
// model that knows only what the tests can see: the stream (which sequence
// each message was stored at, and how far the stream has got), which chunks
// were handed out with which keys and horizons, and which of those keys
// succeeded.

var (
	propZones    = []string{zoneA, zoneB}
	propHosts    = []string{"a.com", "b.com"}
	propURLHosts = []string{"a.com", "b.com", "a.com:8443"}
	propPaths    = []string{"/", "/foo", "/foo/", "/foo/bar", "/foobar", "/?x=1", "/foo?x=1", "/foo/bar?y=2"}
	propTags     = []string{"t1", "t2", "T3"}
	propPrefixes = []string{"a.com/", "a.com/foo", "a.com/foo/", "a.com/foo/bar", "a.com/foobar", "b.com/foo"}
)

// genKey draws one normalised key; purge_everything is rare so that it does
// not swallow every scenario.
func genKey(t *rapid.T) intent.Key {
	if rapid.IntRange(0, 99).Draw(t, "everything") == 37 { // rapid favours the ends of a range
		return all
	}
	switch rapid.IntRange(1, 40).Draw(t, "kind") {
	case 1, 2, 3, 4:
		return tag(rapid.SampledFrom(propTags).Draw(t, "tag"))
	case 5, 6, 7:
		return host(rapid.SampledFrom(propHosts).Draw(t, "host"))
	case 8, 9, 10, 11, 12, 13:
		return prefix(rapid.SampledFrom(propPrefixes).Draw(t, "prefix"))
	}
	u := rapid.SampledFrom([]string{"https://", "http://"}).Draw(t, "scheme") +
		rapid.SampledFrom(propURLHosts).Draw(t, "host") + rapid.SampledFrom(propPaths).Draw(t, "path")
	if rapid.IntRange(0, 7).Draw(t, "headers") == 0 {
		return fileH(u, map[string]string{"CF-Device-Type": "mobile"})
	}
	return file(u)
}

// genParts draws one intent's parts: one mode and priority, one part per
// zone, keys deduplicated within a part as package intent delivers them.
func genParts(t *rapid.T) []intent.Part {
	mode := rapid.SampledFrom([]intent.Mode{intent.ModePurge, intent.ModeInvalidate}).Draw(t, "mode")
	prio := rapid.SampledFrom([]intent.Priority{intent.PriorityLow, intent.PriorityNormal, intent.PriorityHigh}).Draw(t, "priority")
	zones := rapid.SliceOfNDistinct(rapid.SampledFrom(propZones), 1, 2, rapid.ID[string]).Draw(t, "zones")
	var parts []intent.Part
	for _, z := range zones {
		var keys []intent.Key
		for range rapid.IntRange(1, 4).Draw(t, "nkeys") {
			if k := genKey(t); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		parts = append(parts, intent.Part{ZoneID: z, Mode: mode, Priority: prio, Keys: keys})
	}
	return parts
}

// modelCovers is the coverage rule written again, independently of
// intent.Covers, for the small universe above: everything covers all; a
// host covers files and prefixes on exactly that host (a URL with a port is
// on another authority); a prefix covers what continues it at '/', '?' or
// the end (a file), or anything at all when it ends with '/'.
func modelCovers(broad, narrow intent.Key) bool {
	if broad == narrow {
		return false
	}
	loc := narrow.Value
	if i := strings.Index(loc, "://"); i >= 0 && narrow.Kind == intent.KindFile {
		loc = loc[i+3:]
	}
	switch broad.Kind {
	case intent.KindEverything:
		return true
	case intent.KindHost:
		if narrow.Kind != intent.KindFile && narrow.Kind != intent.KindPrefix {
			return false
		}
		h, _, _ := strings.Cut(loc, "/")
		h, _, _ = strings.Cut(h, "?")
		return h == broad.Value
	case intent.KindPrefix:
		if narrow.Kind != intent.KindFile && narrow.Kind != intent.KindPrefix {
			return false
		}
		p := broad.Value
		switch {
		case narrow.Kind == intent.KindFile && loc == p:
			return true
		case strings.HasSuffix(p, "/"):
			return strings.HasPrefix(loc, p)
		}
		return strings.HasPrefix(loc, p+"/") || strings.HasPrefix(loc, p+"?")
	}
	return false
}

type need struct {
	zone string
	mode intent.Mode
	key  intent.Key
}

type handleState int

const (
	live handleState = iota
	acked
	dead
	dropped
)

type modelHandle struct {
	seq   uint64 // stream sequence of its message
	parts []intent.Part
	needs []need
	state handleState
}

type modelChunk struct {
	c         Chunk
	succeeded []intent.Key
}

type model struct {
	t        *rapid.T
	b        *Batcher
	window   time.Duration
	plan     map[zoneKind]int
	shrunk   map[zoneKind]int
	now      time.Time
	op       int
	handles  map[Handle]*modelHandle
	nextID   Handle
	chunks   []*modelChunk // every chunk handed out
	inFlight []*modelChunk
	seen     map[need]bool // every key ever added

	remember int            // Config.RememberKeys
	stream   []*modelHandle // messages stored, by sequence-1 (parts and seq only)
	unsent   int            // index in stream of the next first delivery
	gone     []*modelHandle // messages dropped, for redelivery
}

func newModel(t *rapid.T) *model {
	m := &model{
		t:       t,
		window:  time.Second,
		plan:    make(map[zoneKind]int),
		shrunk:  make(map[zoneKind]int),
		now:     t0,
		handles: make(map[Handle]*modelHandle),
		seen:    make(map[need]bool),
	}
	for _, z := range propZones {
		for _, k := range intent.Kinds {
			m.plan[zoneKind{z, k}] = rapid.IntRange(1, 4).Draw(t, fmt.Sprintf("max %s %s", z[:1], k))
		}
	}
	m.remember = rapid.SampledFrom([]int{0, 1, 3, 1000}).Draw(t, "remember")
	m.b = New(Config{Window: m.window, RememberKeys: m.remember,
		MaxKeys: func(z string, k intent.Kind) int { return m.plan[zoneKind{z, k}] }})
	return m
}

// store appends a message to the stream without delivering it.
func (m *model) store(parts []intent.Part) {
	m.stream = append(m.stream, &modelHandle{seq: uint64(len(m.stream) + 1), parts: parts})
}

// lastSeq is the stream's last sequence: what it has stored.
func (m *model) lastSeq() uint64 { return uint64(len(m.stream)) }

// readStored tells the batcher a last sequence the worker could have read:
// any value the stream has reached.
func (m *model) readStored(t *rapid.T) {
	if len(m.stream) == 0 {
		return
	}
	m.b.Stored(uint64(rapid.IntRange(1, len(m.stream)).Draw(t, "stored")))
}

// deliver adds the next stored message not yet delivered (storing one if
// there is none), or redelivers a dropped one.
func (m *model) deliver(t *rapid.T, redeliver bool) Handle {
	if redeliver && len(m.gone) > 0 {
		i := rapid.IntRange(0, len(m.gone)-1).Draw(t, "redeliver")
		g := m.gone[i]
		m.gone = slices.Delete(m.gone, i, i+1)
		return m.add(g.seq, g.parts)
	}
	if m.unsent == len(m.stream) {
		m.store(genParts(t))
	}
	g := m.stream[m.unsent]
	m.unsent++
	return m.add(g.seq, g.parts)
}

// max is the model's own idea of the current maximum.
func (m *model) max(zone string, k intent.Kind) int {
	if k == intent.KindEverything {
		return 1
	}
	mx := m.plan[zoneKind{zone, k}]
	if s, ok := m.shrunk[zoneKind{zone, k}]; ok && s < mx {
		mx = s
	}
	return mx
}

// add delivers the message stored at seq as a new handle.
func (m *model) add(seq uint64, parts []intent.Part) Handle {
	m.op++
	m.nextID++
	h := m.nextID
	mh := &modelHandle{seq: seq, parts: parts}
	for _, p := range parts {
		for _, k := range p.Keys {
			n := need{p.ZoneID, p.Mode, k}
			mh.needs = append(mh.needs, n)
			m.seen[n] = true
		}
	}
	m.handles[h] = mh
	if !m.b.Add(h, seq, m.now, parts) {
		// Settled at once: every key must be purged already, by a
		// call with a horizon at or above seq.
		mh.state = acked
		m.justify(h, mh)
	}
	return h
}

// justify fails unless every need of mh was purged by a successful chunk
// whose horizon is at or above mh's sequence.
func (m *model) justify(h Handle, mh *modelHandle) {
	for _, n := range mh.needs {
		if !m.purgedFor(n, mh.seq) {
			m.t.Fatalf("handle %d (seq %d) settled but %v of zone %s mode %s was not purged by a call with a horizon at or above it",
				h, mh.seq, n.key, n.zone[:1], n.mode)
		}
	}
}

func (m *model) next(f Filter) bool {
	m.op++
	due, dueOK := m.b.Due(f)
	c, ok := m.b.Next(m.now, f)
	if ok != (dueOK && !due.After(m.now)) {
		m.t.Fatalf("Next = %v but Due = %v, %v at now %v", ok, due.Sub(t0), dueOK, m.now.Sub(t0))
	}
	if !ok {
		return false
	}
	if f.Zone != nil && !f.Zone(c.ZoneID) || c.Kind.Flex() && !f.Flex || !c.Kind.Flex() && !f.Files {
		m.t.Fatalf("chunk %+v does not match the filter", c)
	}
	if len(c.Keys) == 0 || len(c.Keys) > m.max(c.ZoneID, c.Kind) {
		m.t.Fatalf("chunk has %d keys, max is %d", len(c.Keys), m.max(c.ZoneID, c.Kind))
	}
	for i, k := range c.Keys {
		if k.Kind != c.Kind {
			m.t.Fatalf("chunk of %s holds %v", c.Kind, k)
		}
		if !m.seen[need{c.ZoneID, c.Mode, k}] {
			m.t.Fatalf("chunk holds %v, never added to zone %s mode %s", k, c.ZoneID, c.Mode)
		}
		for _, o := range c.Keys[:i] {
			if o == k || modelCovers(o, k) || modelCovers(k, o) {
				m.t.Fatalf("chunk holds %v and %v: one should have been coalesced", o, k)
			}
		}
	}
	if c.Horizon > m.lastSeq() {
		m.t.Fatalf("chunk %d has horizon %d, but the stream has stored only %d", c.ID, c.Horizon, m.lastSeq())
	}
	// High first: the chunk's keys come in non-increasing priority, and
	// no key of its group left pending has a higher one than its last.
	roots := m.b.chunks[c.ID].roots
	for i := 1; i < len(roots); i++ {
		if roots[i].prio > roots[i-1].prio {
			m.t.Fatalf("chunk holds %v (%v) after %v (%v)", roots[i].key, roots[i].prio, roots[i-1].key, roots[i-1].prio)
		}
	}
	if g := roots[0].sp.group(c.Kind); g.n > 0 && g.top() > roots[len(roots)-1].prio {
		m.t.Fatalf("chunk of %d keys down to priority %v left a %v key pending", len(roots), roots[len(roots)-1].prio, g.top())
	}
	mc := &modelChunk{c: c}
	m.chunks = append(m.chunks, mc)
	m.inFlight = append(m.inFlight, mc)
	return true
}

// resolve settles the i-th chunk in flight: kind 0 success, 1 mixed
// outcome, 2 Requeue, 3 Shrink.
func (m *model) resolve(i, kind int, draw func(string) int) {
	m.op++
	mc := m.inFlight[i]
	m.inFlight = slices.Delete(m.inFlight, i, i+1)
	c := mc.c
	switch kind {
	case 2:
		m.b.Requeue(c.ID)
		return
	case 3:
		stated := draw("stated")
		if c.Kind != intent.KindEverything {
			want := max(len(c.Keys)/2, 1)
			if stated >= 1 && stated < len(c.Keys) {
				want = stated
			}
			m.shrunk[zoneKind{c.ZoneID, c.Kind}] = min(m.max(c.ZoneID, c.Kind), want)
		}
		if got := m.b.Shrink(c.ID, stated); got != m.max(c.ZoneID, c.Kind) {
			m.t.Fatalf("Shrink(stated %d) of %d keys = %d, want %d", stated, len(c.Keys), got, m.max(c.ZoneID, c.Kind))
		}
		return
	}
	var out Outcome
	for _, k := range c.Keys {
		switch o := 0; {
		case kind == 1 && func() bool { o = draw("outcome"); return o != 0 }():
			if o == 1 {
				out.Retry = append(out.Retry, k)
			} else {
				if out.Failed == nil {
					out.Failed = make(map[intent.Key]string)
				}
				out.Failed[k] = "bad " + k.String()
			}
		default:
			mc.succeeded = append(mc.succeeded, k)
		}
	}
	m.check(m.b.Resolve(c.ID, m.now, out), c, out.Failed)
}

// check verifies a Result against the model.
func (m *model) check(res Result, c Chunk, failed map[intent.Key]string) {
	for _, d := range res.Dead {
		mh := m.handles[d.Handle]
		if mh == nil || mh.state != live {
			m.t.Fatalf("dead-lettered handle %d is not live (%v)", d.Handle, mh)
		}
		mh.state = dead
		if reason, ok := failed[d.Key]; !ok || reason != d.Reason {
			m.t.Fatalf("handle %d dead for %v (%q), which did not fail in chunk %d", d.Handle, d.Key, d.Reason, c.ID)
		}
		if !slices.Contains(mh.needs, need{c.ZoneID, c.Mode, d.Key}) {
			m.t.Fatalf("handle %d dead for %v, which it does not need itself", d.Handle, d.Key)
		}
	}
	for _, h := range res.Acked {
		mh := m.handles[h]
		if mh == nil || mh.state != live {
			m.t.Fatalf("acked handle %d is not live (%v)", h, mh)
		}
		mh.state = acked
		m.justify(h, mh)
	}
}

// purgedFor reports whether a chunk in n's zone and mode with a horizon at
// or above seq succeeded for n's key or a key covering it.
func (m *model) purgedFor(n need, seq uint64) bool {
	for _, mc := range m.chunks {
		if mc.c.Horizon < seq || mc.c.ZoneID != n.zone || mc.c.Mode != n.mode {
			continue
		}
		for _, k := range mc.succeeded {
			if k == n.key || modelCovers(k, n.key) {
				return true
			}
		}
	}
	return false
}

func (m *model) drop(h Handle) {
	m.op++
	if mh := m.handles[h]; mh != nil && mh.state == live {
		mh.state = dropped
		m.gone = append(m.gone, mh)
	}
	m.b.Drop(h)
}

func (m *model) live() int {
	n := 0
	for _, mh := range m.handles {
		if mh.state == live {
			n++
		}
	}
	return n
}

func (m *model) checkHolding(zone string) {
	got := m.b.Holding(func(z string) bool { return z == zone })
	for h, mh := range m.handles {
		inZone, onlyZone := false, true
		for _, n := range mh.needs {
			inZone = inZone || n.zone == zone
			onlyZone = onlyZone && n.zone == zone
		}
		held := slices.Contains(got, h)
		if held && (mh.state != live || !inZone) {
			m.t.Fatalf("Holding(%s) lists handle %d (state %d, needs %v)", zone[:1], h, mh.state, mh.needs)
		}
		if !held && mh.state == live && onlyZone {
			m.t.Fatalf("Holding(%s) misses live handle %d whose keys are all in the zone", zone[:1], h)
		}
	}
}

// finish settles every chunk in flight and drains with Force and success:
// every handle that was neither dropped nor dead-lettered must be acked.
func (m *model) finish() {
	for len(m.inFlight) > 0 {
		m.resolve(0, 0, nil)
	}
	m.now = m.now.Add(time.Hour)
	for m.next(Filter{Flex: true, Files: true, Force: true}) {
		m.resolve(len(m.inFlight)-1, 0, nil)
	}
	for h, mh := range m.handles {
		if mh.state == live {
			m.t.Fatalf("handle %d (needs %v) was lost: never acked", h, mh.needs)
		}
	}
	if s := m.b.Stats(); s.PendingKeys != 0 || s.InFlightKeys != 0 || s.Handles != 0 || !s.Oldest.IsZero() {
		m.t.Fatalf("Stats after drain = %+v, want empty", s)
	}
}

func TestPropertyRandomInterleavings(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newModel(t)
		steps := rapid.IntRange(1, 80).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				m.now = m.now.Add(rapid.SampledFrom([]time.Duration{0, time.Millisecond, 300 * time.Millisecond, time.Second, 3 * time.Second}).Draw(t, "advance"))
			case 1, 2:
				m.deliver(t, rapid.IntRange(0, 3).Draw(t, "redelivery") == 0)
			case 3:
				if rapid.Bool().Draw(t, "store or read") {
					m.store(genParts(t))
				} else {
					m.readStored(t)
				}
			case 4, 5:
				f := Filter{
					Flex:   rapid.IntRange(0, 3).Draw(t, "flex") > 0,
					Files:  rapid.IntRange(0, 3).Draw(t, "files") > 0,
					Force:  rapid.IntRange(0, 5).Draw(t, "force") == 0,
					Capped: rapid.IntRange(0, 3).Draw(t, "capped") == 0,
				}
				f.Relieving = f.Capped || rapid.IntRange(0, 3).Draw(t, "relieving") == 0
				if rapid.Bool().Draw(t, "hold") {
					f.HoldUntil = m.now.Add(rapid.SampledFrom([]time.Duration{0, time.Second, 5 * time.Second}).Draw(t, "hold for"))
				}
				if rapid.Bool().Draw(t, "one zone") {
					z := rapid.SampledFrom(propZones).Draw(t, "zone")
					f.Zone = func(s string) bool { return s == z }
				}
				m.next(f)
			case 6, 7:
				if len(m.inFlight) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(m.inFlight)-1).Draw(t, "chunk")
				kind := rapid.SampledFrom([]int{0, 0, 1, 1, 2, 3}).Draw(t, "resolution")
				m.resolve(i, kind, func(label string) int { return rapid.SampledFrom([]int{0, 0, 1, 2, 2, 3}).Draw(t, label) })
			case 8:
				if m.nextID == 0 {
					continue
				}
				m.drop(Handle(rapid.IntRange(1, int(m.nextID)+1).Draw(t, "drop")))
			case 9:
				m.checkHolding(rapid.SampledFrom(propZones).Draw(t, "holding zone"))
			}
			s := m.b.Stats()
			if s.Handles != m.live() {
				t.Fatalf("Stats.Handles = %d, model has %d live handles", s.Handles, m.live())
			}
			if s.Handles == 0 && s.PendingKeys != 0 {
				t.Fatalf("%d keys pending with no live handle", s.PendingKeys)
			}
			if s.Remembered > m.remember {
				t.Fatalf("%d keys remembered, the bound is %d", s.Remembered, m.remember)
			}
		}
		m.finish()
	})
}

// lowerBound computes, independently of the batcher, the minimum number of
// calls for a set of needs: per zone and mode, 1 if purge_everything is
// among them, else per kind ceil(keys not covered by another key / max).
func lowerBound(needs []need, maxOf func(string, intent.Kind) int) int {
	type zm struct {
		zone string
		mode intent.Mode
	}
	keys := make(map[zm][]intent.Key)
	for _, n := range needs {
		s := zm{n.zone, n.mode}
		if !slices.Contains(keys[s], n.key) {
			keys[s] = append(keys[s], n.key)
		}
	}
	total := 0
	for s, ks := range keys {
		if slices.Contains(ks, all) {
			total++
			continue
		}
		perKind := make(map[intent.Kind]int)
		for _, k := range ks {
			covered := false
			for _, o := range ks {
				covered = covered || modelCovers(o, k)
			}
			if !covered {
				perKind[k.Kind]++
			}
		}
		for kind, n := range perKind {
			mx := maxOf(s.zone, kind)
			total += (n + mx - 1) / mx
		}
	}
	return total
}

func TestPropertyBurstCostsTheMinimum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newModel(t)
		var needs []need
		for range rapid.IntRange(1, 40).Draw(t, "messages") {
			m.now = m.now.Add(time.Duration(rapid.IntRange(0, 20).Draw(t, "gap ms")) * time.Millisecond)
			h := m.deliver(t, false)
			needs = append(needs, m.handles[h].needs...)
		}
		// The burst fits in one window (at most 40 × 20ms < 1s).
		want := lowerBound(needs, m.max)
		m.now = m.now.Add(m.window)
		chunks := 0
		for m.next(anyChunk) {
			chunks++
			m.resolve(0, 0, nil)
		}
		if chunks != want {
			t.Fatalf("burst took %d chunks, the minimum is %d", chunks, want)
		}
		for h, mh := range m.handles {
			if mh.state != acked {
				t.Fatalf("handle %d not acked after the burst drained", h)
			}
		}
	})
}

// A backlog pulled in slices (the worker can hold only so many messages)
// pays once: the calls for the first slice carry the horizon of the whole
// backlog, so a later slice costs exactly the minimum for its keys that no
// earlier call purged.
func TestPropertyBacklogSlicesPayOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newModel(t)
		m.b.memory.limit, m.remember = 1000, 1000
		n := rapid.IntRange(2, 40).Draw(t, "backlog")
		for range n {
			m.store(genParts(t))
		}
		m.b.Stored(m.lastSeq()) // read before the first call
		var purged []need
		for m.unsent < n {
			var needs []need
			for range min(rapid.IntRange(1, 10).Draw(t, "slice"), n-m.unsent) {
				h := m.deliver(t, false)
				if m.handles[h].state == live {
					needs = append(needs, m.handles[h].needs...)
				}
			}
			var fresh []need
			for _, nd := range needs {
				if !slices.ContainsFunc(purged, func(p need) bool {
					return p.zone == nd.zone && p.mode == nd.mode && (p.key == nd.key || modelCovers(p.key, nd.key))
				}) {
					fresh = append(fresh, nd)
				}
			}
			want := lowerBound(fresh, m.max)
			m.now = m.now.Add(m.window)
			chunks := 0
			for m.next(anyChunk) {
				chunks++
				mc := m.inFlight[0]
				m.resolve(0, 0, nil)
				for _, k := range mc.succeeded {
					purged = append(purged, need{mc.c.ZoneID, mc.c.Mode, k})
				}
			}
			if chunks != want {
				t.Fatalf("slice took %d chunks, the minimum for its new keys is %d", chunks, want)
			}
		}
		for h, mh := range m.handles {
			if mh.state != acked {
				t.Fatalf("handle %d not acked after the backlog drained", h)
			}
		}
	})
}
