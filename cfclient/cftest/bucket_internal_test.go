package cftest

import (
	"testing"
	"time"
)

// TestBucketScript runs timestamped steps, in the style of x/time/rate's
// tests.
func TestBucketScript(t *testing.T) {
	t0 := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	b := newBucket(5.0/60, 2) // 1 token per 12s, burst 2
	steps := []struct {
		at   time.Time
		n    float64
		ok   bool
		wait time.Duration
	}{
		{at(0), 1, true, 0},
		{at(0), 1, true, 0},
		{at(0), 1, false, 12 * time.Second},
		{at(6 * time.Second), 1, false, 6 * time.Second},
		{at(12 * time.Second), 1, true, 0},
		{at(12 * time.Second), 3, false, 36 * time.Second}, // more than the capacity: never, but no panic
		{at(-time.Hour), 1, false, 12 * time.Second},       // a clock going back refills nothing
		{at(time.Hour), 2, true, 0},                        // full again, not fuller
		{at(time.Hour), 1, false, 12 * time.Second},
	}
	for i, s := range steps {
		wait, ok := b.take(s.at, s.n)
		if ok != s.ok || (!ok && (wait-s.wait).Abs() > time.Millisecond) {
			t.Errorf("step %d: take(%v, %v) = %v, %v; want %v, %v", i, s.at.Sub(t0), s.n, wait, ok, s.wait, s.ok)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + time.Millisecond, 2},
		{12*time.Second + 2, 12}, // float noise below a microsecond does not round up
		{125 * time.Millisecond, 1}, {59900 * time.Millisecond, 60},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
