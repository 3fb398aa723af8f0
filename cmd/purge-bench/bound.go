package main

import (
	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// space is what Cloudflare purges in one call: a zone and an endpoint.
type space struct {
	zone string
	mode intent.Mode
}

// tally counts what a set of intents costs, computed here from the intents
// alone and independently of the batcher: the lower bound the contract
// promises, what a naive worker would send (one call per intent and type)
// and what per-intent chunking would send (what most CMS plugins do: each
// event's keys, chunked to the per-request maximum).
type tally struct {
	limits    cfclient.Limits
	intents   int
	items     int // keys after each intent's own dedupe
	naive     int
	perIntent int
	keys      map[space]map[intent.Key]struct{}
}

func newTally(l cfclient.Limits) *tally {
	return &tally{limits: l, keys: make(map[space]map[intent.Key]struct{})}
}

// add counts one intent, given as Bind returns it.
func (t *tally) add(parts []intent.Part) {
	t.intents++
	for _, p := range parts {
		var perKind [len(intent.Kinds)]int
		sp := space{p.ZoneID, p.Mode}
		set := t.keys[sp]
		if set == nil {
			set = make(map[intent.Key]struct{})
			t.keys[sp] = set
		}
		for _, k := range p.Keys {
			perKind[k.Kind]++
			set[k] = struct{}{}
		}
		t.items += len(p.Keys)
		for k, n := range perKind {
			if n > 0 {
				t.naive++
				t.perIntent += ceilDiv(n, t.max(intent.Kind(k)))
			}
		}
	}
}

// unique returns the number of distinct keys per zone and mode.
func (t *tally) unique() int {
	n := 0
	for _, set := range t.keys {
		n += len(set)
	}
	return n
}

// lowerBound is the contract's minimum for a burst received inside one
// window: per zone and mode, the distinct keys that no other key of the
// burst covers, chunked to the per-request maximum of their type.
func (t *tally) lowerBound() int {
	total := 0
	for _, set := range t.keys {
		total += boundOf(set, t.max)
	}
	return total
}

// boundOf is the lower bound of one zone and mode.
func boundOf(set map[intent.Key]struct{}, maxOf func(intent.Kind) int) int {
	if _, ok := set[intent.Key{Kind: intent.KindEverything}]; ok {
		return 1 // purge_everything covers every other key
	}
	hosts := map[string]bool{}
	prefixes := map[string]bool{}
	for k := range set {
		switch k.Kind {
		case intent.KindHost:
			hosts[k.Value] = true
		case intent.KindPrefix:
			prefixes[k.Value] = true
		}
	}
	var perKind [len(intent.Kinds)]int
	for k := range set {
		if !coveredIn(k, hosts, prefixes) {
			perKind[k.Kind]++
		}
	}
	n := 0
	for k, c := range perKind {
		n += ceilDiv(c, maxOf(intent.Kind(k)))
	}
	return n
}

// coveredIn reports whether a host or prefix of the set covers k, by the
// rules of intent.Covers: a host covers files and prefixes on exactly that
// host; a prefix covers what intent.CoverPaths lists.
func coveredIn(k intent.Key, hosts, prefixes map[string]bool) bool {
	if k.Kind != intent.KindFile && k.Kind != intent.KindPrefix {
		return false
	}
	if hosts[intent.HostOf(k)] {
		return true
	}
	for _, p := range intent.CoverPaths(k) {
		if prefixes[p] {
			return true
		}
	}
	return false
}

func (t *tally) max(k intent.Kind) int {
	if k == intent.KindEverything {
		return 1
	}
	return t.limits.MaxPerRequest(k == intent.KindFile)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
