package cfclient_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// The fake keeps its own tables of plan limits and error codes, written
// from Cloudflare's documentation apart from the client's, so that a wrong
// figure in one is not silently mirrored by the other. This test is where
// they meet: when it fails, one of the two drifted from the docs.
func TestFakeAndClientAgreeOnPlans(t *testing.T) {
	if strings.Join(cftest.Plans, ",") != strings.Join(cfclient.Plans, ",") {
		t.Errorf("plans: fake %v, client %v", cftest.Plans, cfclient.Plans)
	}
	for _, plan := range append(cfclient.Plans, "no-such-plan") {
		cl, cok := cfclient.PlanLimits(plan)
		fl, fok := cftest.PlanLimits(plan)
		if cl != fl || cok != fok {
			t.Errorf("plan %q: client %+v (%v), fake %+v (%v)", plan, cl, cok, fl, fok)
		}
	}
}

// Every error code the fake answers with is the one the client names for
// that refusal.
func TestFakeAndClientAgreeOnErrorCodes(t *testing.T) {
	srv := cftest.NewServer()
	t.Cleanup(srv.Close)
	acct := srv.AddAccount("a", "pro", "token-1")
	srv.AddZone(zoneID, zoneName, acct)
	srv.RejectKeys("https://www.example.com/rejected")
	purge := "/zones/" + zoneID + "/purge_cache"
	many := func(field string, n int, f func(int) string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `"` + f(i) + `"`
		}
		return `{"` + field + `":[` + strings.Join(items, ",") + `]}`
	}
	for _, tc := range []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"malformed JSON", "POST", purge, "Bearer token-1", `{`, cfclient.CodeMalformedJSON},
		{"purge_everything false", "POST", purge, "Bearer token-1", `{"purge_everything":false}`, cfclient.CodeEverythingNotTrue},
		{"files not an array", "POST", purge, "Bearer token-1", `{"files":"x"}`, cfclient.CodeNotArray},
		{"everything mixed", "POST", purge, "Bearer token-1", `{"purge_everything":true,"tags":["a"]}`, cfclient.CodeEverythingMixed},
		{"no selector", "POST", purge, "Bearer token-1", `{}`, cfclient.CodeMissingSelector},
		{"refused URL", "POST", purge, "Bearer token-1", `{"files":["https://www.example.com/rejected"]}`, cfclient.CodeUnableToPurge},
		{"URL of another zone", "POST", purge, "Bearer token-1", `{"files":["https://www.other.org/a"]}`, cfclient.CodeOutOfZone},
		{"too many files", "POST", purge, "Bearer token-1", many("files", 101, func(i int) string { return "https://www.example.com/" + strings.Repeat("x", i+1) }), cfclient.CodeTooManyFiles},
		{"too many tags", "POST", purge, "Bearer token-1", many("tags", 101, func(i int) string { return strings.Repeat("t", i+1) }), cfclient.CodeTooManyTags},
		{"too many hosts", "POST", purge, "Bearer token-1", many("hosts", 101, func(i int) string { return strings.Repeat("h", i+1) + ".example.com" }), cfclient.CodeTooManyHosts},
		{"tag too long", "POST", purge, "Bearer token-1", `{"tags":["` + strings.Repeat("t", 1025) + `"]}`, cfclient.CodeTagTooLong},
		{"host too long", "POST", purge, "Bearer token-1", `{"hosts":["` + strings.Repeat("h", 200) + `.example.com"]}`, cfclient.CodeHostTooLong},
		{"invalid host", "POST", purge, "Bearer token-1", `{"hosts":["bad host.example.com"]}`, cfclient.CodeInvalidHost},
		{"unknown path", "POST", "/zones/" + zoneID + "/purge", "Bearer token-1", `{}`, cfclient.CodeNoRoute},
		{"wrong method", "GET", purge, "Bearer token-1", ``, cfclient.CodeMethodNotAllowed},
		{"unknown zone", "POST", "/zones/not-a-zone/purge_cache", "Bearer token-1", `{"tags":["a"]}`, cfclient.CodeCouldNotRoute},
		{"wrong token", "POST", purge, "Bearer token-2", `{"tags":["a"]}`, cfclient.CodeAuthentication},
		{"malformed credentials", "POST", purge, "Basic x", `{"tags":["a"]}`, cfclient.CodeInvalidHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", tc.auth)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls recorded, want 1", len(calls))
			}
			if got := calls[0].Codes; len(got) == 0 || got[0] != tc.want {
				t.Errorf("fake answered %s with codes %v, client's constant is %d", resp.Status, got, tc.want)
			}
		})
	}
	// The rate limit: a second flex call on an empty bucket.
	l, _ := cftest.PlanLimits("pro")
	l.FlexBurst = 1
	acct.SetLimits(l)
	srv.Reset()
	c := cfclient.New(srv.URL, cfclient.Auth{Token: "token-1"}, nil)
	for range 2 {
		_, _ = c.Purge(t.Context(), zoneID, cfclient.ModePurge, cfclient.Request{Tags: []string{"a"}})
	}
	calls := srv.Calls()
	if len(calls) != 2 || len(calls[1].Codes) == 0 || calls[1].Codes[0] != cfclient.CodeRateLimited {
		t.Errorf("rate limited call: %+v, client's constant is %d", calls, cfclient.CodeRateLimited)
	}
}
