package cftest

import (
	"fmt"
	"strings"

	"github.com/purge-worker/purge-worker/cfclient"
)

// Account is a Cloudflare account of the fake: credentials, limits and the
// rate buckets all its zones share. Its methods are safe for concurrent
// use with the server.
type Account struct {
	s    *Server
	name string
	plan string

	// Guarded by s.mu.
	limits     cfclient.Limits
	token      string
	email, key string
	flex, urls bucket
}

// zone is a zone of the fake.
type zone struct {
	id, name string
	account  *Account
}

// AddAccount adds an account on plan ("free", "pro", "business",
// "enterprise") whose limits are [PlanLimits] of the plan,
// reachable with the API token token ("" for none; see SetEmailKey). It
// panics on an unknown plan or a duplicate name, like httptest panics on
// misuse: both are bugs in the test.
func (s *Server) AddAccount(name, plan, token string) *Account {
	l, ok := PlanLimits(plan)
	if !ok {
		panic(fmt.Sprintf("cftest: AddAccount %q: unknown plan %q (want one of %s)", name, plan, strings.Join(Plans, ", ")))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.accounts[name]; dup {
		panic(fmt.Sprintf("cftest: AddAccount: duplicate account name %q", name))
	}
	a := &Account{s: s, name: name, plan: plan, token: token}
	a.setLimitsLocked(l)
	s.accounts[name] = a
	return a
}

// Name returns the account's name.
func (a *Account) Name() string { return a.name }

// Plan returns the plan the account was created with.
func (a *Account) Plan() string { return a.plan }

// Limits returns the account's current limits.
func (a *Account) Limits() cfclient.Limits {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.limits
}

// SetLimits replaces the account's limits, e.g. MaxURLsPerRequest 30 to
// mimic accounts still capped at 30 URLs. Both buckets restart full at the
// new capacities. It panics if l is not valid (l.Validate).
func (a *Account) SetLimits(l cfclient.Limits) {
	if err := l.Validate(); err != nil {
		panic(fmt.Sprintf("cftest: SetLimits on account %q: %v", a.name, err))
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.setLimitsLocked(l)
}

func (a *Account) setLimitsLocked(l cfclient.Limits) {
	a.limits = l
	a.flex = newBucket(l.FlexPerSecond, float64(l.FlexBurst))
	// "One second worth of URLs", but never less than one full request,
	// or a legal request could never pass.
	a.urls = newBucket(l.URLsPerSecond, max(l.URLsPerSecond, float64(l.MaxURLsPerRequest)))
}

// SetToken replaces the account's API token; "" revokes it, so that bearer
// calls fail with 403 until a token is set again.
func (a *Account) SetToken(token string) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.token = token
}

// SetEmailKey sets the legacy X-Auth-Email / X-Auth-Key credentials; two
// empty strings revoke them. The email compares case-insensitively.
func (a *Account) SetEmailKey(email, key string) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.email, a.key = email, key
}

// accepts reports whether c are valid credentials of a. Called with s.mu
// held.
func (a *Account) accepts(c credentials) bool {
	switch c.scheme {
	case "bearer":
		return a.token != "" && c.token == a.token
	case "email_key":
		return a.key != "" && c.key == a.key && strings.EqualFold(c.email, a.email)
	}
	return false
}

// AddZone adds the zone id (32 hex digits) named name (such as
// "example.com") to acct. It panics on a malformed or duplicate id, or a
// nil account.
func (s *Server) AddZone(id, name string, acct *Account) {
	if !isZoneID(id) {
		panic(fmt.Sprintf("cftest: AddZone %q: zone id must be 32 hex digits", id))
	}
	if acct == nil {
		panic(fmt.Sprintf("cftest: AddZone %q: nil account", id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id = strings.ToLower(id)
	if _, dup := s.zones[id]; dup {
		panic(fmt.Sprintf("cftest: AddZone: duplicate zone id %q", id))
	}
	s.zones[id] = &zone{id: id, name: strings.TrimSuffix(strings.ToLower(name), "."), account: acct}
}

func isZoneID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
