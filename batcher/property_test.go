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
// model that knows only what the tests can see: which chunks were handed out
// when, with which keys, and which of those keys succeeded.

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
	received time.Time
	op       int // sequence number of the Add
	needs    []need
	state    handleState
}

type modelChunk struct {
	c         Chunk
	op        int // sequence number of the Next
	at        time.Time
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
	m.b = New(Config{Window: m.window, MaxKeys: func(z string, k intent.Kind) int { return m.plan[zoneKind{z, k}] }})
	return m
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

func (m *model) add(parts []intent.Part) Handle {
	m.op++
	m.nextID++
	h := m.nextID
	mh := &modelHandle{received: m.now, op: m.op}
	for _, p := range parts {
		for _, k := range p.Keys {
			n := need{p.ZoneID, p.Mode, k}
			mh.needs = append(mh.needs, n)
			m.seen[n] = true
		}
	}
	if !m.b.Add(h, m.now, parts) {
		m.t.Fatalf("Add(%d) = false for %d keys", h, len(mh.needs))
	}
	m.handles[h] = mh
	return h
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
	mc := &modelChunk{c: c, op: m.op, at: m.now}
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
		if c.Kind != intent.KindEverything {
			m.shrunk[zoneKind{c.ZoneID, c.Kind}] = max(m.max(c.ZoneID, c.Kind)/2, 1)
		}
		m.b.Shrink(c.ID)
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
		for _, n := range mh.needs {
			if !m.purgedAfter(n, mh) {
				m.t.Fatalf("handle %d acked but %v of zone %s mode %s was not purged by a call issued after it arrived", h, n.key, n.zone, n.mode)
			}
		}
	}
}

// purgedAfter reports whether a chunk handed out after mh was added, in n's
// zone and mode, succeeded for n's key or a key covering it.
func (m *model) purgedAfter(n need, mh *modelHandle) bool {
	for _, mc := range m.chunks {
		if mc.op < mh.op || mc.at.Before(mh.received) || mc.c.ZoneID != n.zone || mc.c.Mode != n.mode {
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
			case 1, 2, 3:
				m.add(genParts(t))
			case 4, 5:
				f := Filter{
					Flex:    rapid.IntRange(0, 3).Draw(t, "flex") > 0,
					Files:   rapid.IntRange(0, 3).Draw(t, "files") > 0,
					Force:   rapid.IntRange(0, 5).Draw(t, "force") == 0,
					Patient: rapid.Bool().Draw(t, "patient"),
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
				m.resolve(i, kind, func(label string) int { return rapid.SampledFrom([]int{0, 0, 1, 2, 2}).Draw(t, label) })
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
			h := m.add(genParts(t))
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
