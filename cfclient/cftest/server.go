package cftest

import (
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pathPrefix is where the API lives, as on api.cloudflare.com.
const pathPrefix = "/client/v4/zones/"

// maxRequestBody bounds what the fake reads; a 500-URL body is far below.
const maxRequestBody = 16 << 20

// Server is a fake Cloudflare purge API. Its methods are safe for
// concurrent use, also while it serves.
type Server struct {
	// URL is the API base URL, "http://127.0.0.1:port/client/v4", to pass
	// to cfclient.New. It is empty for a server from NewUnstarted.
	URL string

	ts        *httptest.Server
	now       func() time.Time
	observer  func(Call)
	unlimited bool
	seed      int64
	closed    chan struct{}
	closeOnce sync.Once

	inFlight atomic.Int64

	mu       sync.Mutex
	rejected map[string]bool // RejectKeys
	accounts map[string]*Account
	zones    map[string]*zone
	calls    []Call
	faults   faults
	rng      *rand.Rand
}

// Option configures a Server.
type Option func(*Server)

// WithSeed seeds the source of FailRatio draws, result ids and ray ids
// (default 1), so that runs repeat.
func WithSeed(seed int64) Option { return func(s *Server) { s.seed = seed } }

// WithClock sets the clock the rate buckets and Call.At use (default
// time.Now). Tests advance it to observe bucket refills without sleeping.
// now is called from request goroutines, so it must be safe for concurrent
// use.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithUnlimited turns the rate buckets off; per-request maxima and
// validation still apply.
func WithUnlimited() Option { return func(s *Server) { s.unlimited = true } }

// WithObserver calls fn with every call once it is recorded (purgectl
// sandbox prints them). fn runs on the request's goroutine, so it must be
// safe for concurrent use and should be quick.
func WithObserver(fn func(Call)) Option { return func(s *Server) { s.observer = fn } }

// NewUnstarted returns a server that is not listening; serve its
// [Server.Handler] yourself (purgectl sandbox does, on a chosen port).
func NewUnstarted(opts ...Option) *Server {
	s := &Server{
		now:      time.Now,
		seed:     1,
		closed:   make(chan struct{}),
		accounts: map[string]*Account{},
		zones:    map[string]*zone{},
	}
	for _, o := range opts {
		o(s)
	}
	s.rng = rand.New(rand.NewPCG(uint64(s.seed), 0x5eed))
	return s
}

// NewServer returns a server listening on 127.0.0.1 on a random port,
// like httptest.NewServer. Close it when done.
func NewServer(opts ...Option) *Server {
	s := NewUnstarted(opts...)
	s.ts = httptest.NewServer(s.Handler())
	s.URL = s.ts.URL + "/client/v4"
	return s
}

// Close ends pending SetLatency delays and, for a server from NewServer,
// stops listening and waits for in-flight calls. It is safe to call more
// than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Handler returns the API handler. It serves /client/v4/zones/{id}/
// purge_cache and /client/v4/zones/{id}/invalidate_cache; every other path
// answers 404 with code 7000.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// serve handles one call: read, maybe delay, decide and record under one
// lock (so that Calls lists calls in the order the buckets saw them),
// answer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	c := Call{At: s.now(), UserAgent: r.UserAgent()}
	c.ZoneID, c.Endpoint = route(r.URL.Path)
	data, readErr := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	body := parseBody(data)
	c.Kind, c.Keys = body.kind, body.keys

	if !s.delay(r.Context()) {
		c.Outcome = OutcomeCanceled
		s.mu.Lock()
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		s.observe(c)
		// Returning without writing would send an empty 200.
		hangUp(w)
		return
	}
	s.mu.Lock()
	a := s.answer(r, &c, &body, len(data), readErr)
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	s.observe(c)

	switch {
	case a.reset:
		hangUp(w)
	case a.fail != nil:
		writeFailure(w, a.ray, a.fail)
	default:
		writeSuccess(w, a.ray, a.id)
	}
}

// reply is what serve sends back.
type reply struct {
	reset bool
	fail  *failure
	ray   string
	id    string
}

// answer decides the reply to one call and fills in c's outcome. Called
// with s.mu held.
func (s *Server) answer(r *http.Request, c *Call, body *purgeBody, size int, readErr error) reply {
	ft := s.takeFault()
	if ft.reset {
		c.Outcome = OutcomeReset
		return reply{reset: true}
	}
	var f *failure
	switch {
	case ft.status != 0:
		f = injected(ft.status)
	case readErr != nil:
		f = fail(http.StatusBadRequest, OutcomeInvalid, codeMalformedJSON, "Malformed JSON in request body")
	case size > maxRequestBody:
		f = &failure{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooMany}
	default:
		f = s.decide(r, c, body)
	}
	rp := reply{fail: f, ray: s.randomHex(8) + "-CFT"}
	if f != nil {
		c.Status, c.Codes, c.Outcome = f.status, f.codes(), f.outcome
		return rp
	}
	rp.id = s.randomHex(16)
	c.Status, c.Outcome = http.StatusOK, OutcomeOK
	return rp
}

// route splits /client/v4/zones/{id}/{endpoint}. It returns the id even
// for an unknown endpoint (for the record), and "" for the endpoint then.
func route(path string) (zoneID, endpoint string) {
	rest, ok := strings.CutPrefix(path, pathPrefix)
	if !ok {
		return "", ""
	}
	zoneID, endpoint, _ = strings.Cut(rest, "/")
	if endpoint != "purge_cache" && endpoint != "invalidate_cache" {
		endpoint = ""
	}
	return zoneID, endpoint
}

// decide runs Cloudflare's checks in order and, if all pass, takes the
// rate tokens. It returns nil for success. Called with s.mu held.
func (s *Server) decide(r *http.Request, c *Call, body *purgeBody) *failure {
	if c.Endpoint == "" {
		return fail(http.StatusNotFound, OutcomeNotFound, codeNoRoute, "No route for that URI")
	}
	if !isZoneID(c.ZoneID) {
		return couldNotRoute(r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, OutcomeNotFound, codeMethodNotAllowed, "Method not allowed for this endpoint")
	}
	creds, f := readCredentials(r.Header)
	if f != nil {
		return f
	}
	c.AuthScheme = creds.scheme
	if s.authenticate(creds) == nil {
		return authError()
	}
	z := s.zones[strings.ToLower(c.ZoneID)]
	if z == nil {
		return couldNotRoute(r.URL.Path)
	}
	c.ZoneName, c.Account = z.name, z.account.name
	if !z.account.accepts(creds) {
		// Valid credentials of another account: no access to this zone.
		return authError()
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return fail(http.StatusBadRequest, OutcomeInvalid, 9207, "Content-type must be application/json.")
	}
	if body.fail != nil {
		return body.fail
	}
	if f := body.check(z.name, z.account.limits); f != nil {
		return f
	}
	if f := s.rejectedKey(c.Keys); f != nil {
		return f
	}
	return s.takeTokens(z.account, body)
}

func couldNotRoute(path string) *failure {
	f := failf(http.StatusBadRequest, OutcomeNotFound, codeCouldNotRoute,
		"Could not route to %s, perhaps your object identifier is invalid?", strings.TrimPrefix(path, "/client/v4"))
	f.errs = append(f.errs, apiError{Code: codeNoRoute, Message: "No route for that URI"})
	return f
}

// takeTokens charges the call to its account: one flex token for tags,
// hosts, prefixes and purge_everything, one URL token per files entry.
// Purge and invalidate share the buckets. Called with s.mu held.
func (s *Server) takeTokens(a *Account, body *purgeBody) *failure {
	if s.unlimited {
		return nil
	}
	now := s.now()
	var wait time.Duration
	var ok bool
	if body.kind == "files" {
		wait, ok = a.urls.take(now, float64(len(body.files)))
	} else {
		wait, ok = a.flex.take(now, 1)
	}
	if ok {
		return nil
	}
	f := fail(http.StatusTooManyRequests, OutcomeRateLimited, codeRateLimited,
		"Unable to purge, rate limit reached. Please wait and consider throttling your request speed")
	f.retryAfter = retryAfterSeconds(wait)
	return f
}
