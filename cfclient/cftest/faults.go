package cftest

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// faults is the fault-injection state, guarded by Server.mu.
type faults struct {
	resetNext      int
	failNext       int
	failNextStatus int
	ratio          float64
	ratioStatus    int
	latency        time.Duration
}

// fault is what takeFault decided for one call.
type fault struct {
	reset  bool
	status int // 0: no injected answer
}

// FailNext makes the next n calls answer status without being looked at
// (no auth, no validation, no tokens taken): 429 with code 1134 and
// "Retry-After: 1"; 401 and 403 with code 10000; 5xx with an empty errors
// list; any other status with code 1016 ("Unable to purge any urls"). n
// <= 0 cancels pending ones.
func (s *Server) FailNext(n int, status int) {
	checkStatus("FailNext", status)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext, s.faults.failNextStatus = max(n, 0), status
}

// FailRatio makes each call, with probability p, answer status as
// FailNext does. The draws come from the server's source (WithSeed), so
// a sequence of calls fails the same way on every run. p <= 0 turns it off.
func (s *Server) FailRatio(p float64, status int) {
	checkStatus("FailRatio", status)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.ratio, s.faults.ratioStatus = min(p, 1), status
}

// SetLatency delays every answer by d (0 turns it off). The delay comes
// first, before the call is looked at: a client that gives up during it
// (a timeout) leaves nothing done, and the call is recorded as "canceled".
// Close ends pending delays.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = max(d, 0)
}

// ResetNext makes the next n calls close the connection without an
// answer, after reading the request; the client sees a transport error.
// Nothing is done for them. n <= 0 cancels pending ones.
func (s *Server) ResetNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.resetNext = max(n, 0)
}

func checkStatus(fn string, status int) {
	if status < 300 || status > 599 {
		panic(fmt.Sprintf("cftest: %s: status %d is not an HTTP failure status (300-599)", fn, status))
	}
}

// takeFault consumes the fault, if any, for one call. Called with s.mu
// held. Resets come first, then FailNext, then FailRatio; the random draw
// happens only while a ratio is set, so the sequence stays reproducible.
func (s *Server) takeFault() fault {
	f := &s.faults
	switch {
	case f.resetNext > 0:
		f.resetNext--
		return fault{reset: true}
	case f.failNext > 0:
		f.failNext--
		return fault{status: f.failNextStatus}
	case f.ratio > 0 && s.rng.Float64() < f.ratio:
		return fault{status: f.ratioStatus}
	}
	return fault{}
}

// injected is the answer to an injected failure.
func injected(status int) *failure {
	f := &failure{status: status, outcome: OutcomeInjected}
	switch {
	case status == http.StatusTooManyRequests:
		f.errs = []apiError{{Code: codeRateLimited, Message: "Unable to purge, rate limit reached. Please wait and consider throttling your request speed"}}
		f.retryAfter = 1
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		f.errs = []apiError{{Code: codeAuthentication, Message: "Authentication error"}}
	case status >= 500:
		// Cloudflare documents no body for its 5xx; an empty errors list
		// forces clients to classify by status.
	default:
		f.errs = []apiError{{Code: 1016, Message: "Unable to purge any urls"}}
	}
	return f
}

// delay waits for the configured latency; it reports false if the client
// went away or the server closed first.
func (s *Server) delay(ctx context.Context) bool {
	s.mu.Lock()
	d := s.faults.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closed:
	}
	return false
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2, or a wrapper that hides the Hijacker: this makes net/http
	// abort the response without logging.
	panic(http.ErrAbortHandler)
}
