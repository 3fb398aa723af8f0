package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/callkeys"
	"github.com/purge-worker/purge-worker/status"
	"github.com/purge-worker/purge-worker/worker"
)

const (
	zoneID    = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneToken = "test-token-0123456789"
)

// startWorker runs a worker against e and a cftest fake of Cloudflare on
// plan, until the test ends.
func startWorker(t *testing.T, e *natsEnv, plan string) *cftest.Server {
	t.Helper()
	cf := cftest.NewServer()
	t.Cleanup(cf.Close)
	acct := cf.AddAccount("acct", plan, zoneToken)
	cf.AddZone(zoneID, "example.com", acct)
	limits, _ := cfclient.PlanLimits(plan)
	w, err := worker.New(e.js, worker.Config{
		Stream: "PURGE", Consumer: "purge-worker", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 20000, MaxDeliver: -1,
		Window: 100 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
		Accounts: []worker.Account{{Name: "acct", Limits: limits,
			Purger: cfclient.New(cf.URL, cfclient.Auth{Token: zoneToken}, nil)}},
		Zones: []worker.Zone{{ID: zoneID, Name: "example.com", Account: "acct"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	// The worker creates the status bucket as it starts; --wait needs it.
	deadline := time.Now().Add(30 * time.Second)
	for _, err := status.Open(ctx, e.js); err != nil; _, err = status.Open(ctx, e.js) {
		if time.Now().After(deadline) {
			t.Fatalf("no status bucket 30s after the worker started: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cf
}

func ensureBucket(t *testing.T, e *natsEnv) {
	t.Helper()
	if _, err := e.js.CreateOrUpdateKeyValue(context.Background(), status.BucketConfig(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// wantCovered checks that Cloudflare accepted a call holding every key.
func wantCovered(t *testing.T, cf *cftest.Server, keys ...intent.Key) {
	t.Helper()
	var got []intent.Key
	for _, c := range cf.Accepted() {
		got = append(got, callkeys.Of(c)...)
	}
	for _, k := range keys {
		if !slices.Contains(got, k) {
			t.Errorf("no accepted call holds %v", k)
		}
	}
}

func TestPublishWaitExitsZeroOnceCloudflareAcceptedEveryKey(t *testing.T) {
	e := newNATS(t)
	cf := startWorker(t, e, "enterprise")
	r := purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--id", "deploy-7",
		"--url", "https://www.example.com/a.css", "--tag", "release", "--priority", "high", "--wait", "1m")
	r.wantOK(t)
	wantCovered(t, cf,
		intent.Key{Kind: intent.KindFile, Value: "https://www.example.com/a.css"},
		intent.Key{Kind: intent.KindTag, Value: "release"})
	if !strings.Contains(r.stdout, "purged id=deploy-7") || !strings.Contains(r.stdout, "1 purged, 0 dead-lettered, 0 pending") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	m := msgs(t, e.st)
	if len(m) != 0 {
		t.Errorf("%d messages left in the stream", len(m))
	}

	// The record is there for status --id, with both calls.
	r = purgectl(t, "", "status", "--server", e.url, "--id", "deploy-7")
	r.wantOK(t)
	for _, want := range []string{"state     purged", "purge files", "purge tags", "cloudflare id"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status --id does not say %q:\n%s", want, r.stdout)
		}
	}
	purgectl(t, "", "status", "--server", e.url, "--id", "never-published").wantFail(t, 1, "no status record", "never-published")
}

func TestPublishWaitForThousandsOfIntents(t *testing.T) {
	e := newNATS(t)
	cf := startWorker(t, e, "enterprise")
	var in strings.Builder
	var keys []intent.Key
	for i := range 2000 {
		u := fmt.Sprintf("https://www.example.com/asset/%d.js", i)
		fmt.Fprintf(&in, `{"zone":"example.com","files":[%q]}`+"\n", u)
		keys = append(keys, intent.Key{Kind: intent.KindFile, Value: u})
	}
	r := purgectl(t, in.String(), "publish", "--server", e.url, "-f", "-", "-q", "--wait", "2m")
	r.wantOK(t)
	if !strings.Contains(r.stdout, "2000 purged, 0 dead-lettered, 0 pending") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	wantCovered(t, cf, keys...)
}

func TestPublishWaitExitsOneForADeadLetter(t *testing.T) {
	e := newNATS(t)
	cf := startWorker(t, e, "enterprise")
	cf.RejectKeys("https://www.example.com/refused")
	r := purgectl(t, "https://www.example.com/fine\n", "publish", "--server", e.url, "-f", "-", "--urls", "--id", "ok", "--wait")
	r.wantOK(t)
	r = purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--id", "bad",
		"--url", "https://www.example.com/refused", "--wait", "1m")
	r.wantFail(t, 1, "0 purged, 1 dead-lettered")
	if !strings.Contains(r.stdout, "dead-lettered id=bad") || !strings.Contains(r.stdout, "https://www.example.com/refused") {
		t.Errorf("stdout does not give the reason:\n%s", r.stdout)
	}
}

func TestPublishWaitExitsThreeOnTimeout(t *testing.T) {
	e := newNATS(t)
	ensureBucket(t, e) // as a worker would have, but none runs
	r := purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--id", "late",
		"--tag", "t", "--wait", "1s")
	r.wantFail(t, 3, "0 purged, 0 dead-lettered, 1 pending")
	if !strings.Contains(r.stdout, "pending id=late: not received by the worker yet") {
		t.Errorf("stdout does not list the pending intent:\n%s", r.stdout)
	}
}

func TestPublishWaitUsage(t *testing.T) {
	e := newNATS(t)
	purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "t", "--wait=soon").
		wantFail(t, 2, "soon")
	purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "t", "--wait", "-1s").
		wantFail(t, 2)
	purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "t", "--priority", "urgent").
		wantFail(t, 1, "priority", "urgent")
	// No worker has ever run: no bucket to watch, and nothing published.
	purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "t", "--wait").
		wantFail(t, 1, status.Bucket)
	if n := len(msgs(t, e.st)); n != 0 {
		t.Errorf("%d intents published without a bucket to watch", n)
	}
}

func TestJoinWait(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"--wait", "5m", "--zone", "z"}, []string{"--wait=5m", "--zone", "z"}},
		{[]string{"--zone", "z", "--wait"}, []string{"--zone", "z", "--wait"}},
		{[]string{"--wait", "--zone", "z"}, []string{"--wait", "--zone", "z"}},
		{[]string{"-wait", "90s"}, []string{"-wait=90s"}},
		{[]string{"--", "--wait", "5m"}, []string{"--", "--wait", "5m"}},
	} {
		if got := joinWait(c.in); !slices.Equal(got, c.want) {
			t.Errorf("joinWait(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
