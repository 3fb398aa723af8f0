package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually and WaitFor look again.
const pollEvery = 20 * time.Millisecond

// Eventually polls cond until it holds, and fails the test, saying what it
// waited for, if timeout passes first. It waits for an outcome; it never
// asserts how long the outcome took, so timeout should be generous.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !WaitFor(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// WaitFor polls cond until it holds, and reports false if timeout passes
// first, for a caller that goes on to say what is missing.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
