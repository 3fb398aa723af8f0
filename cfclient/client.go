// Package cfclient owns the conversation with Cloudflare's cache purge API:
// it encodes one purge body, sends it to purge_cache or invalidate_cache,
// and classifies every outcome, once, into a typed [*Error] the worker can
// act on (wait, halve, bisect, pause the account, back off). It also holds
// the documented per-plan limits as data ([PlanLimits]).
//
// The client sends exactly one HTTP request per [Client.Purge] call: it
// never retries, sleeps or rate-limits by itself; that is the worker's
// job, where a 429 can re-queue keys instead of blocking a goroutine.
//
// # Classification
//
// Only HTTP 2xx with "success": true is a success. Otherwise, first match
// wins (codes are those of errors[] and their error_chain; messages[] is
// informational and ignored):
//
//   - [KindRateLimited]: HTTP 429, or code 1134 (purge bucket), 971 (global
//     API budget) or a legacy purge rate code (1083, 1102, 1113), whatever
//     the status. RetryAfter comes from Retry-After (seconds or HTTP-date,
//     relative to the response's Date header), else from Ratelimit (t= of
//     an exhausted item, or reset=), capped at one hour; 0 if absent.
//   - [KindServer]: HTTP 5xx.
//   - [KindAuth]: HTTP 401 or 403, or code 10000, 10001, 9109, 6003 (and
//     the 61xx header-format codes of its error_chain) or the legacy 1095
//     ("you do not have access to purge cache for that zone id").
//   - [KindTooManyKeys]: HTTP 413; or a 4xx (or 2xx with success false)
//     with a legacy "too many" code (1094 files, 1101 tags, 1111 hosts) or
//     a message such as "Exceeded maximum amount of N ...", "too many",
//     "more than N items". The current code is undocumented, hence the
//     message match; "exceeds maximum length" (one key too long) is not it.
//     MaxKeys is the N the message states, when it states one.
//   - [KindClient]: any other 4xx, e.g. 1092 (purge_everything mixed), 1012,
//     1082 (URL outside the zone), 7003 (unknown or malformed zone id).
//   - 2xx with "success": false and none of the codes above: KindClient if
//     a code blames the body (1012, 1013, 1014, 1015, 1082, 1084, 1092,
//     1100, 1114, 1115, 1136, 6007, 7000, 7001, 7003, 9207), else
//     KindServer: an unexplained refusal is retried, not dropped.
//   - A 2xx whose body is not a JSON envelope with a boolean "success"
//     (HTML, truncated JSON, empty): KindServer; 1xx and 3xx (redirects are
//     not followed): KindServer.
//   - [KindNetwork]: no complete answer: connection refused or reset,
//     timeout of the *http.Client, a body cut off while reading (Status is
//     then set), a malformed base URL.
//   - The caller's ctx ending: not a *Error; see [Client.Purge].
//   - A request refused before sending (no selector, mixed selectors, bad
//     zone id, undefined mode): KindClient with Status 0.
package cfclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// DefaultTimeout bounds one purge call when New is given no *http.Client.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of a response is read (and, past that, drained).
// A purge response is a few hundred bytes.
const maxBody = 1 << 20

// Client sends purge requests for one Cloudflare account. It is safe for
// concurrent use.
type Client struct {
	base string
	// setAuth sets the credential headers. It is a closure, not an Auth
	// field, because fmt prints unexported fields without calling their
	// String method (and dereferences pointers under bad verbs): a func
	// prints as an address, so no formatting of a Client shows a secret.
	setAuth   func(http.Header)
	authDesc  string
	hc        *http.Client
	userAgent string
	now       func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithUserAgent sets the User-Agent header (default "purge-worker/" plus
// the main module's version, or "purge-worker/dev").
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the API at baseURL (such as
// "https://api.cloudflare.com/client/v4") that authenticates with auth.
// If hc is nil, the client uses its own *http.Client with a
// [DefaultTimeout] timeout that does not follow redirects (a redirect
// would turn the POST into a GET and drop the credentials).
func New(baseURL string, auth Auth, hc *http.Client, opts ...Option) *Client {
	if hc == nil {
		hc = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		setAuth:   auth.apply,
		authDesc:  auth.String(),
		hc:        hc,
		userAgent: "purge-worker/" + version(),
		now:       time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("cfclient.Client{base: %s, auth: %s}", c.base, c.authDesc)
}

// GoString implements fmt.GoStringer for %#v, without the credentials.
func (c *Client) GoString() string { return c.String() }

// Purge sends req to the zone's purge_cache (ModePurge) or
// invalidate_cache (ModeInvalidate) endpoint, exactly once.
//
// It returns nil error only for HTTP 2xx with "success": true. Every other
// outcome is a [*Error] whose Kind says what to do, except one: if ctx ends
// before an answer arrived, Purge returns an error wrapping ctx.Err() that
// is not a *Error, so errors.Is(err, context.Canceled) (or
// context.DeadlineExceeded) tells the caller's own shutdown or deadline
// apart from a Cloudflare or network failure. Whether the purge happened
// is then unknown. A timeout of the *http.Client itself is KindNetwork.
//
// A request with no selector or several selector types, an undefined
// mode, or a zone id that cannot be a path segment is refused before
// sending, as KindClient with Status 0.
func (c *Client) Purge(ctx context.Context, zoneID string, mode Mode, req Request) (Response, error) {
	if err := checkZoneID(zoneID); err != nil {
		return Response{}, &Error{Kind: KindClient, Err: err}
	}
	if mode != ModePurge && mode != ModeInvalidate {
		return Response{}, &Error{Kind: KindClient, Err: fmt.Errorf("mode %d: want ModePurge or ModeInvalidate", mode)}
	}
	body, err := encodeBody(req)
	if err != nil {
		return Response{}, &Error{Kind: KindClient, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return Response{}, canceled(zoneID, err)
	}
	hreq, err := c.newRequest(ctx, zoneID, mode, body)
	if err != nil {
		// Only a malformed base URL gets here: a configuration fault, not
		// the body's; KindNetwork keeps the keys for when it is fixed.
		return Response{}, &Error{Kind: KindNetwork, Err: err}
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return Response{}, transportError(ctx, zoneID, 0, "", err)
	}
	defer drainClose(resp.Body)
	data, err := readBody(resp.Body)
	if err != nil {
		return Response{}, transportError(ctx, zoneID, resp.StatusCode, resp.Header.Get("Cf-Ray"), err)
	}
	out, cfErr := parseResponse(resp.StatusCode, resp.Header, data, c.refTime(resp.Header))
	if cfErr != nil {
		return Response{}, cfErr
	}
	return out, nil
}

func (c *Client) newRequest(ctx context.Context, zoneID string, mode Mode, body []byte) (*http.Request, error) {
	u := c.base + "/zones/" + zoneID + "/" + mode.String()
	// A *bytes.Reader body lets net/http set Content-Length and GetBody.
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	c.setAuth(hreq.Header)
	return hreq, nil
}

// refTime is the "now" an HTTP-date Retry-After is relative to: the
// response's own Date header when it has one (so that skew between our
// clock and Cloudflare's cancels out), else our clock.
func (c *Client) refTime(h http.Header) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return c.now()
}

// transportError classifies a failure to get a complete answer.
func transportError(ctx context.Context, zoneID string, status int, ray string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return canceled(zoneID, ctxErr)
	}
	return &Error{Kind: KindNetwork, Status: status, RayID: ray, Err: err}
}

func canceled(zoneID string, err error) error {
	return fmt.Errorf("cloudflare purge zone %s: %w", zoneID, err)
}

// readBody reads at most maxBody bytes. A longer body is cut there; the
// JSON decode then fails unless the cut fell in trailing whitespace, which
// classifies it correctly either way.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	return data, nil
}

// drainClose reads a bounded remainder so that the connection can be
// reused, then closes the body.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, maxBody)
	_ = body.Close()
}

// checkZoneID keeps the id a single, plain path segment. Cloudflare's ids
// are 32 hex digits; other well-formed ids are left for Cloudflare to
// refuse (7003), which classifies the same.
func checkZoneID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("zone id %q: must be 1 to 64 characters", id)
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("zone id %q: only letters, digits, '-' and '_' are allowed", id)
		}
	}
	return nil
}

// version is the main module's version when the binary was built from a
// tagged module, else "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "dev"
}
