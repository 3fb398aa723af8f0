package cftest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// TestAcceptsEveryBodyForm sends each body form through cfclient, to both
// endpoints, and checks what was recorded.
func TestAcceptsEveryBodyForm(t *testing.T) {
	tests := []struct {
		name string
		req  cfclient.Request
		kind string
		keys []string
	}{
		{"files", cfclient.Request{Files: []cfclient.File{{URL: "https://www.example.com/a.css"}, {URL: "http://example.com/b?x=1&y=2"}}},
			"files", []string{"https://www.example.com/a.css", "http://example.com/b?x=1&y=2"}},
		{"files with headers", cfclient.Request{Files: []cfclient.File{
			{URL: "https://www.example.com/a"},
			{URL: "https://www.example.com/b.jpg", Headers: map[string]string{"cf-device-type": "mobile", "Accept-Language": "zh-CN"}},
		}}, "files", []string{"https://www.example.com/a", "https://www.example.com/b.jpg Accept-Language: zh-CN; Cf-Device-Type: mobile"}},
		{"tags", cfclient.Request{Tags: []string{"post-42", "Post-43"}}, "tags", []string{"post-42", "Post-43"}},
		{"hosts", cfclient.Request{Hosts: []string{"images.example.com", "example.com"}}, "hosts", []string{"images.example.com", "example.com"}},
		{"prefixes", cfclient.Request{Prefixes: []string{"www.example.com/blog"}}, "prefixes", []string{"www.example.com/blog"}},
		{"everything", cfclient.Request{Everything: true}, "purge_everything", []string{"purge_everything"}},
	}
	for _, mode := range []cfclient.Mode{cfclient.ModePurge, cfclient.ModeInvalidate} {
		for _, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				resp, err := f.c.Purge(context.Background(), zoneA, mode, tt.req)
				if err != nil {
					t.Fatalf("Purge: %v", err)
				}
				if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(resp.ID) || resp.RayID == "" {
					t.Errorf("Response = %+v, want a 32-hex id and a ray id", resp)
				}
				acc := f.srv.Accepted()
				if len(acc) != 1 {
					t.Fatalf("accepted %d calls, want 1", len(acc))
				}
				c := acc[0]
				want := cftest.Call{At: f.clock.Now(), ZoneID: zoneA, ZoneName: "example.com", Account: "main", Endpoint: mode.String(),
					Kind: tt.kind, Keys: tt.keys, Status: 200, Outcome: "ok", AuthScheme: "bearer", UserAgent: c.UserAgent}
				if !callEqual(c, want) || c.UserAgent == "" {
					t.Errorf("call =\n %+v\nwant\n %+v", c, want)
				}
			})
		}
	}
}

func callEqual(a, b cftest.Call) bool {
	return a.At.Equal(b.At) && a.ZoneID == b.ZoneID && a.ZoneName == b.ZoneName && a.Account == b.Account &&
		a.Endpoint == b.Endpoint && a.Kind == b.Kind && slices.Equal(a.Keys, b.Keys) && a.Status == b.Status &&
		slices.Equal(a.Codes, b.Codes) && a.Outcome == b.Outcome && a.AuthScheme == b.AuthScheme && a.UserAgent == b.UserAgent
}

func TestCredentialsRotate(t *testing.T) {
	f := newFixture(t)
	ok := func(c *cfclient.Client) error {
		_, err := c.Purge(context.Background(), zoneA, cfclient.ModePurge, tagReq("a"))
		return err
	}
	if err := ok(f.c); err != nil {
		t.Fatal(err)
	}
	f.main.SetToken("")
	if err := ok(f.c); kindOf(err) != cfclient.KindAuth {
		t.Fatalf("revoked token: %v", err)
	}
	f.main.SetToken(tokenA)
	if err := ok(f.c); err != nil {
		t.Fatalf("restored token: %v", err)
	}
	f.main.SetToken("rotated")
	if err := ok(f.c); kindOf(err) != cfclient.KindAuth {
		t.Fatalf("old token after rotation: %v", err)
	}
	if err := ok(cfclient.New(f.srv.URL, cfclient.Auth{Token: "rotated"}, nil)); err != nil {
		t.Fatalf("new token: %v", err)
	}

	legacy := cfclient.New(f.srv.URL, cfclient.Auth{Email: "Ops@Example.com", Key: "global-key"}, nil)
	if err := ok(legacy); kindOf(err) != cfclient.KindAuth {
		t.Fatalf("email+key before SetEmailKey: %v", err)
	}
	f.main.SetEmailKey("ops@example.com", "global-key")
	if err := ok(legacy); err != nil {
		t.Fatalf("email+key: %v", err)
	}
	if err := ok(cfclient.New(f.srv.URL, cfclient.Auth{Email: "ops@example.com", Key: "wrong"}, nil)); kindOf(err) != cfclient.KindAuth {
		t.Fatalf("wrong key: %v", err)
	}
	calls := f.srv.Calls()
	if got := calls[len(calls)-2].AuthScheme; got != "email_key" {
		t.Errorf("AuthScheme = %q", got)
	}
}

func TestRecording(t *testing.T) {
	var mu sync.Mutex
	var seen []cftest.Call
	f := newFixture(t, cftest.WithObserver(func(c cftest.Call) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
	}))
	_ = f.purge(t, zoneA, tagReq("a"))
	_ = f.purge(t, zoneA, tagReq("two words"))
	_ = f.purge(t, "ffffffffffffffffffffffffffffffff", tagReq("a"))
	_ = f.purge(t, zoneB, tagReq("b"))
	outcomes := func(cs []cftest.Call) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Outcome)
		}
		return out
	}
	if got := outcomes(f.srv.Calls()); !slices.Equal(got, []string{"ok", "invalid", "not_found", "ok"}) {
		t.Errorf("Calls outcomes = %v", got)
	}
	if acc := f.srv.Accepted(); len(acc) != 2 || acc[1].ZoneName != "example.org" {
		t.Errorf("Accepted = %+v", acc)
	}
	mu.Lock()
	if got := outcomes(seen); !slices.Equal(got, outcomes(f.srv.Calls())) {
		t.Errorf("observer saw %v", got)
	}
	mu.Unlock()
	f.srv.Reset()
	if len(f.srv.Calls()) != 0 || len(f.srv.Accepted()) != 0 {
		t.Error("Reset kept calls")
	}
}

// TestUnstarted serves Handler on a listener of our choosing, as purgectl
// sandbox does.
func TestUnstarted(t *testing.T) {
	srv := cftest.NewUnstarted(cftest.WithUnlimited())
	defer srv.Close()
	if srv.URL != "" {
		t.Errorf("unstarted URL = %q", srv.URL)
	}
	acct := srv.AddAccount("a", "enterprise", "tok")
	srv.AddZone(zoneA, "example.com", acct)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := cfclient.New(hs.URL+"/client/v4", cfclient.Auth{Token: "tok"}, nil)
	if _, err := c.Purge(context.Background(), zoneA, cfclient.ModePurge, cfclient.Request{Files: urls(500, "example.com")}); err != nil {
		t.Fatalf("500 files on enterprise: %v", err)
	}
	r := raw(t, http.MethodGet, hs.URL+"/", nil, "")
	if r.status != 404 || !slices.Equal(r.codes(), []int{7000}) {
		t.Errorf("GET / = %d %v", r.status, r.codes())
	}
}

func TestMisusePanics(t *testing.T) {
	srv := cftest.NewUnstarted()
	acct := srv.AddAccount("a", "free", "t")
	tests := map[string]func(){
		"unknown plan":   func() { srv.AddAccount("b", "gold", "t") },
		"duplicate name": func() { srv.AddAccount("a", "free", "t") },
		"bad zone id":    func() { srv.AddZone("example.com", "example.com", acct) },
		"nil account":    func() { srv.AddZone(zoneA, "example.com", nil) },
		"bad limits":     func() { acct.SetLimits(cfclient.Limits{}) },
		"fail 200":       func() { srv.FailNext(1, 200) },
	}
	for name, fn := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}
