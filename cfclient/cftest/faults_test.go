package cftest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		status int
		kind   cfclient.Kind
		codes  []int
		retry  time.Duration
	}{
		{500, cfclient.KindServer, nil, 0},
		{503, cfclient.KindServer, nil, 0},
		{429, cfclient.KindRateLimited, []int{1134}, time.Second},
		{403, cfclient.KindAuth, []int{10000}, 0},
		{400, cfclient.KindClient, []int{1016}, 0},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			f := newFixture(t)
			f.srv.FailNext(2, tt.status)
			for range 2 {
				e := asError(t, f.purge(t, zoneA, tagReq("a")))
				var codes []int
				for _, c := range e.Codes {
					codes = append(codes, c.Code)
				}
				if e.Kind != tt.kind || e.Status != tt.status || !slices.Equal(codes, tt.codes) || e.RetryAfter != tt.retry {
					t.Errorf("err = %v, want %v %d %v retry %v", e, tt.kind, tt.status, tt.codes, tt.retry)
				}
			}
			if err := f.purge(t, zoneA, tagReq("a")); err != nil {
				t.Errorf("third call: %v", err)
			}
			calls := f.srv.Calls()
			if len(calls) != 3 || calls[0].Outcome != "injected" || calls[1].Outcome != "injected" || calls[2].Outcome != "ok" {
				t.Errorf("calls = %+v", calls)
			}
		})
	}
}

// TestFailNextPrecedesChecks: an injected answer does not look at the
// call, so even a bad token gets it.
func TestFailNextPrecedesChecks(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(1, 502)
	bad := cfclient.New(f.srv.URL, cfclient.Auth{Token: "wrong"}, nil)
	if _, err := bad.Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a")); kindOf(err) != cfclient.KindServer {
		t.Errorf("err = %v, want server", err)
	}
	f.srv.FailNext(5, 500)
	f.srv.FailNext(0, 500)
	if err := f.purge(t, zoneA, tagReq("a")); err != nil {
		t.Errorf("after FailNext(0): %v", err)
	}
}

// outcomeSequence runs n calls against a fresh server with the given seed
// and FailRatio, returning which were injected.
func outcomeSequence(t *testing.T, seed int64, n int) []bool {
	f := newFixture(t, cftest.WithSeed(seed), cftest.WithUnlimited())
	f.srv.FailRatio(0.5, 503)
	out := make([]bool, n)
	for i := range out {
		err := f.purge(t, zoneA, tagReq("a"))
		out[i] = err != nil
		if err != nil && kindOf(err) != cfclient.KindServer {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return out
}

func TestFailRatioDeterministic(t *testing.T) {
	a, b, c := outcomeSequence(t, 7, 64), outcomeSequence(t, 7, 64), outcomeSequence(t, 8, 64)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different sequences:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same sequence %v", a)
	}
	failed := 0
	for _, x := range a {
		if x {
			failed++
		}
	}
	if failed == 0 || failed == len(a) {
		t.Errorf("ratio 0.5 failed %d of %d", failed, len(a))
	}

	f := newFixture(t)
	f.srv.FailRatio(1, 500)
	if err := f.purge(t, zoneA, tagReq("a")); kindOf(err) != cfclient.KindServer {
		t.Errorf("ratio 1: %v", err)
	}
	f.srv.FailRatio(0, 500)
	if err := f.purge(t, zoneA, tagReq("a")); err != nil {
		t.Errorf("ratio 0: %v", err)
	}
}

func TestResetNext(t *testing.T) {
	f := newFixture(t)
	f.srv.ResetNext(1)
	e := asError(t, f.purge(t, zoneA, tagReq("a")))
	if e.Kind != cfclient.KindNetwork || e.Status != 0 {
		t.Errorf("err = %v, want network", e)
	}
	if err := f.purge(t, zoneA, tagReq("a")); err != nil {
		t.Errorf("after reset: %v", err)
	}
	calls := f.srv.Calls()
	if len(calls) != 2 || calls[0].Outcome != "reset" || calls[0].Status != 0 || calls[0].Kind != "tags" || calls[1].Outcome != "ok" {
		t.Errorf("calls = %+v", calls)
	}
}

// TestLatencyTimeout: the client gives up during the delay; the call is
// recorded as canceled and nothing was purged.
func TestLatencyTimeout(t *testing.T) {
	recorded := make(chan cftest.Call, 4)
	f := newFixture(t, cftest.WithObserver(func(c cftest.Call) { recorded <- c }))
	f.srv.SetLatency(time.Hour)
	hc := &http.Client{Timeout: 50 * time.Millisecond}
	c := cfclient.New(f.srv.URL, cfclient.Auth{Token: tokenA}, hc)
	_, err := c.Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a"))
	if kindOf(err) != cfclient.KindNetwork {
		t.Fatalf("err = %v, want network (timeout)", err)
	}
	select {
	case call := <-recorded:
		if call.Outcome != "canceled" || call.Status != 0 {
			t.Errorf("call = %+v, want canceled", call)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("the server never recorded the abandoned call")
	}
	if len(f.srv.Accepted()) != 0 {
		t.Error("an abandoned call was accepted")
	}
	f.srv.SetLatency(0)
	if _, err := f.c.Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a")); err != nil {
		t.Errorf("after SetLatency(0): %v", err)
	}
}

// TestCloseEndsLatency: Close does not wait out a pending delay.
func TestCloseEndsLatency(t *testing.T) {
	recorded := make(chan cftest.Call, 1)
	// The server reads its clock when a request arrives, before the delay:
	// the first read tells the test the call is in flight.
	arrived := make(chan struct{})
	var once sync.Once
	now := func() time.Time {
		once.Do(func() { close(arrived) })
		return time.Now()
	}
	srv := cftest.NewServer(cftest.WithClock(now), cftest.WithObserver(func(c cftest.Call) { recorded <- c }))
	acct := srv.AddAccount("a", "pro", "tok")
	srv.AddZone(zoneA, "example.com", acct)
	srv.SetLatency(time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := cfclient.New(srv.URL, cfclient.Auth{Token: "tok"}, nil).Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a"))
		done <- err
	}()
	<-arrived
	srv.Close()
	if call := <-recorded; call.Outcome != "canceled" {
		t.Errorf("call = %+v, want canceled", call)
	}
	if err := <-done; kindOf(err) != cfclient.KindNetwork {
		t.Errorf("err = %v, want network", err)
	}
	srv.Close() // idempotent
}

func TestRejectKeysRefusesWholeRequest(t *testing.T) {
	s := cftest.NewServer()
	defer s.Close()
	a := s.AddAccount("a", "pro", "tok")
	s.AddZone("023e105f4ecef8ad9ca31a8372d0c353", "example.com", a)
	c := cfclient.New(s.URL, cfclient.Auth{Token: "tok"}, nil)
	bad := "https://www.example.com/bad"
	s.RejectKeys(bad)
	_, err := c.Purge(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", cfclient.ModePurge,
		cfclient.Request{Files: []cfclient.File{{URL: "https://www.example.com/good"}, {URL: bad}}})
	var e *cfclient.Error
	if !errors.As(err, &e) || e.Kind != cfclient.KindClient || e.Status != 400 || !e.HasCode(cfclient.CodeUnableToPurge) {
		t.Fatalf("err = %v, want a 400 client error with code 1015", err)
	}
	if _, err := c.Purge(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", cfclient.ModePurge,
		cfclient.Request{Files: []cfclient.File{{URL: "https://www.example.com/good"}}}); err != nil {
		t.Fatalf("request without the rejected key: %v", err)
	}
	if s.InFlight() != 0 {
		t.Fatalf("InFlight = %d after all calls returned", s.InFlight())
	}
}
