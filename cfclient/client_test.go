package cfclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const zoneID = "023e105f4ecef8ad9ca31a8372d0c353"

const okBody = `{"success":true,"errors":[],"messages":[],"result":{"id":"9a7806061c88ada191ed06f989cc3dac"}}`

// recorded is what a raw test server saw of one request.
type recorded struct {
	method, path string
	header       http.Header
	body         string
}

// rawServer answers every request with handler and records what it got.
func rawServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []recorded) {
	t.Helper()
	var mu sync.Mutex
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), got...)
	}
}

func answer(status int, header http.Header, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *cfclient.Error", err, err)
	}
	return e
}

func TestPurgeSendsRequest(t *testing.T) {
	tests := []struct {
		name     string
		auth     Auth
		mode     Mode
		req      Request
		path     string
		authHdrs http.Header
		body     string
	}{
		{"bearer purge files", Auth{Token: "tok"}, ModePurge, Request{Files: []File{{URL: "https://example.com/a?b=1&c=2"}}},
			"/client/v4/zones/" + zoneID + "/purge_cache", http.Header{"Authorization": {"Bearer tok"}},
			`{"files":["https://example.com/a?b=1&c=2"]}`},
		{"email key invalidate tags", Auth{Email: "ops@example.com", Key: "k1"}, ModeInvalidate, Request{Tags: []string{"post-42"}},
			"/client/v4/zones/" + zoneID + "/invalidate_cache", http.Header{"X-Auth-Email": {"ops@example.com"}, "X-Auth-Key": {"k1"}},
			`{"tags":["post-42"]}`},
		{"everything", Auth{Token: "tok"}, ModePurge, Request{Everything: true},
			"/client/v4/zones/" + zoneID + "/purge_cache", http.Header{"Authorization": {"Bearer tok"}}, `{"purge_everything":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := rawServer(t, answer(200, http.Header{"Cf-Ray": {"ray-1"}}, okBody))
			c := New(srv.URL+"/client/v4/", tt.auth, nil)
			resp, err := c.Purge(context.Background(), zoneID, tt.mode, tt.req)
			if err != nil {
				t.Fatalf("Purge: %v", err)
			}
			if resp != (Response{ID: "9a7806061c88ada191ed06f989cc3dac", RayID: "ray-1"}) {
				t.Errorf("Response = %+v", resp)
			}
			r := got()
			if len(r) != 1 {
				t.Fatalf("server got %d requests, want 1", len(r))
			}
			if r[0].method != http.MethodPost || r[0].path != tt.path || r[0].body != tt.body {
				t.Errorf("request = %s %s %s", r[0].method, r[0].path, r[0].body)
			}
			for k := range tt.authHdrs {
				if r[0].header.Get(k) != tt.authHdrs.Get(k) {
					t.Errorf("header %s = %q, want %q", k, r[0].header.Get(k), tt.authHdrs.Get(k))
				}
			}
			for _, k := range []string{"Authorization", "X-Auth-Email", "X-Auth-Key"} {
				if _, want := tt.authHdrs[k]; !want && r[0].header.Get(k) != "" {
					t.Errorf("unexpected header %s", k)
				}
			}
			if ct := r[0].header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if ua := r[0].header.Get("User-Agent"); !strings.HasPrefix(ua, "purge-worker/") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestPurgeUserAgentOption(t *testing.T) {
	srv, got := rawServer(t, answer(200, nil, okBody))
	c := New(srv.URL, Auth{Token: "t"}, nil, WithUserAgent("purge-worker/1.2.3"))
	if _, err := c.Purge(context.Background(), zoneID, ModePurge, Request{Hosts: []string{"example.com"}}); err != nil {
		t.Fatal(err)
	}
	if ua := got()[0].header.Get("User-Agent"); ua != "purge-worker/1.2.3" {
		t.Errorf("User-Agent = %q", ua)
	}
}

// TestPurgeRateLimitHeaders checks the hint parsing end to end, through a
// real HTTP response.
func TestPurgeRateLimitHeaders(t *testing.T) {
	date := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	body := `{"success":false,"errors":[{"code":1134,"message":"Unable to purge, rate limit reached. Please wait and consider throttling your request speed"}],"messages":[],"result":null}`
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"12"}}, 12 * time.Second},
		// Relative to the response's Date header, so the test clock and
		// skew do not matter.
		{"http date", http.Header{"Date": {date.Format(http.TimeFormat)}, "Retry-After": {date.Add(30 * time.Second).Format(http.TimeFormat)}}, 30 * time.Second},
		{"ratelimit t", http.Header{"Ratelimit": {`"default";r=0;t=7`}}, 7 * time.Second},
		{"ratelimit reset", http.Header{"Ratelimit": {`limit=5, remaining=0, reset=9`}}, 9 * time.Second},
		{"missing", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := rawServer(t, answer(http.StatusTooManyRequests, tt.header, body))
			_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
			e := asError(t, err)
			if e.Kind != KindRateLimited || e.Status != 429 || !e.HasCode(CodeRateLimited) || e.RetryAfter != tt.want {
				t.Errorf("err = %+v, want rate_limited 429 1134 retry after %v", e, tt.want)
			}
		})
	}
}

// TestPurgeHTTPDateWithoutDateHeader uses the client's clock.
func TestPurgeHTTPDateWithoutDateHeader(t *testing.T) {
	now := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Date"] = nil // suppress net/http's automatic Date
		w.Header().Set("Retry-After", now.Add(45*time.Second).Format(http.TimeFormat))
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c := New(srv.URL, Auth{Token: "t"}, nil)
	c.now = func() time.Time { return now }
	_, err := c.Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	if e := asError(t, err); e.RetryAfter != 45*time.Second {
		t.Errorf("RetryAfter = %v, want 45s", e.RetryAfter)
	}
}

func TestPurgeFailureBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   Kind
	}{
		{"200 success false", 200, `{"success":false,"errors":[{"code":1234,"message":"hmm"}],"messages":[],"result":null}`, KindServer},
		{"200 truncated json", 200, `{"success":true,"errors":[],"result":{"id":"ab`, KindServer},
		{"200 oversized garbage", 200, `{"success":true,"x":"` + strings.Repeat("a", maxBody+10) + `"}`, KindServer},
		{"403 auth", 403, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`, KindAuth},
		{"400 too many", 400, `{"success":false,"errors":[{"code":1094,"message":"Exceeded maximum amount of 100 files that can be purged on a single request"}]}`, KindTooManyKeys},
		{"400 client", 400, `{"success":false,"errors":[{"code":1092,"message":"Request cannot contain \"purge_everything\" and any of ..."}]}`, KindClient},
		{"502 html", 502, `<html><body>502 Bad Gateway</body></html>`, KindServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := rawServer(t, answer(tt.status, nil, tt.body))
			_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
			if e := asError(t, err); e.Kind != tt.kind || e.Status != tt.status {
				t.Errorf("err = %v, want %v with status %d", e, tt.kind, tt.status)
			}
		})
	}
}

func TestPurgeSuccessWithTrailingPadding(t *testing.T) {
	srv, _ := rawServer(t, answer(200, nil, okBody+strings.Repeat(" ", 3*maxBody)))
	resp, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	if err != nil || resp.ID == "" {
		t.Fatalf("Purge = %+v, %v", resp, err)
	}
}

// TestPurgeTruncatedBody: the server promises more bytes than it sends and
// hangs up; the read fails, which is a network error even on a 200.
func TestPurgeTruncatedBody(t *testing.T) {
	srv, _ := rawServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "500")
		w.Header().Set("Cf-Ray", "ray-t")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"success":true,"err`)
	})
	_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	e := asError(t, err)
	if e.Kind != KindNetwork || e.Status != 200 || e.RayID != "ray-t" || !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v (status %d), want network wrapping unexpected EOF", e, e.Status)
	}
}

func TestPurgeConnectionReset(t *testing.T) {
	srv, got := rawServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	e := asError(t, err)
	if e.Kind != KindNetwork || e.Status != 0 || e.Err == nil {
		t.Errorf("err = %+v, want network with cause", e)
	}
	// The client does not retry by itself.
	if n := len(got()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestPurgeConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	if e := asError(t, err); e.Kind != KindNetwork {
		t.Errorf("err = %v, want network", e)
	}
}

// TestPurgeClientTimeout: the server never answers, so the http.Client's
// own timeout must fire; that is a network error, not the caller's
// cancellation.
func TestPurgeClientTimeout(t *testing.T) {
	srv, _ := rawServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	hc := &http.Client{Timeout: 50 * time.Millisecond}
	_, err := New(srv.URL, Auth{Token: "t"}, hc).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	e := asError(t, err)
	if e.Kind != KindNetwork {
		t.Errorf("err = %v, want network", e)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("client timeout reported as caller cancellation: %v", err)
	}
}

// TestPurgeCallerCancel: the caller's own ctx ending is not a *Error, so
// shutdown is told apart with errors.Is.
func TestPurgeCallerCancel(t *testing.T) {
	arrived := make(chan struct{})
	srv, _ := rawServer(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(ctx, zoneID, ModePurge, Request{Tags: []string{"a"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("caller cancellation classified as %v", e)
	}

	ctx, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	var hits atomic.Int32
	srv2, _ := rawServer(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	_, err = New(srv2.URL, Auth{Token: "t"}, nil).Purge(ctx, zoneID, ModePurge, Request{Tags: []string{"a"}})
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &e) {
		t.Errorf("expired ctx: err = %v, want plain DeadlineExceeded", err)
	}
	if hits.Load() != 0 {
		t.Error("request sent with an expired context")
	}
}

func TestPurgeRefusesBeforeSending(t *testing.T) {
	var hits atomic.Int32
	srv, _ := rawServer(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	c := New(srv.URL, Auth{Token: "t"}, nil)
	if _, err := c.Purge(context.Background(), zoneID, Mode(7), Request{Tags: []string{"a"}}); kindOfErr(err) != KindClient {
		t.Errorf("mode 7: err = %v, want client", err)
	}
	tests := []struct {
		name string
		zone string
		req  Request
	}{
		{"empty", zoneID, Request{}},
		{"mixed", zoneID, Request{Tags: []string{"a"}, Hosts: []string{"example.com"}}},
		{"everything and files", zoneID, Request{Everything: true, Files: []File{{URL: "https://example.com/"}}}},
		{"empty zone", "", Request{Tags: []string{"a"}}},
		{"zone with slash", "abc/../x", Request{Tags: []string{"a"}}},
		{"zone with query", "abc?x=1", Request{Tags: []string{"a"}}},
	}
	for _, tt := range tests {
		_, err := c.Purge(context.Background(), tt.zone, ModePurge, tt.req)
		if e := asError(t, err); e.Kind != KindClient || e.Status != 0 || e.Err == nil {
			t.Errorf("%s: err = %+v, want client error before sending", tt.name, e)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}
}

// TestPurgeDoesNotFollowRedirects: a redirect would turn the POST into a
// GET; the default client reports it instead.
func TestPurgeDoesNotFollowRedirects(t *testing.T) {
	srv, got := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/purge_cache") {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, okBody)
	})
	_, err := New(srv.URL, Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	if e := asError(t, err); e.Kind != KindServer || e.Status != 301 {
		t.Errorf("err = %v, want server 301", e)
	}
	if n := len(got()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestPurgeBadBaseURL(t *testing.T) {
	_, err := New("http://[::1", Auth{Token: "t"}, nil).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
	if e := asError(t, err); e.Kind != KindNetwork {
		t.Errorf("err = %v, want network", e)
	}
}

// trackingBody records how much was read and whether it was closed.
type trackingBody struct {
	r      io.Reader
	read   int64
	closed bool
}

func (b *trackingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *trackingBody) Close() error { b.closed = true; return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPurgeDrainsAndCloses: every response body is closed, and read no
// further than two MiB (one to parse, one to drain) however long it is.
func TestPurgeDrainsAndCloses(t *testing.T) {
	huge := strings.Repeat("x", 5*maxBody)
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"success", 200, okBody},
		{"success padded", 200, okBody + strings.Repeat(" ", 5*maxBody)},
		{"error", 500, huge},
		{"rate limited", 429, `{"success":false,"errors":[{"code":1134}]}` + huge},
	}
	for _, tt := range tests {
		body := &trackingBody{r: strings.NewReader(tt.body)}
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: body, Request: r}, nil
		})}
		_, _ = New("https://api.example.test/client/v4", Auth{Token: "t"}, hc).Purge(context.Background(), zoneID, ModePurge, Request{Tags: []string{"a"}})
		if !body.closed {
			t.Errorf("%s: body not closed", tt.name)
		}
		if body.read > 2*maxBody {
			t.Errorf("%s: read %d bytes, want at most %d", tt.name, body.read, 2*maxBody)
		}
		if want := min(int64(len(tt.body)), 2*maxBody); body.read != want {
			t.Errorf("%s: read %d bytes, want %d (drained)", tt.name, body.read, want)
		}
	}
}

func TestDrainCloseBounded(t *testing.T) {
	body := &trackingBody{r: bytes.NewReader(make([]byte, 3*maxBody))}
	drainClose(body)
	if !body.closed || body.read != maxBody {
		t.Errorf("drainClose read %d, closed %v", body.read, body.closed)
	}
}

func kindOfErr(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
