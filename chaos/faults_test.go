package chaos

import (
	"maps"
	"math/rand/v2"
	"sync"
	"time"
)

// faultInjector changes the fake Cloudflare's faults at random moments
// while it runs: windows of 5xx answers to a share of calls, single 429s
// with Retry-After, latency spikes, and connection resets.
type faultInjector struct {
	cf      *fakeCF
	rng     *rand.Rand
	stopped chan struct{}
	once    sync.Once
	done    chan struct{}

	mu        sync.Mutex
	counts    map[string]int // by kind, what was set (not what calls hit)
	holdUntil time.Time      // a forced latency (hold) runs until then
}

func startFaults(cf *fakeCF, seed uint64) *faultInjector {
	f := &faultInjector{
		cf: cf, rng: rand.New(rand.NewPCG(seed, 0xfa017)),
		stopped: make(chan struct{}), done: make(chan struct{}), counts: map[string]int{},
	}
	go f.run()
	return f
}

// stop ends the injection and turns every fault off. It may be called
// again.
func (f *faultInjector) stop() {
	f.once.Do(func() { close(f.stopped) })
	<-f.done
	f.cf.clearFaults()
}

func (f *faultInjector) count(kind string) {
	f.mu.Lock()
	f.counts[kind]++
	f.mu.Unlock()
}

// hold makes every answer take d for the next dur, whatever the random
// faults do meanwhile.
func (f *faultInjector) hold(d, dur time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holdUntil = time.Now().Add(dur)
	f.cf.SetLatency(d)
	f.counts["long latency hold"]++
}

func (f *faultInjector) holding(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.holdUntil)
}

func (f *faultInjector) set() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

func (f *faultInjector) run() {
	defer close(f.done)
	var ratioEnds, latencyEnds time.Time
	held := false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	next := time.Now()
	for {
		select {
		case <-f.stopped:
			return
		case now := <-tick.C:
			if !ratioEnds.IsZero() && now.After(ratioEnds) {
				f.cf.FailRatio(0, 500)
				ratioEnds = time.Time{}
			}
			switch h := f.holding(now); {
			case h:
				held, latencyEnds = true, time.Time{}
			case held:
				held = false
				f.cf.SetLatency(0)
			case !latencyEnds.IsZero() && now.After(latencyEnds):
				f.cf.SetLatency(0)
				latencyEnds = time.Time{}
			}
			if now.Before(next) {
				continue
			}
			next = now.Add(time.Duration(500+f.rng.IntN(2500)) * time.Millisecond)
			switch r := f.rng.IntN(10); {
			case r < 3 && ratioEnds.IsZero():
				status := []int{500, 502, 503, 504}[f.rng.IntN(4)]
				f.cf.FailRatio(0.2+0.4*f.rng.Float64(), status)
				ratioEnds = now.Add(time.Duration(1+f.rng.IntN(5)) * time.Second)
				f.count("5xx window")
			case r < 5:
				f.cf.FailNext(1+f.rng.IntN(3), 429)
				f.count("429 burst")
			case r < 7 && latencyEnds.IsZero() && !held:
				f.cf.SetLatency(time.Duration(300+f.rng.IntN(1700)) * time.Millisecond)
				latencyEnds = now.Add(time.Duration(1+f.rng.IntN(3)) * time.Second)
				f.count("latency spike")
			case r < 9:
				f.cf.ResetNext(1 + f.rng.IntN(3))
				f.count("reset burst")
			}
		}
	}
}
