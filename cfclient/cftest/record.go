package cftest

import "time"

// Outcomes recorded in [Call.Outcome].
const (
	OutcomeOK          = "ok"           // 200, success: true
	OutcomeRateLimited = "rate_limited" // 429, code 1134: the account's bucket was empty
	OutcomeAuth        = "auth"         // 403 (10000) or 400 (6003): credentials missing, wrong or without access to the zone
	OutcomeInvalid     = "invalid"      // 400: the body or a key was refused
	OutcomeTooMany     = "too_many"     // 400: more keys than the account's per-request maximum
	OutcomeInjected    = "injected"     // answered by FailNext or FailRatio
	OutcomeNotFound    = "not_found"    // unknown path, method or zone (7000, 7001, 7003)
	OutcomeReset       = "reset"        // connection closed without an answer (ResetNext)
	OutcomeCanceled    = "canceled"     // the client went away during SetLatency's delay; nothing was done
)

// Call is one request the server received, accepted or refused.
type Call struct {
	// At is the server clock (see WithClock) when the request arrived.
	At time.Time
	// ZoneID is the zone id from the path; ZoneName and Account are set
	// when the zone is known.
	ZoneID, ZoneName, Account string
	// Endpoint is "purge_cache" or "invalidate_cache" ("" for other paths).
	Endpoint string
	// Kind is the body's selector: "files", "tags", "hosts", "prefixes",
	// "purge_everything", or "mixed" (several), "empty" (none, or an empty
	// list), "invalid" (not JSON, or wrong types).
	Kind string
	// Keys are the body's keys as sent. A files entry with headers is its
	// URL, a space, and the headers as "Name: value" in canonical MIME case,
	// sorted, joined by "; " (the form intent.Key.String prints). A
	// purge_everything body has the single key "purge_everything".
	Keys []string
	// Status is the HTTP status answered; 0 if none (reset, canceled).
	Status int
	// Codes are the error codes answered, in order.
	Codes []int
	// Outcome is one of the Outcome constants.
	Outcome string
	// AuthScheme is how the request authenticated: "bearer", "email_key"
	// or "" (none).
	AuthScheme string
	// UserAgent is the request's User-Agent header.
	UserAgent string
}

// Calls returns every call received so far, in arrival order, including
// refused, injected and reset ones.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Accepted returns the calls answered with success, in order.
func (s *Server) Accepted() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Outcome == OutcomeOK {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls. Buckets, accounts, zones and pending
// faults are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// observe shows c to the observer, outside the lock.
func (s *Server) observe(c Call) {
	if s.observer != nil {
		s.observer(c)
	}
}
