package cftest

import (
	"net/http"
	"strings"
)

// credentials are what a request presented.
type credentials struct {
	scheme     string // "bearer", "email_key" or "" (none)
	token      string
	email, key string
}

// readCredentials extracts the request's credentials. Like Cloudflare, it
// answers a malformed auth header with 400 "Invalid request headers"
// (6003) and the header's code in error_chain; absent credentials are not
// an error here (they fail later, as 403 10000, like wrong ones).
// Authorization takes precedence over the X-Auth-* pair.
func readCredentials(h http.Header) (credentials, *failure) {
	if v := h.Get("Authorization"); v != "" {
		scheme, tok, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
			return credentials{}, invalidHeaders(6111, "Invalid format for Authorization header")
		}
		return credentials{scheme: "bearer", token: tok}, nil
	}
	email, key := h.Get("X-Auth-Email"), h.Get("X-Auth-Key")
	switch {
	case email == "" && key == "":
		return credentials{}, nil
	case email == "":
		return credentials{}, invalidHeaders(6102, "Invalid format for X-Auth-Email header")
	case key == "":
		return credentials{}, invalidHeaders(6103, "Invalid format for X-Auth-Key header")
	}
	return credentials{scheme: "email_key", email: email, key: key}, nil
}

func invalidHeaders(code int, msg string) *failure {
	f := fail(http.StatusBadRequest, OutcomeAuth, codeInvalidHeaders, "Invalid request headers")
	f.errs[0].ErrorChain = []apiError{{Code: code, Message: msg}}
	return f
}

// authError is Cloudflare's answer to missing or wrong credentials, and to
// valid credentials without access to the zone.
func authError() *failure {
	return fail(http.StatusForbidden, OutcomeAuth, codeAuthentication, "Authentication error")
}

// authenticate finds an account the credentials belong to. Called with
// s.mu held.
func (s *Server) authenticate(c credentials) *Account {
	if c.scheme == "" {
		return nil
	}
	for _, a := range s.accounts {
		if a.accepts(c) {
			return a
		}
	}
	return nil
}
