package cftest

import (
	"net/http"
)

// RejectKeys makes Cloudflare refuse, from now on, every request that
// carries one of keys (as Call.Keys records them), with 400 and code 1015
// "Unable to purge". It models a key that passes every local check but
// that Cloudflare refuses anyway: since Cloudflare reports no per-key
// results, the whole request fails, and the client must find the key by
// itself. Calling it with no keys clears the list.
func (s *Server) RejectKeys(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(keys) == 0 {
		s.rejected = nil
		return
	}
	if s.rejected == nil {
		s.rejected = map[string]bool{}
	}
	for _, k := range keys {
		s.rejected[k] = true
	}
}

// rejectedKey returns a failure naming the first rejected key of keys, or
// nil. Called with s.mu held.
func (s *Server) rejectedKey(keys []string) *failure {
	for _, k := range keys {
		if s.rejected[k] {
			return failf(http.StatusBadRequest, OutcomeInvalid, codeUnableToPurge,
				"Unable to purge %s", k)
		}
	}
	return nil
}

// InFlight returns how many calls the server is handling right now: read
// but not yet answered. Tests use it to act while a call is in flight.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }
