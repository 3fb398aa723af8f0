package batcher

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// BenchmarkAdd adds 1,000,000 file keys of which 90% are duplicates: 100,000
// unique URLs over 3 zones, each added 10 times, interleaved. One op is the
// whole million into a fresh Batcher; ns/key and allocs/key are per key.
// keys/add=1 is one message per key (1,000,000 handles held at once, far
// more than max_ack_pending allows); keys/add=10 sends ten URLs a message.
func BenchmarkAdd(b *testing.B) {
	const (
		keys   = 1_000_000
		unique = 100_000
	)
	zones := []string{zoneA, zoneB, "c0000000000000000000000000000000"}
	urls := make([]intent.Key, unique)
	for i := range urls {
		urls[i] = file(fmt.Sprintf("https://www.example.com/section-%d/page-%d.html?v=%d", i%97, i, i%7))
	}
	for _, perAdd := range []int{1, 10} {
		// msgs[j] is the j-th distinct message: perAdd URLs, one part per
		// zone (URL i lives in zone i%3).
		msgs := make([][]intent.Part, unique/perAdd)
		for j := range msgs {
			byZone := make([][]intent.Key, len(zones))
			for t := range perAdd {
				u := j*perAdd + t
				byZone[u%len(zones)] = append(byZone[u%len(zones)], urls[u])
			}
			for z, ks := range byZone {
				if len(ks) > 0 {
					msgs[j] = append(msgs[j], part(zones[z], ks...))
				}
			}
		}
		b.Run(fmt.Sprintf("keys/add=%d", perAdd), func(b *testing.B) {
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				bt := New(Config{Window: time.Second})
				for i := range keys / perAdd {
					bt.Add(Handle(i+1), uint64(i+1), t0.Add(time.Duration(i)), msgs[i%len(msgs)])
				}
				if s := bt.Stats(); s.PendingKeys != unique || s.Duplicates != keys-unique {
					b.Fatalf("Stats = %+v", s)
				}
			}
			runtime.ReadMemStats(&ms1)
			n := float64(b.N) * keys
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/key")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/key")
		})
	}
}

// BenchmarkAddRemembered adds 1,000,000 one-URL messages whose URL a call
// with a horizon above them already purged: a backlog's later slices, which
// are settled by Add alone. ns/key and allocs/key are per message.
func BenchmarkAddRemembered(b *testing.B) {
	const (
		keys   = 1_000_000
		unique = 10_000
	)
	urls := make([][]intent.Part, unique)
	bt := New(Config{Window: time.Second, RememberKeys: unique})
	for i := range urls {
		urls[i] = []intent.Part{part(zoneA, file(fmt.Sprintf("https://www.example.com/section-%d/page-%d.html", i%97, i)))}
		bt.Add(Handle(i+1), uint64(i+1), t0, urls[i])
	}
	bt.Stored(keys * 1000)
	for {
		c, ok := bt.Next(t0, Filter{Flex: true, Files: true, Force: true})
		if !ok {
			break
		}
		bt.Succeed(c.ID, t0)
	}
	seq := uint64(unique)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		for i := range keys {
			seq++
			if bt.Add(Handle(seq), seq, t0, urls[i%unique]) {
				b.Fatal("a remembered key was held")
			}
		}
	}
	runtime.ReadMemStats(&ms1)
	n := float64(b.N) * keys
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/key")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/key")
}
