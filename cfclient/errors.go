package cfclient

import (
	"fmt"
	"strings"
	"time"
)

// Kind classifies a failed purge by what the caller should do about it.
type Kind uint8

// The kinds. The zero value is not a valid Kind, so a forgotten
// classification shows up as "unknown".
const (
	// KindRateLimited: the account's bucket is empty (HTTP 429, code 1134).
	// Wait Error.RetryAfter, or one bucket refill if it is 0, and resend
	// the same body; nothing failed.
	KindRateLimited Kind = iota + 1
	// KindTooManyKeys: the body held more keys than the account accepts
	// per request. Resend in chunks of Error.MaxKeys when it is set (the
	// refusal stated the maximum), else halve the chunk for that zone and
	// type.
	KindTooManyKeys
	// KindClient: Cloudflare refused the body (a bad key, a bad zone id,
	// a malformed request). Resending it unchanged cannot succeed.
	KindClient
	// KindAuth: the credentials are wrong, malformed or lack the Cache
	// Purge permission for the zone. Every call of the account will fail
	// until an operator fixes them.
	KindAuth
	// KindServer: Cloudflare failed (5xx) or answered something that is
	// not a valid purge response. Retry with backoff.
	KindServer
	// KindNetwork: no complete answer arrived (connection refused or
	// reset, timeout, truncated body). The purge may or may not have
	// happened; purges are idempotent, so retry with backoff.
	KindNetwork
)

// String returns the metric label value of k.
func (k Kind) String() string {
	switch k {
	case KindRateLimited:
		return "rate_limited"
	case KindTooManyKeys:
		return "too_many_keys"
	case KindClient:
		return "client"
	case KindAuth:
		return "auth"
	case KindServer:
		return "server"
	case KindNetwork:
		return "network"
	}
	return "unknown"
}

// Code is one entry of a Cloudflare response's errors[] (or of an entry's
// error_chain).
type Code struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error is the one error type [Client.Purge] returns for a purge that did
// not succeed, classified once, at the HTTP boundary. The caller's own
// context ending is the exception: see [Client.Purge].
type Error struct {
	Kind Kind
	// Status is the HTTP status; 0 when no response arrived or the request
	// was refused before sending.
	Status int
	// Codes are the entries of the response's errors[], error_chain
	// entries flattened after their parent.
	Codes []Code
	// RetryAfter is, for KindRateLimited, the wait the response asked for
	// (Retry-After, else the Ratelimit header); 0 if it gave none.
	RetryAfter time.Duration
	// MaxKeys is, for KindTooManyKeys, the per-request maximum the
	// refusal's message states ("Exceeded maximum amount of 30 files per
	// request"); 0 if it states none.
	MaxKeys int
	// RayID is the cf-ray response header, to quote to Cloudflare support.
	RayID string
	// Err is the underlying cause, if any: the transport or read error for
	// KindNetwork, the decode error for an unreadable 2xx body, the
	// validation error for a request refused before sending.
	Err error
}

// Error returns a concise lowercase description: kind, status, codes and
// messages, wait and ray id. It never holds credentials.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cloudflare purge: ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, ": http %d", e.Status)
	}
	for i, c := range e.Codes {
		if i == maxCodesInError {
			fmt.Fprintf(&b, " (+%d more)", len(e.Codes)-i)
			break
		}
		sep := ";"
		if i == 0 {
			sep = ":"
		}
		fmt.Fprintf(&b, "%s code %d %q", sep, c.Code, clip(c.Message, maxMessageInError))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RayID != "" {
		fmt.Fprintf(&b, " (ray %s)", e.RayID)
	}
	return b.String()
}

const (
	maxCodesInError   = 3
	maxMessageInError = 200
)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether Cloudflare's errors[] held code.
func (e *Error) HasCode(code int) bool {
	for _, c := range e.Codes {
		if c.Code == code {
			return true
		}
	}
	return false
}
