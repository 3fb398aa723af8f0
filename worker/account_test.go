package worker

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// A pause that begins while a bisecting call waits for a flex token does
// not cost that token: the call goes when the pause ends, with the token
// that had come meanwhile, not one refill later.
func TestPauseWhileWaitingForAFlexTokenKeepsTheToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := planLimits(t, "free") // one flex token every ~12s
		l.FlexBurst = 1
		a := newAccount(Account{Name: "acct", Limits: l}, 1)
		start := time.Now()
		a.mu.Lock()
		took := a.flex.take(start, 1)
		refill := time.Duration(float64(time.Second) / a.flex.rate)
		a.mu.Unlock()
		if !took {
			t.Fatal("a fresh bucket holds no token")
		}

		done := make(chan time.Time, 1)
		go func() {
			if err := a.waitTurn(context.Background(), intent.KindTag, 1); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		// Halfway to the next token, a 429 pauses the account until a
		// little after the token arrives.
		time.Sleep(refill / 2)
		pauseEnd := start.Add(refill + time.Second)
		a.pauseUntil(pauseEnd, "rate_limited")

		got := <-done
		if got.Before(pauseEnd) {
			t.Fatalf("call went %s into the pause", pauseEnd.Sub(got))
		}
		if late := got.Sub(pauseEnd); late > 10*time.Millisecond {
			t.Errorf("call went %s after the pause ended (refill %s): the token that came during the pause was spent on nothing",
				late, refill)
		}
		a.mu.Lock()
		left := a.flex.avail(got)
		a.mu.Unlock()
		if left >= 1 {
			t.Errorf("%.2f flex tokens left after the call; it reserved none", left)
		}
	})
}
