package worker

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

// handlerTransport serves requests with an http.Handler in the caller's
// goroutine: cftest without a socket, so that it runs inside a synctest
// bubble on the bubble's clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// On the Free plan (flex: a burst of 25, then 5 calls a minute), 3,000
// low-priority tags need 30 calls: 25 at once, the other 5 over a minute.
// A high-priority tag published meanwhile goes in the very next call, not
// after the backlog; cftest, enforcing the plan's bucket, never answers 429.
func TestHighPriorityTagOvertakesAFreePlanBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cf := cftest.NewUnstarted(cftest.WithClock(time.Now))
		acct := cf.AddAccount("acct", "free", testToken)
		cf.AddZone(testZones[0].ID, testZones[0].Name, acct)
		purger := cfclient.New("http://cftest.invalid/client/v4", cfclient.Auth{Token: testToken},
			&http.Client{Transport: handlerTransport{cf.Handler()}})
		u := newUnitWith(t, planLimits(t, "free"), time.Second, purger)
		defer u.stop()

		var low []*fakeMsg
		for i := range 30 {
			low = append(low, u.add(&intent.Intent{Zone: "example.com", Priority: "low",
				Tags: numbered(fmt.Sprintf("bulk-%d-", i), 100)}))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(cf.Accepted()); n != 25 {
			t.Fatalf("%d calls accepted after the first second, want the burst of 25", n)
		}
		published := time.Now()
		high := u.add(&intent.Intent{Zone: "example.com", Priority: "high", Tags: []string{"breaking-news"}})
		for i := 0; len(cf.Accepted()) == 25; i++ {
			if i == 60 {
				t.Fatal("no 26th call within a minute")
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		next := cf.Accepted()[25]
		if !slices.Contains(next.Keys, "breaking-news") {
			t.Fatalf("the call after the burst (at +%s) holds %v..., not the high-priority tag", next.At.Sub(published), next.Keys[:3])
		}
		if acks, _, _ := high.settled(); acks != 1 {
			t.Errorf("high-priority intent acked %d times after its call, want 1", acks)
		}
		if wait := next.At.Sub(published); wait > 13*time.Second {
			t.Errorf("high-priority tag went after %s, want the next token (about 12s)", wait)
		}

		// The backlog still drains, at the plan's rate.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		calls := cf.Calls()
		if n := len(cf.Accepted()); n != 31 || len(calls) != 31 {
			t.Fatalf("%d calls accepted of %d, want all 31 (3,001 tags) accepted, none refused", n, len(calls))
		}
		for i, m := range low {
			if acks, _, _ := m.settled(); acks != 1 {
				t.Errorf("low intent %d acked %d times", i, acks)
			}
		}
	})
}
