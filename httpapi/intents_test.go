package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
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

func withStatus(c *Config) { c.Status = c.Publisher.(status.Source) }

// startWorker runs a worker on e's server against a cftest fake of
// Cloudflare until the test ends, and waits for its status bucket.
func (e *env) startWorker() *cftest.Server {
	e.t.Helper()
	cf := cftest.NewServer()
	e.t.Cleanup(cf.Close)
	const tok = "cf-token-0123456789"
	acct := cf.AddAccount("acct", "enterprise", tok)
	cf.AddZone(zoneID, zoneName, acct)
	limits, _ := cfclient.PlanLimits("enterprise")
	w, err := worker.New(e.js, worker.Config{
		Stream: "PURGE", Consumer: "purge-worker", DLQStream: "PURGE_DLQ",
		AckWait: 30 * time.Second, MaxAckPending: 1000, MaxDeliver: -1,
		Window: 100 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
		Accounts: []worker.Account{{Name: "acct", Limits: limits,
			Purger: cfclient.New(cf.URL, cfclient.Auth{Token: tok}, nil)}},
		Zones: []worker.Zone{{ID: zoneID, Name: zoneName, Account: "acct"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	// The worker creates the status bucket as it starts; ?wait needs it.
	deadline := time.Now().Add(30 * time.Second)
	for _, err := status.Open(ctx, e.js); err != nil; _, err = status.Open(ctx, e.js) {
		if time.Now().After(deadline) {
			e.t.Fatalf("no status bucket 30s after the worker started: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cf
}

func (e *env) ensureBucket() {
	e.t.Helper()
	if _, err := e.js.CreateOrUpdateKeyValue(context.Background(), status.BucketConfig(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
}

// postWait sends body to POST /v1/intents?wait=wait and decodes the answer.
func (e *env) postWait(wait, body string) (int, waited, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/intents?wait="+wait, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	r := e.do(req)
	var w waited
	if r.code < 300 {
		if err := json.Unmarshal([]byte(r.raw), &w); err != nil {
			e.t.Fatalf("answer %d: %v: %s", r.code, err, r.raw)
		}
	}
	return r.code, w, r.raw
}

// getRecord sends GET /v1/intents/{id} with tok.
func (e *env) getRecord(tok, id string) (int, status.Record) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/intents/"+id, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	r := e.do(req)
	var rec status.Record
	if r.code == http.StatusOK {
		if err := json.Unmarshal([]byte(r.raw), &rec); err != nil {
			e.t.Fatal(err)
		}
	}
	return r.code, rec
}

func TestPostWaitAnswersWithTheOutcomes(t *testing.T) {
	e := newEnv(t, withStatus)
	cf := e.startWorker()
	cf.RejectKeys("https://www.example.com/refused")
	body := `[{"zone":"example.com","files":["https://www.example.com/a"],"tags":["t1"],"id":"one"},
		{"zone":"example.com","tags":["t2"],"priority":"high"},
		{"zone":"example.com","files":["https://www.example.com/refused"],"id":"bad.3"}]`
	code, w, raw := e.postWait("30s", body)
	if code != http.StatusOK || len(w.Outcomes) != 3 || len(w.Pending) != 0 {
		t.Fatalf("answer %d: %s", code, raw)
	}
	var keys []intent.Key
	for _, c := range cf.Accepted() {
		keys = append(keys, callkeys.Of(c)...)
	}
	for _, k := range []intent.Key{{Kind: intent.KindFile, Value: "https://www.example.com/a"},
		{Kind: intent.KindTag, Value: "t1"}, {Kind: intent.KindTag, Value: "t2"}} {
		if !slices.Contains(keys, k) {
			t.Errorf("answered 200 but no accepted call holds %v", k)
		}
	}
	got := map[string]status.Record{}
	for _, r := range w.Outcomes {
		got[r.ID] = r
	}
	if r := got["one"]; r.State != status.Purged || len(r.Calls) != 2 {
		t.Errorf("outcome of one: %+v", r)
	}
	if id := w.Accepted[1].ID; id == "" || got[id].State != status.Purged {
		t.Errorf("the intent without id got id %q and outcome %+v", id, got[id])
	}
	if r := got["bad.3"]; r.State != status.DeadLettered || !strings.Contains(r.Reason, "https://www.example.com/refused") {
		t.Errorf("outcome of bad.3: %+v", r)
	}

	// GET answers the same records.
	for _, id := range []string{"one", "bad.3"} {
		code, rec := e.getRecord(testToken, id)
		if code != http.StatusOK || rec.State != got[id].State || rec.Seq != got[id].Seq {
			t.Errorf("GET %s: %d %+v, want %+v", id, code, rec, got[id])
		}
	}
	if code, _ := e.getRecord(testToken, "unknown"); code != http.StatusNotFound {
		t.Errorf("GET of an unknown id: %d, want 404", code)
	}
	if code, _ := e.getRecord("", "one"); code != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", code)
	}
}

func TestPostWaitAnswers202WithThePendingIDs(t *testing.T) {
	e := newEnv(t, withStatus)
	e.ensureBucket() // no worker runs
	code, w, raw := e.postWait("1s", `{"zone":"example.com","tags":["t"],"id":"slow"}`)
	if code != http.StatusAccepted || !slices.Equal(w.Pending, []string{"slow"}) || len(w.Accepted) != 1 {
		t.Fatalf("answer %d: %s", code, raw)
	}
	if n := len(e.stored()); n != 1 {
		t.Errorf("%d intents stored, want 1", n)
	}
	if h := e.stored()[0].Header.Get(intent.HeaderTrack); h != "true" {
		t.Errorf("stored without %s: %q", intent.HeaderTrack, h)
	}
}

func TestPostWaitRefusesABadWait(t *testing.T) {
	e := newEnv(t, withStatus)
	for _, v := range []string{"soon", "-1s", "10m"} {
		code, _, raw := e.postWait(v, `{"zone":"example.com","tags":["t"]}`)
		if code != http.StatusBadRequest || !strings.Contains(raw, "wait") {
			t.Errorf("wait=%s: %d %s", v, code, raw)
		}
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d intents stored", n)
	}
	// Without the status bucket there is nothing to wait on: 503, nothing stored.
	if code, _, raw := e.postWait("5s", `{"zone":"example.com","tags":["t"]}`); code != http.StatusServiceUnavailable {
		t.Errorf("without a bucket: %d %s", code, raw)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d intents stored", n)
	}
}
