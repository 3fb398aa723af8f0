package batcher

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// BenchmarkAdd adds 1,000,000 file keys, one per message, of which 90% are
// duplicates: 100,000 unique URLs over 3 zones, each added 10 times in
// interleaved order. One op is the whole million into a fresh Batcher.
func BenchmarkAdd(b *testing.B) {
	const (
		keys   = 1_000_000
		unique = 100_000
	)
	zones := []string{zoneA, zoneB, "c0000000000000000000000000000000"}
	parts := make([][]intent.Part, unique)
	for i := range parts {
		u := fmt.Sprintf("https://www.example.com/section-%d/page-%d.html?v=%d", i%97, i, i%7)
		parts[i] = []intent.Part{part(zones[i%len(zones)], file(u))}
	}
	base := t0
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for range b.N {
		bt := New(Config{Window: time.Second})
		for i := range keys {
			bt.Add(Handle(i+1), base.Add(time.Duration(i)), parts[i%unique])
		}
		if s := bt.Stats(); s.PendingKeys != unique || s.Duplicates != keys-unique {
			b.Fatalf("Stats = %+v", s)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	n := float64(b.N) * keys
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/key")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/key")
}
