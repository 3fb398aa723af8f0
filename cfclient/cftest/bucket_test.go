package cftest_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

func tagReq(tags ...string) cfclient.Request { return cfclient.Request{Tags: tags} }

// wantRateLimited checks a 429 / 1134 with the given Retry-After.
func wantRateLimited(t *testing.T, err error, retryAfter time.Duration) {
	t.Helper()
	e := asError(t, err)
	if e.Kind != cfclient.KindRateLimited || e.Status != 429 || !e.HasCode(cfclient.CodeRateLimited) || e.RetryAfter != retryAfter {
		t.Fatalf("err = %v, want rate_limited 429 1134, retry after %v", e, retryAfter)
	}
}

// TestFlexBucket drains the free plan's flex bucket (25, refilled at 5 a
// minute) and watches it refill on the fake clock.
func TestFlexBucket(t *testing.T) {
	f := newFixture(t)
	for i := range 25 {
		if err := f.purge(t, zoneA, tagReq("t"+strconv.Itoa(i))); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wantRateLimited(t, f.purge(t, zoneA, tagReq("x")), 12*time.Second)
	f.clock.Advance(11 * time.Second)
	wantRateLimited(t, f.purge(t, zoneA, tagReq("x")), time.Second)
	f.clock.Advance(time.Second)
	if err := f.purge(t, zoneA, tagReq("x")); err != nil {
		t.Fatalf("after one refill period: %v", err)
	}
	wantRateLimited(t, f.purge(t, zoneA, tagReq("y")), 12*time.Second)

	// After a long idle time the bucket is full again, but not fuller.
	f.clock.Advance(time.Hour)
	for i := range 25 {
		if err := f.purge(t, zoneA, tagReq("z"+strconv.Itoa(i))); err != nil {
			t.Fatalf("refilled call %d: %v", i, err)
		}
	}
	wantRateLimited(t, f.purge(t, zoneA, tagReq("z")), 12*time.Second)
}

// TestFlexBucketShared: every flex type, both endpoints and all zones of
// an account draw from one bucket; other accounts are independent.
func TestFlexBucketShared(t *testing.T) {
	f := newFixture(t)
	reqs := []struct {
		zone string
		mode cfclient.Mode
		req  cfclient.Request
	}{
		{zoneA, cfclient.ModePurge, tagReq("a")},
		{zoneB, cfclient.ModeInvalidate, cfclient.Request{Hosts: []string{"www.example.org"}}},
		{zoneA, cfclient.ModeInvalidate, cfclient.Request{Prefixes: []string{"example.com/x"}}},
		{zoneB, cfclient.ModePurge, cfclient.Request{Everything: true}},
	}
	for i := range 25 {
		r := reqs[i%len(reqs)]
		if _, err := f.c.Purge(context.Background(), r.zone, r.mode, r.req); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for _, r := range reqs {
		_, err := f.c.Purge(context.Background(), r.zone, r.mode, r.req)
		wantRateLimited(t, err, 12*time.Second)
	}
	// Files use the URL bucket, not the flex one.
	if err := f.purge(t, zoneA, cfclient.Request{Files: urls(10, "example.com")}); err != nil {
		t.Errorf("files while flex is empty: %v", err)
	}
	// The other account (pro) is untouched.
	other := cfclient.New(f.srv.URL, cfclient.Auth{Token: tokenC}, nil)
	if _, err := other.Purge(context.Background(), zoneC, cfclient.ModePurge, tagReq("a")); err != nil {
		t.Errorf("other account: %v", err)
	}
}

// TestURLBucket: the free plan allows 800 URLs a second, counted per URL.
func TestURLBucket(t *testing.T) {
	f := newFixture(t)
	for i := range 8 {
		if err := f.purge(t, zoneA, cfclient.Request{Files: urls(100, "www.example.com")}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wantRateLimited(t, f.purge(t, zoneA, cfclient.Request{Files: urls(1, "www.example.com")}), time.Second)
	// 100 URLs refill in 125ms.
	f.clock.Advance(124 * time.Millisecond)
	wantRateLimited(t, f.purge(t, zoneA, cfclient.Request{Files: urls(100, "www.example.com")}), time.Second)
	f.clock.Advance(time.Millisecond)
	if err := f.purge(t, zoneA, cfclient.Request{Files: urls(100, "www.example.com")}); err != nil {
		t.Fatalf("after 125ms: %v", err)
	}
	// Invalidate shares the bucket.
	_, err := f.c.Purge(context.Background(), zoneB, cfclient.ModeInvalidate, cfclient.Request{Files: urls(1, "example.org")})
	wantRateLimited(t, err, time.Second)
}

// TestURLBucketCapacity: a limit below one request's worth still lets a
// full request through once the bucket is full.
func TestURLBucketCapacity(t *testing.T) {
	f := newFixture(t)
	f.main.SetLimits(cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 1, FlexBurst: 1, URLsPerSecond: 10})
	if err := f.purge(t, zoneA, cfclient.Request{Files: urls(100, "example.com")}); err != nil {
		t.Fatalf("full request on a full bucket: %v", err)
	}
	wantRateLimited(t, f.purge(t, zoneA, cfclient.Request{Files: urls(100, "example.com")}), 10*time.Second)
}

// TestRefusedCallsTakeNoTokens: auth failures, invalid bodies, too-many
// refusals and injected faults leave the bucket alone.
func TestRefusedCallsTakeNoTokens(t *testing.T) {
	f := newFixture(t)
	f.main.SetLimits(cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 2, FlexPerSecond: 1.0 / 60, FlexBurst: 1, URLsPerSecond: 800})
	bad := cfclient.New(f.srv.URL, cfclient.Auth{Token: "wrong"}, nil)
	for range 3 {
		if _, err := bad.Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a")); kindOf(err) != cfclient.KindAuth {
			t.Fatalf("bad token: %v", err)
		}
		if err := f.purge(t, zoneA, tagReq("two words")); kindOf(err) != cfclient.KindClient {
			t.Fatalf("bad tag: %v", err)
		}
		if err := f.purge(t, zoneA, tagReq("a", "b", "c")); kindOf(err) != cfclient.KindTooManyKeys {
			t.Fatalf("three tags: %v", err)
		}
		f.srv.FailNext(1, 503)
		if err := f.purge(t, zoneA, tagReq("a")); kindOf(err) != cfclient.KindServer {
			t.Fatalf("injected 503: %v", err)
		}
	}
	if err := f.purge(t, zoneA, tagReq("a")); err != nil {
		t.Fatalf("first valid call: %v", err)
	}
	wantRateLimited(t, f.purge(t, zoneA, tagReq("b")), 60*time.Second)
	// A rate-limited call takes nothing either.
	f.clock.Advance(60 * time.Second)
	if err := f.purge(t, zoneA, tagReq("b")); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

// TestBucketConcurrent: with the clock frozen, exactly the burst of
// concurrent flex calls passes.
func TestBucketConcurrent(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Go(func() {
			errs[i] = f.purge(t, []string{zoneA, zoneB}[i%2], tagReq("t"+strconv.Itoa(i)))
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, err := range errs {
		switch kindOf(err) {
		case 0:
			ok++
		case cfclient.KindRateLimited:
			limited++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if ok != 25 || limited != 35 || len(f.srv.Accepted()) != 25 || len(f.srv.Calls()) != 60 {
		t.Errorf("ok %d limited %d accepted %d calls %d, want 25/35/25/60", ok, limited, len(f.srv.Accepted()), len(f.srv.Calls()))
	}
}

func TestUnlimited(t *testing.T) {
	f := newFixture(t, cftest.WithUnlimited())
	for i := range 200 {
		if err := f.purge(t, zoneA, tagReq("t"+strconv.Itoa(i))); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// Per-request maxima still apply.
	if err := f.purge(t, zoneA, cfclient.Request{Files: urls(101, "example.com")}); kindOf(err) != cfclient.KindTooManyKeys {
		t.Errorf("101 files: %v", err)
	}
}

// TestLoweredLimit mimics accounts still capped at 30 URLs per request.
func TestLoweredLimit(t *testing.T) {
	f := newFixture(t)
	l := f.main.Limits()
	l.MaxURLsPerRequest = 30
	f.main.SetLimits(l)
	if err := f.purge(t, zoneA, cfclient.Request{Files: urls(30, "www.example.com")}); err != nil {
		t.Fatalf("30 files: %v", err)
	}
	err := f.purge(t, zoneA, cfclient.Request{Files: urls(31, "www.example.com")})
	e := asError(t, err)
	if e.Kind != cfclient.KindTooManyKeys || e.Status != 400 || !e.HasCode(cfclient.CodeTooManyFiles) {
		t.Fatalf("31 files: %v, want too_many_keys", e)
	}
	// The prefixes refusal carries a code cfclient does not know; it is
	// recognised by its message.
	l.MaxKeysPerRequest = 30
	f.main.SetLimits(l)
	err = f.purge(t, zoneA, cfclient.Request{Prefixes: keys(31, "example.com/p")})
	if e := asError(t, err); e.Kind != cfclient.KindTooManyKeys || !e.HasCode(1122) {
		t.Fatalf("31 prefixes: %v", e)
	}
	for _, req := range []cfclient.Request{{Tags: keys(31, "t")}, {Hosts: hostList(31)}} {
		if err := f.purge(t, zoneA, req); kindOf(err) != cfclient.KindTooManyKeys {
			t.Errorf("31 %s: %v", req.Type(), err)
		}
	}
	if err := f.purge(t, zoneA, cfclient.Request{Tags: keys(30, "t")}); err != nil {
		t.Errorf("30 tags: %v", err)
	}
}

// hostList returns n hosts inside example.com.
func hostList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "h" + strconv.Itoa(i) + ".example.com"
	}
	return out
}
