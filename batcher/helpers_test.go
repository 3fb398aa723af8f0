package batcher

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// t0 is the start of every test's clock.
var t0 = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

const (
	zoneA = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneB = "b0000000000000000000000000000000"
)

func file(url string) intent.Key { return intent.Key{Kind: intent.KindFile, Value: url} }

func fileH(url string, h map[string]string) intent.Key {
	return intent.Key{Kind: intent.KindFile, Value: url, Headers: intent.EncodeHeaders(h)}
}

// tag builds a tag key the way intent normalises it: lowercased.
func tag(s string) intent.Key {
	return intent.Key{Kind: intent.KindTag, Value: strings.ToLower(s)}
}

func host(h string) intent.Key   { return intent.Key{Kind: intent.KindHost, Value: h} }
func prefix(p string) intent.Key { return intent.Key{Kind: intent.KindPrefix, Value: p} }

var all = intent.Key{Kind: intent.KindEverything}

func part(zone string, keys ...intent.Key) intent.Part {
	return intent.Part{ZoneID: zone, Mode: intent.ModePurge, Keys: keys}
}

func inval(zone string, keys ...intent.Key) intent.Part {
	return intent.Part{ZoneID: zone, Mode: intent.ModeInvalidate, Keys: keys}
}

// anyChunk is the filter that accepts every chunk once its window has passed.
var anyChunk = Filter{Flex: true, Files: true}

// newBatcher returns a batcher with a one-second window and the same maximum
// for every kind.
func newBatcher(maxKeys int) *Batcher {
	return New(Config{
		Window:  time.Second,
		MaxKeys: func(string, intent.Kind) int { return maxKeys },
	})
}

func mustAdd(t *testing.T, b *Batcher, h Handle, at time.Time, parts ...intent.Part) {
	t.Helper()
	if !b.Add(h, uint64(h), at, parts) {
		t.Fatalf("Add(%d) = false, want true", h)
	}
}

func mustNext(t *testing.T, b *Batcher, now time.Time, f Filter) Chunk {
	t.Helper()
	c, ok := b.Next(now, f)
	if !ok {
		t.Fatalf("Next(%v) = nothing, want a chunk", now.Sub(t0))
	}
	return c
}

func noNext(t *testing.T, b *Batcher, now time.Time, f Filter) {
	t.Helper()
	if c, ok := b.Next(now, f); ok {
		t.Fatalf("Next(%v) = %+v, want nothing", now.Sub(t0), c)
	}
}

// drain hands out and succeeds every pending chunk at now with Force, and
// returns the chunks and the acked handles (sorted).
func drain(t *testing.T, b *Batcher, now time.Time) ([]Chunk, []Handle) {
	t.Helper()
	var chunks []Chunk
	var acked []Handle
	for range 10000 {
		c, ok := b.Next(now, Filter{Flex: true, Files: true, Force: true})
		if !ok {
			slices.Sort(acked)
			return chunks, acked
		}
		chunks = append(chunks, c)
		res := b.Succeed(c.ID, now)
		if len(res.Dead) != 0 {
			t.Fatalf("Succeed dead-lettered %v", res.Dead)
		}
		acked = append(acked, res.Acked...)
	}
	t.Fatal("drain did not terminate")
	return nil, nil
}

func sortedHandles(hs []Handle) []Handle {
	hs = slices.Clone(hs)
	slices.Sort(hs)
	return hs
}

func handles(hs ...Handle) []Handle { return hs }
