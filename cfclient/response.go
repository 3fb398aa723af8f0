package cfclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Response is what a successful purge returns.
type Response struct {
	// ID is result.id. Its meaning is undocumented (it appears to be the
	// zone id, not a job handle); it is kept for logs.
	ID string
	// RayID is the cf-ray response header.
	RayID string
}

// envelope is the Cloudflare v4 response envelope, as far as a purge needs
// it. Result is raw because only its id matters and a failure sends null.
type envelope struct {
	Success *bool           `json:"success"`
	Errors  []wireCode      `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

type wireCode struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	ErrorChain []wireCode `json:"error_chain"`
}

var errSuccessFalse = errors.New(`response says "success": false`)

// parseResponse turns a complete response into a Response or a classified
// *Error. It is pure: now is the reference time for an HTTP-date
// Retry-After.
//
// A 2xx is a success only if its body is a JSON envelope with "success":
// true. A 2xx whose body cannot be decoded is KindServer (the request
// reached Cloudflare but we cannot tell whether it was accepted; purges are
// idempotent, so a retry is safe). A 2xx with "success": false is
// classified by its codes like any failure, and is KindServer unless a code
// says the body or the credentials are at fault: refusing to retry an
// unexplained failure would drop a purge, retrying it costs one call.
func parseResponse(status int, h http.Header, body []byte, now time.Time) (Response, *Error) {
	ray := h.Get("Cf-Ray")
	env, decodeErr := decodeEnvelope(body)
	ok2xx := status >= 200 && status < 300
	if ok2xx {
		if decodeErr != nil {
			return Response{}, &Error{Kind: KindServer, Status: status, RayID: ray, Err: decodeErr}
		}
		if *env.Success {
			return Response{ID: resultID(env.Result), RayID: ray}, nil
		}
	}
	// A failure body that does not decode (an HTML error page from a
	// proxy, say) is classified by its status alone.
	codes := flatten(env.Errors, nil)
	e := &Error{Kind: classify(status, codes), Status: status, Codes: codes, RayID: ray}
	if ok2xx {
		e.Err = errSuccessFalse
	}
	switch e.Kind {
	case KindRateLimited:
		e.RetryAfter = parseRetryAfter(h, now)
	case KindTooManyKeys:
		e.MaxKeys = statedMax(codes)
	}
	return Response{}, e
}

// classify maps a failed response to a Kind. Precedence: rate limiting
// first (a 429 is never the body's fault), then 5xx, then credentials,
// then "too many keys" (halving fixes it), then other client errors.
func classify(status int, codes []Code) Kind {
	is2xx := status >= 200 && status < 300
	is4xx := status >= 400 && status < 500
	switch {
	case status == http.StatusTooManyRequests || hasAny(codes, rateLimitCodes):
		return KindRateLimited
	case status >= 500:
		return KindServer
	case status == http.StatusUnauthorized || status == http.StatusForbidden || hasAny(codes, authCodes):
		return KindAuth
	case status == http.StatusRequestEntityTooLarge || (is4xx || is2xx) && tooMany(codes):
		return KindTooManyKeys
	case is4xx:
		return KindClient
	case is2xx && hasAny(codes, clientCodes):
		return KindClient
	}
	// 2xx with success:false and no telling code, 1xx, 3xx: unexpected;
	// retrying loses nothing.
	return KindServer
}

func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("decode response body (%d bytes): %w", len(body), err)
	}
	if env.Success == nil {
		return envelope{}, fmt.Errorf("decode response body (%d bytes): no \"success\" field", len(body))
	}
	return env, nil
}

// flatten lists errors[] entries, each followed by its error_chain.
func flatten(in []wireCode, out []Code) []Code {
	for _, c := range in {
		out = append(out, Code{Code: c.Code, Message: c.Message})
		out = flatten(c.ErrorChain, out)
	}
	return out
}

// resultID extracts result.id; any other shape yields "".
func resultID(raw json.RawMessage) string {
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	return r.ID
}
