package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startCPUProfile writes a CPU profile to path until the returned func is
// called; with an empty path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// startProfile starts profiling the measured phase; finish or close stops
// it.
func (r *rig) startProfile() error {
	stop, err := startCPUProfile(r.profile)
	if err != nil {
		return err
	}
	r.stopProfile = func() { stop(); r.stopProfile = func() {} }
	return nil
}

// watchStalls measures how late a 5ms ticker fires, until the returned
// func is called, which returns the worst delay. A large value means the
// process was starved of CPU (by the machine's other load, or by a long
// stop-the-world) and the scenario's timings are suspect.
func watchStalls() (stop func() time.Duration) {
	const every = 5 * time.Millisecond
	done := make(chan struct{})
	var wg sync.WaitGroup
	var worst time.Duration
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				worst = max(worst, now.Sub(last)-every)
				last = now
			}
		}
	})
	return func() time.Duration {
		close(done)
		wg.Wait()
		return worst
	}
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// writeHeapProfile writes the heap profile as of the last GC; errors are
// ignored, since it only serves a later look with go tool pprof.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	_ = pprof.Lookup("heap").WriteTo(f, 0)
	_ = f.Close()
}

// heapSample is the runtime metric sampleHeap watches: bytes of live and
// not yet swept heap objects. Reading it does not stop the world.
const heapSample = "/memory/classes/heap/objects:bytes"

// sampleHeap samples the Go heap every 50ms until the returned func is
// called, which returns the largest value seen. With a path, it writes a
// heap profile there each time the heap grows a tenth past the last one
// written, so the file ends up showing the heap near its peak.
func sampleHeap(path string) (stop func() uint64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak, written uint64
	s := []metrics.Sample{{Name: heapSample}}
	read := func() {
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		v := s[0].Value.Uint64()
		peak = max(peak, v)
		if path != "" && v > written+written/10 {
			written = v
			writeHeapProfile(path)
		}
	}
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}
