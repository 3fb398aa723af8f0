package cfclient

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseResponse feeds arbitrary statuses, rate-limit headers and
// bodies to the response parser and checks the classification invariants
// the worker relies on. Run: go test -fuzz=FuzzParseResponse -fuzztime=20s ./cfclient/
func FuzzParseResponse(f *testing.F) {
	f.Add(200, "", "", []byte(okBody))
	f.Add(200, "", "", []byte(`{"success":false,"errors":[{"code":1134,"message":"x"}]}`))
	f.Add(429, "12", "", []byte(`{"success":false,"errors":[{"code":1134,"message":"Unable to purge, rate limit reached."}],"messages":[],"result":null}`))
	f.Add(429, "Wed, 08 Oct 2026 12:00:30 GMT", `"default";r=0;t=7`, []byte(``))
	f.Add(429, "", `limit=5, remaining=0, reset=9`, []byte(`<html>`))
	f.Add(403, "", "", []byte(`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`))
	f.Add(400, "", "", []byte(`{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format"}]}]}`))
	f.Add(400, "", "", []byte(`{"success":false,"errors":[{"code":1094,"message":"Exceeded maximum amount of 500 files"}]}`))
	f.Add(400, "", "", []byte(`{"success":false,"errors":[{"code":1092,"message":"Request cannot contain \"purge_everything\""}]}`))
	f.Add(502, "", "", []byte(`<html>bad gateway</html>`))
	f.Add(200, "", "", []byte(`{"success":true,"errors":[],"res`))
	f.Add(301, "", "", []byte(nil))
	now := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, retryAfter, ratelimit string, body []byte) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if ratelimit != "" {
			h.Set("Ratelimit", ratelimit)
		}
		resp, e := parseResponse(status, h, body, now)
		if e == nil {
			var env struct {
				Success bool `json:"success"`
			}
			if status < 200 || status > 299 || json.Unmarshal(body, &env) != nil || !env.Success {
				t.Fatalf("status %d body %q accepted as success %+v", status, body, resp)
			}
			return
		}
		if e.Kind < KindRateLimited || e.Kind > KindServer || e.Kind.String() == "unknown" {
			t.Fatalf("Kind = %d (%v): parseResponse never yields network or unknown", e.Kind, e.Kind)
		}
		if status == http.StatusTooManyRequests && e.Kind != KindRateLimited {
			t.Fatalf("429 classified %v", e.Kind)
		}
		if status >= 500 && e.Kind != KindServer && e.Kind != KindRateLimited {
			t.Fatalf("%d classified %v", status, e.Kind)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter || (e.RetryAfter != 0 && e.Kind != KindRateLimited) {
			t.Fatalf("RetryAfter = %v for %v", e.RetryAfter, e.Kind)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "cloudflare purge: "+e.Kind.String()) || strings.ContainsAny(msg, "\n\r") || len(msg) > 4096 {
			t.Fatalf("Error() = %q", msg)
		}
	})
}
