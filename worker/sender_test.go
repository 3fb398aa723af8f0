package worker

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/intent"
)

// An idle worker sends a lone intent's call exactly one window after it
// arrived, and acks it then.
func TestLoneIntentGoesWhenItsWindowEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		start := time.Now()
		m := u.add(urls("example.com", "/a"))
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls before the window ended", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 1 || !calls[0].at.Equal(start.Add(time.Second)) {
			t.Fatalf("calls = %+v, want one at start+1s", calls)
		}
		if acks, _, _ := m.settled(); acks != 1 {
			t.Fatalf("acks = %d, want 1", acks)
		}
	})
}

// A full chunk waits for the window like the rest; then both chunks go.
func TestFullChunkWaitsForTheWindowToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), time.Second)
		defer u.stop()
		start := time.Now()
		paths := numbered("/p/", 130)
		u.add(urls("example.com", paths[:100]...))
		rest := u.add(urls("example.com", paths[100:]...))
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 0 {
			t.Fatalf("%d calls before the window ended", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 2 || len(calls[0].req.Files) != 100 || len(calls[1].req.Files) != 30 ||
			!calls[1].at.Equal(start.Add(time.Second)) {
			t.Fatalf("want calls of 100 and 30 at the window, got %d calls", len(calls))
		}
		if acks, _, _ := rest.settled(); acks != 1 {
			t.Fatal("second intent not acked")
		}
	})
}

// A 429 pauses the account for exactly the Retry-After Cloudflare gave,
// counts nothing as failed, and the keys go again after it.
func TestRateLimitWaitsAsTold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		u.p.respond = func(n int, _ cfclient.Request) error {
			if n == 0 {
				return &cfclient.Error{Kind: cfclient.KindRateLimited, Status: 429, RetryAfter: 7 * time.Second}
			}
			return nil
		}
		m := u.add(urls("example.com", "/a"))
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 2 {
			t.Fatalf("%d calls, want 2", len(calls))
		}
		if gap := calls[1].at.Sub(calls[0].at); gap != 7*time.Second {
			t.Errorf("second call %s after the 429, want 7s", gap)
		}
		if acks, naks, terms := m.settled(); acks != 1 || naks != 0 || terms != 0 {
			t.Errorf("settled acks=%d naks=%d terms=%d, want one ack", acks, naks, terms)
		}
	})
}

// A 429 without a hint waits one refill of the bucket that refused: 12s for
// a flex call on the free plan.
func TestRateLimitWithoutHintWaitsOneRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "free"), 100*time.Millisecond)
		defer u.stop()
		u.p.respond = func(n int, _ cfclient.Request) error {
			if n == 0 {
				return &cfclient.Error{Kind: cfclient.KindRateLimited, Status: 429}
			}
			return nil
		}
		u.add(&intent.Intent{Zone: "example.com", Tags: []string{"a"}})
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 2 {
			t.Fatalf("%d calls, want 2", len(calls))
		}
		if gap := calls[1].at.Sub(calls[0].at); gap < 12*time.Second {
			t.Errorf("second call %s after the 429, want at least 12s", gap)
		}
	})
}

// 5xx and network errors back off exponentially with jitter; the message is
// held (not nak'ed) meanwhile and acked once a call succeeds.
func TestServerErrorsBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		u.p.respond = func(n int, _ cfclient.Request) error {
			switch n {
			case 0, 1, 2:
				return &cfclient.Error{Kind: cfclient.KindServer, Status: 502}
			case 3:
				return &cfclient.Error{Kind: cfclient.KindNetwork}
			}
			return nil
		}
		m := u.add(urls("example.com", "/a"))
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 5 {
			t.Fatalf("%d calls, want 5", len(calls))
		}
		// Backoff starts at 500ms, doubles, with ±50% jitter.
		for i := 1; i < len(calls); i++ {
			base := 500 * time.Millisecond << (i - 1)
			gap := calls[i].at.Sub(calls[i-1].at)
			if gap < base/2 || gap > base*3/2+time.Millisecond {
				t.Errorf("gap %d = %s, want within [%s, %s]", i, gap, base/2, base*3/2)
			}
		}
		if acks, naks, _ := m.settled(); acks != 1 || naks != 0 {
			t.Errorf("acks=%d naks=%d, want one ack and no nak", acks, naks)
		}
	})
}

// A refused token pauses the account, reports it, naks its messages with
// the retry delay and dead-letters nothing; the next success clears it.
func TestAuthFailurePausesAndNaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		fail := true
		u.p.respond = func(int, cfclient.Request) error {
			if fail {
				return &cfclient.Error{Kind: cfclient.KindAuth, Status: 403}
			}
			return nil
		}
		m := u.add(urls("example.com", "/a"))
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		_, naks, terms := m.settled()
		if naks != 1 || terms != 0 || m.nakDelay != 30*time.Second {
			t.Fatalf("naks=%d terms=%d delay=%s, want one nak with 30s delay", naks, terms, m.nakDelay)
		}
		if err := u.w.Ready(); err == nil || !strings.Contains(err.Error(), "acct") {
			t.Fatalf("Ready() = %v, want an error naming the account", err)
		}
		// The redelivered message comes back; the token has been fixed.
		fail = false
		time.Sleep(30 * time.Second)
		m2 := u.add(urls("example.com", "/a"))
		time.Sleep(time.Second)
		synctest.Wait()
		if acks, _, _ := m2.settled(); acks != 1 {
			t.Fatal("redelivered message not acked after the token was fixed")
		}
		if err := u.w.Ready(); err != nil {
			t.Fatalf("Ready() = %v after success", err)
		}
		if len(u.dlq.msgs) != 0 {
			t.Fatal("dead-lettered for an auth failure")
		}
	})
}

// While the account has no flex token, tag intents keep accumulating, so the
// call made when a token returns carries all of them.
func TestNoTokenMeansFullerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := planLimits(t, "free") // 5/min: one token every 12s
		l.FlexBurst = 1
		u := newUnit(t, l, 100*time.Millisecond)
		defer u.stop()
		u.add(&intent.Intent{Zone: "example.com", Tags: []string{"t0"}})
		time.Sleep(time.Second)
		synctest.Wait()
		var msgs []*fakeMsg
		for i := 1; i <= 5; i++ {
			msgs = append(msgs, u.add(&intent.Intent{Zone: "example.com", Tags: []string{fmt.Sprintf("t%d", i)}}))
			time.Sleep(time.Second)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 2 || len(calls[1].req.Tags) != 5 {
			t.Fatalf("calls = %d (second with %d tags), want 2 with all 5 tags in the second", len(calls), len(calls[len(calls)-1].req.Tags))
		}
		if gap := calls[1].at.Sub(calls[0].at); gap < 12*time.Second {
			t.Errorf("second flex call %s after the first, want at least the 12s refill", gap)
		}
		for i, m := range msgs {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Errorf("tag intent %d not acked", i+1)
			}
		}
	})
}

// One key Cloudflare refuses inside a chunk: bisection isolates it, its
// intent is dead-lettered with the reason, the others are purged and acked.
func TestBisectionIsolatesBadKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		bad := "https://www.example.com/bad"
		u.p.respond = func(_ int, req cfclient.Request) error { return refusedFor(req, bad) }
		var msgs []*fakeMsg
		for i := range 16 {
			path := fmt.Sprintf("/ok/%d", i)
			if i == 5 {
				path = "/bad"
			}
			msgs = append(msgs, u.add(urls("example.com", path)))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for i, m := range msgs {
			acks, _, terms := m.settled()
			switch {
			case i == 5 && (terms != 1 || acks != 0):
				t.Errorf("bad intent: acks=%d terms=%d, want dead-lettered", acks, terms)
			case i != 5 && (acks != 1 || terms != 0):
				t.Errorf("intent %d: acks=%d terms=%d, want acked", i, acks, terms)
			}
		}
		if len(u.dlq.msgs) != 1 || !strings.Contains(u.dlq.msgs[0].Header.Get(HeaderError), bad) {
			t.Fatalf("dead letters = %d, want one naming %s", len(u.dlq.msgs), bad)
		}
		// 1 chunk + halves down to one key: 1 + 2*log2(16) calls.
		if n := len(u.p.snapshot()); n > 9 {
			t.Errorf("%d calls to isolate one key among 16, want at most 9", n)
		}
	})
}

// A part of a chunk being bisected that Cloudflare refuses for holding too
// many keys lowers the maximum for the zone and type, as a refused chunk
// does: the keys go back and leave in chunks of the stated size, and the
// bad key is still isolated.
func TestTooManyDuringBisectionLowersTheMaximum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		bad := "https://www.example.com/bad"
		first := true
		u.p.respond = func(_ int, req cfclient.Request) error {
			if first {
				// The whole chunk: refused for its bad key.
				first = false
				return refusedFor(req, bad)
			}
			if len(req.Files) > 30 {
				return &cfclient.Error{Kind: cfclient.KindTooManyKeys, Status: 400, MaxKeys: 30,
					Codes: []cfclient.Code{{Code: 1094, Message: "Exceeded maximum amount of 30 files per request"}}}
			}
			return refusedFor(req, bad)
		}
		var msgs []*fakeMsg
		for i := range 100 {
			path := fmt.Sprintf("/ok/%d", i)
			if i == 7 {
				path = "/bad"
			}
			msgs = append(msgs, u.add(urls("example.com", path)))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		for i, m := range msgs {
			acks, _, terms := m.settled()
			switch {
			case i == 7 && (terms != 1 || acks != 0):
				t.Errorf("bad intent: acks=%d terms=%d, want dead-lettered", acks, terms)
			case i != 7 && (acks != 1 || terms != 0):
				t.Errorf("intent %d: acks=%d terms=%d, want acked", i, acks, terms)
			}
		}
		calls := u.p.snapshot()
		refused := 0
		for i, c := range calls {
			if len(c.req.Files) > 30 {
				refused++
				if i > 2 {
					t.Errorf("call %d carries %d URLs after the maximum of 30 was stated", i, len(c.req.Files))
				}
			}
		}
		// The chunk of 100 and its two halves of 50.
		if refused != 3 {
			t.Errorf("%d calls over 30 URLs, want 3 (the chunk and its halves)", refused)
		}
	})
}

// A key arriving while a call covering it is in flight waits for the next
// call; the in-flight call's success does not ack it.
func TestKeyArrivingDuringFlightGetsNextCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		release := make(chan struct{})
		u.p.respond = func(n int, _ cfclient.Request) error {
			if n == 0 {
				<-release
			}
			return nil
		}
		first := u.add(urls("example.com", "/hot"))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait() // the first call is in flight, blocked
		second := u.add(urls("example.com", "/hot"))
		close(release)
		synctest.Wait()
		if acks, _, _ := second.settled(); acks != 0 {
			t.Fatal("second intent acked by a call issued before it arrived")
		}
		if acks, _, _ := first.settled(); acks != 1 {
			t.Fatal("first intent not acked")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(u.p.snapshot()); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
		if acks, _, _ := second.settled(); acks != 1 {
			t.Fatal("second intent not acked after its own call")
		}
	})
}

// Calls that fail together (they were in flight when the first failure
// paused the account) count as one failure: the backoff grows once, not
// once per call.
func TestConcurrentFailuresBackOffOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		all3 := make(chan struct{})
		u.p.respond = func(n int, _ cfclient.Request) error {
			if n < 3 {
				// Hold the first three calls until all are in flight,
				// so that no failure lands before the last one left.
				if n == 2 {
					close(all3)
				}
				<-all3
				return &cfclient.Error{Kind: cfclient.KindServer, Status: 503}
			}
			return nil
		}
		for _, z := range testZones {
			u.add(urls(z.Name, "/a"))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := u.p.snapshot()
		if len(calls) != 6 {
			t.Fatalf("%d calls, want 3 failed and 3 retried", len(calls))
		}
		if !calls[0].at.Equal(calls[2].at) {
			t.Fatalf("the three first calls were not in flight together")
		}
		// One step of backoff: 500ms ±50%.
		if gap := calls[3].at.Sub(calls[0].at); gap < 250*time.Millisecond || gap > 750*time.Millisecond {
			t.Errorf("retry %s after the failures, want one backoff step (250ms-750ms)", gap)
		}
	})
}

// "429: wait as told", also for a bisection: when another call gets a 429
// while a bisection step waits for a flex token, the step's call waits for
// the pause to end rather than going as soon as the token arrives.
func TestBisectionWaitsOutA429ThatArrivesWhileItWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := planLimits(t, "free") // flex: one token every ~12s
		l.FlexBurst = 1
		u := newUnit(t, l, 100*time.Millisecond)
		defer u.stop()

		const retryAfter = 60 * time.Second
		var mu sync.Mutex
		var limitedAt time.Time
		filesCalls := 0
		u.p.respond = func(_ int, req cfclient.Request) error {
			if len(req.Files) > 0 {
				mu.Lock()
				filesCalls++
				first := filesCalls == 1
				mu.Unlock()
				if !first {
					return nil
				}
				time.Sleep(time.Second) // Cloudflare answers after 1s
				mu.Lock()
				limitedAt = time.Now()
				mu.Unlock()
				return &cfclient.Error{Kind: cfclient.KindRateLimited, Status: 429, RetryAfter: retryAfter}
			}
			for _, tag := range req.Tags {
				if tag == "bad" {
					return &cfclient.Error{Kind: cfclient.KindClient, Status: 400,
						Codes: []cfclient.Code{{Code: 1015, Message: "bad tag"}}}
				}
			}
			return nil
		}
		u.addQuiet(&intent.Intent{Zone: "example.com", Tags: []string{"good", "bad"}})
		u.addQuiet(urls("example.com", "/a"))
		u.w.wakeAll()

		time.Sleep(3 * time.Minute)
		synctest.Wait()

		mu.Lock()
		at := limitedAt
		mu.Unlock()
		if at.IsZero() {
			t.Fatal("the files call was never rate-limited: the test proves nothing")
		}
		until := at.Add(retryAfter)
		for _, c := range u.p.snapshot() {
			if c.at.After(at) && c.at.Before(until) {
				t.Errorf("call (%s) issued %s after a 429 that asked to wait %s",
					c.req.Type(), c.at.Sub(at), retryAfter)
			}
		}
	})
}

// A call issued before Cloudflare refused the account's token, whose
// success arrives after the refusal, says nothing about the token now: the
// account stays reported (Ready, account_auth_failed) while it is paused
// and its messages are nak'ed.
func TestSuccessIssuedBeforeAnAuthRefusalKeepsTheAccountReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
		defer u.stop()
		release := make(chan struct{})
		u.p.respond = func(_ int, req cfclient.Request) error {
			if len(req.Files) > 0 {
				<-release // issued before the refusal, answered after it
				return nil
			}
			return &cfclient.Error{Kind: cfclient.KindAuth, Status: 403,
				Codes: []cfclient.Code{{Code: 10000, Message: "Authentication error"}}}
		}
		u.addQuiet(urls("example.com", "/a"))
		u.addQuiet(&intent.Intent{Zone: "example.com", Tags: []string{"t"}})
		u.w.wakeAll()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if err := u.w.Ready(); err == nil {
			t.Fatal("Ready() = nil right after a 403: the test proves nothing")
		}
		close(release)
		synctest.Wait()
		if d := u.w.accounts[0].pausedFor(time.Now()); d <= 0 {
			t.Fatal("account not paused: the test proves nothing")
		}
		if err := u.w.Ready(); err == nil || !strings.Contains(err.Error(), "acct") {
			t.Errorf("Ready() = %v while the account is paused for a refused token; "+
				"a success of a call issued before the refusal cleared it", err)
		}
	})
}

// refusedFor is Cloudflare's 400 for a files request that holds url, or nil.
func refusedFor(req cfclient.Request, url string) error {
	for _, f := range req.Files {
		if f.URL == url {
			return &cfclient.Error{Kind: cfclient.KindClient, Status: 400,
				Codes: []cfclient.Code{{Code: 1015, Message: "Unable to purge " + url}}}
		}
	}
	return nil
}
