package cftest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

const (
	zoneA  = "023e105f4ecef8ad9ca31a8372d0c353" // example.com, account "main"
	zoneB  = "9a7806061c88ada191ed06f989cc3dac" // example.org, account "main"
	zoneC  = "0f0e0d0c0b0a09080706050403020100" // other.net, account "other"
	tokenA = "token-main"
	tokenC = "token-other"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a fake with two accounts: "main" (free, zones example.com and
// example.org) and "other" (pro, zone other.net), on a frozen clock.
type fixture struct {
	srv   *cftest.Server
	clock *clock
	main  *cftest.Account
	other *cftest.Account
	c     *cfclient.Client
}

func newFixture(t *testing.T, opts ...cftest.Option) *fixture {
	t.Helper()
	clk := newClock()
	srv := cftest.NewServer(append([]cftest.Option{cftest.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, clock: clk}
	f.main = srv.AddAccount("main", "free", tokenA)
	f.other = srv.AddAccount("other", "pro", tokenC)
	srv.AddZone(zoneA, "example.com", f.main)
	srv.AddZone(zoneB, "example.org", f.main)
	srv.AddZone(zoneC, "other.net", f.other)
	f.c = cfclient.New(srv.URL, cfclient.Auth{Token: tokenA}, nil)
	return f
}

func (f *fixture) purge(t *testing.T, zone string, req cfclient.Request) error {
	t.Helper()
	_, err := f.c.Purge(context.Background(), zone, cfclient.ModePurge, req)
	return err
}

func kindOf(err error) cfclient.Kind {
	var e *cfclient.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func asError(t *testing.T, err error) *cfclient.Error {
	t.Helper()
	var e *cfclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *cfclient.Error", err, err)
	}
	return e
}

// rawResponse is a decoded answer to a raw request.
type rawResponse struct {
	status     int
	retryAfter string
	ray        string
	env        struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code       int    `json:"code"`
			Message    string `json:"message"`
			ErrorChain []struct {
				Code int `json:"code"`
			} `json:"error_chain"`
		} `json:"errors"`
		Messages []any          `json:"messages"`
		Result   map[string]any `json:"result"`
	}
}

func (r rawResponse) codes() []int {
	var out []int
	for _, e := range r.env.Errors {
		out = append(out, e.Code)
	}
	return out
}

// raw sends a request the client would refuse to build.
func raw(t *testing.T, method, url string, header http.Header, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), ray: resp.Header.Get("Cf-Ray")}
	if err := json.Unmarshal(data, &out.env); err != nil {
		t.Fatalf("response body %q is not a Cloudflare envelope: %v", data, err)
	}
	return out
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func urls(n int, host string) []cfclient.File {
	out := make([]cfclient.File, n)
	for i := range out {
		out[i] = cfclient.File{URL: "https://" + host + "/p/" + strings.Repeat("x", i%7) + "?i=" + strconv.Itoa(i)}
	}
	return out
}

func keys(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}
