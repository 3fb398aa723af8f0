package cfclient

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// failBody is a Cloudflare failure envelope with the given errors[] JSON.
func failBody(errs string) string {
	return `{"success":false,"errors":[` + errs + `],"messages":[],"result":null}`
}

func TestParseResponseClassifies(t *testing.T) {
	now := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		kind       Kind
		codes      []int
		retryAfter time.Duration
	}{
		{"429 with 1134 and Retry-After", 429, http.Header{"Retry-After": {"12"}},
			failBody(`{"code":1134,"message":"Unable to purge, rate limit reached. Please wait and consider throttling your request speed"}`),
			KindRateLimited, []int{1134}, 12 * time.Second},
		{"429 html no hint", 429, nil, "<html>slow down</html>", KindRateLimited, nil, 0},
		{"429 ratelimit header", 429, http.Header{"Ratelimit": {`"default";r=0;t=7`}}, failBody(`{"code":1134,"message":"x"}`), KindRateLimited, []int{1134}, 7 * time.Second},
		{"400 with 1134", 400, nil, failBody(`{"code":1134,"message":"rate limit reached"}`), KindRateLimited, []int{1134}, 0},
		{"global limit 971", 400, nil, failBody(`{"code":971,"message":"Please wait and consider throttling your request speed"}`), KindRateLimited, []int{971}, 0},
		{"200 success false 1134", 200, http.Header{"Retry-After": {"2"}}, failBody(`{"code":1134,"message":"x"}`), KindRateLimited, []int{1134}, 2 * time.Second},
		{"403 10000", 403, nil, failBody(`{"code":10000,"message":"Authentication error"}`), KindAuth, []int{10000}, 0},
		{"401 no body", 401, nil, "", KindAuth, nil, 0},
		{"400 invalid token 9109", 400, nil, failBody(`{"code":9109,"message":"Invalid access token"}`), KindAuth, []int{9109}, 0},
		{"400 10001", 400, nil, failBody(`{"code":10001,"message":"Unable to authenticate request"}`), KindAuth, []int{10001}, 0},
		{"400 invalid headers chain", 400, nil, failBody(`{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}`),
			KindAuth, []int{6003, 6111}, 0},
		{"200 success false 10000", 200, nil, failBody(`{"code":10000,"message":"Authentication error"}`), KindAuth, []int{10000}, 0},
		{"legacy 1094", 400, nil, failBody(`{"code":1094,"message":"Exceeded maximum amount of 500 files that can be purged on a single request"}`), KindTooManyKeys, []int{1094}, 0},
		{"legacy 1101", 400, nil, failBody(`{"code":1101,"message":"x"}`), KindTooManyKeys, []int{1101}, 0},
		{"legacy 1111", 400, nil, failBody(`{"code":1111,"message":"x"}`), KindTooManyKeys, []int{1111}, 0},
		{"message exceeded maximum", 400, nil, failBody(`{"code":1122,"message":"Exceeded maximum amount of 100 prefixes that can be purged on a single request"}`), KindTooManyKeys, []int{1122}, 0},
		{"message more than items", 400, nil, failBody(`{"code":1999,"message":"You cannot provide more than 100 items"}`), KindTooManyKeys, []int{1999}, 0},
		{"message too many", 400, nil, failBody(`{"code":1998,"message":"Too many files in request"}`), KindTooManyKeys, []int{1998}, 0},
		{"message maximum of", 400, nil, failBody(`{"code":1997,"message":"a maximum of 30 URLs per request"}`), KindTooManyKeys, []int{1997}, 0},
		{"413", 413, nil, "", KindTooManyKeys, nil, 0},
		{"200 success false 1094", 200, nil, failBody(`{"code":1094,"message":"x"}`), KindTooManyKeys, []int{1094}, 0},
		{"tag too long is client", 400, nil, failBody(`{"code":1100,"message":"Tag exceeds maximum length of 1024 characters"}`), KindClient, []int{1100}, 0},
		{"host too long is client", 400, nil, failBody(`{"code":1114,"message":"Host exceeds maximum length of 200 characters"}`), KindClient, []int{1114}, 0},
		{"1092", 400, nil, failBody(`{"code":1092,"message":"Request cannot contain \"purge_everything\" and any of \"files\", \"tags\", \"hosts\" or \"prefixes\""}`), KindClient, []int{1092}, 0},
		{"out of zone", 400, nil, failBody(`{"code":1082,"message":"Unable to purge 'https://other.org/'. You can only purge files for this zone"}`), KindClient, []int{1082}, 0},
		{"bad zone 7003", 400, nil, failBody(`{"code":7003,"message":"Could not route to /zones/abc/purge_cache, perhaps your object identifier is invalid?"},{"code":7000,"message":"No route for that URI"}`), KindClient, []int{7003, 7000}, 0},
		{"404 html", 404, nil, "<html>not found</html>", KindClient, nil, 0},
		{"200 success false client code", 200, nil, failBody(`{"code":1012,"message":"Request must contain one of ..."}`), KindClient, []int{1012}, 0},
		{"200 success false unknown code", 200, nil, failBody(`{"code":1234,"message":"something"}`), KindServer, []int{1234}, 0},
		{"200 success false no codes", 200, nil, failBody(``), KindServer, nil, 0},
		{"500 json", 500, nil, failBody(`{"code":1017,"message":"Unable to purge all"}`), KindServer, []int{1017}, 0},
		{"502 html", 502, nil, "<html>Bad gateway</html>", KindServer, nil, 0},
		{"503 with auth code", 503, nil, failBody(`{"code":10000,"message":"x"}`), KindServer, []int{10000}, 0},
		{"200 truncated json", 200, nil, `{"success":true,"errors":[],"res`, KindServer, nil, 0},
		{"200 html", 200, nil, `<html>captive portal</html>`, KindServer, nil, 0},
		{"200 empty", 200, nil, ``, KindServer, nil, 0},
		{"200 no success field", 200, nil, `{"result":{"id":"x"}}`, KindServer, nil, 0},
		{"200 success string", 200, nil, `{"success":"true"}`, KindServer, nil, 0},
		{"302", 302, http.Header{"Location": {"https://example.com/"}}, "", KindServer, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			h.Set("Cf-Ray", "8c1a2b3c4d5e6f70-LHR")
			resp, e := parseResponse(tt.status, h, []byte(tt.body), now)
			if e == nil {
				t.Fatalf("parseResponse = %+v, nil error; want %v", resp, tt.kind)
			}
			if e.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v (%v)", e.Kind, tt.kind, e)
			}
			var codes []int
			for _, c := range e.Codes {
				codes = append(codes, c.Code)
			}
			if !equalInts(codes, tt.codes) {
				t.Errorf("Codes = %v, want %v", codes, tt.codes)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if e.Status != tt.status || e.RayID != "8c1a2b3c4d5e6f70-LHR" {
				t.Errorf("Status, RayID = %d, %q", e.Status, e.RayID)
			}
			msg := e.Error()
			if !strings.HasPrefix(msg, "cloudflare purge: "+tt.kind.String()) || !strings.Contains(msg, "http ") {
				t.Errorf("Error() = %q", msg)
			}
			for _, c := range codes[:min(len(codes), maxCodesInError)] {
				if !strings.Contains(msg, "code "+strconv.Itoa(c)) {
					t.Errorf("Error() = %q does not name code %d", msg, c)
				}
			}
		})
	}
}

func TestParseResponseSuccess(t *testing.T) {
	h := http.Header{"Cf-Ray": {"abc-SJC"}}
	tests := []struct{ body, id string }{
		{`{"errors":[],"messages":[],"result":{"id":"023e105f4ecef8ad9ca31a8372d0c353"},"success":true}`, "023e105f4ecef8ad9ca31a8372d0c353"},
		{`{"success":true,"result":null}`, ""},
		{`{"success":true,"result":["odd"]}`, ""},
		// A success may carry informational messages with codes; they are
		// not errors (token verify answers code 10000 "valid and active").
		{`{"success":true,"errors":[],"messages":[{"code":10000,"message":"This API Token is valid and active"}],"result":{"id":"x"}}`, "x"},
	}
	for _, tt := range tests {
		for _, status := range []int{200, 202} {
			resp, e := parseResponse(status, h, []byte(tt.body), time.Time{})
			if e != nil {
				t.Fatalf("parseResponse(%d, %s): %v", status, tt.body, e)
			}
			if resp != (Response{ID: tt.id, RayID: "abc-SJC"}) {
				t.Errorf("parseResponse(%s) = %+v", tt.body, resp)
			}
		}
	}
}

func TestErrorMethods(t *testing.T) {
	names := map[Kind]string{KindRateLimited: "rate_limited", KindTooManyKeys: "too_many_keys", KindClient: "client", KindAuth: "auth", KindServer: "server", KindNetwork: "network", 0: "unknown", 99: "unknown"}
	for k, want := range names {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k, want)
		}
	}
	cause := errors.New("connection reset by peer")
	e := &Error{Kind: KindNetwork, Err: cause}
	if !errors.Is(e, cause) || errors.Unwrap(e) != cause {
		t.Error("Unwrap does not reach Err")
	}
	if got := e.Error(); got != "cloudflare purge: network: connection reset by peer" {
		t.Errorf("Error() = %q", got)
	}
	e = &Error{Kind: KindRateLimited, Status: 429, RetryAfter: 12 * time.Second, RayID: "r1",
		Codes: []Code{{1134, "a"}, {2, "b"}, {3, "c"}, {4, strings.Repeat("x", 500)}}}
	got := e.Error()
	want := `cloudflare purge: rate_limited: http 429: code 1134 "a"; code 2 "b"; code 3 "c" (+1 more) (retry after 12s) (ray r1)`
	if got != want {
		t.Errorf("Error() =\n %s\nwant\n %s", got, want)
	}
	if !e.HasCode(3) || e.HasCode(5) {
		t.Error("HasCode wrong")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A "too many keys" refusal that states the maximum carries it, so that the
// caller resends in chunks of that size at once instead of halving.
func TestTooManyKeysStatesTheMaximum(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   int
	}{
		{"per request", 400, failBody(`{"code":1094,"message":"Exceeded maximum amount of 30 files per request"}`), 30},
		{"single request", 400, failBody(`{"code":1101,"message":"Exceeded maximum amount of 30 tags that can be purged on a single request"}`), 30},
		{"undocumented code", 400, failBody(`{"code":1122,"message":"Exceeded maximum amount of 100 prefixes that can be purged on a single request"}`), 100},
		{"more than items", 400, failBody(`{"code":1999,"message":"You cannot provide more than 500 items"}`), 500},
		{"maximum of", 400, failBody(`{"code":1997,"message":"a maximum of 30 URLs per request"}`), 30},
		{"in the chain", 400, failBody(`{"code":1000,"message":"Bad request","error_chain":[{"code":1094,"message":"Exceeded maximum amount of 25 files per request"}]}`), 25},
		{"no number", 400, failBody(`{"code":1998,"message":"Too many files in request"}`), 0},
		{"legacy code, other message", 400, failBody(`{"code":1111,"message":"x"}`), 0},
		{"413", 413, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := parseResponse(tt.status, http.Header{}, []byte(tt.body), time.Now())
			if e == nil || e.Kind != KindTooManyKeys {
				t.Fatalf("parseResponse = %v, want too_many_keys", e)
			}
			if e.MaxKeys != tt.want {
				t.Errorf("MaxKeys = %d, want %d", e.MaxKeys, tt.want)
			}
		})
	}
	// Another kind of refusal never carries a maximum, even if a number
	// follows "at most" in its message.
	_, e := parseResponse(400, http.Header{}, []byte(failBody(`{"code":1100,"message":"Tag exceeds maximum length of 1024 characters"}`)), time.Now())
	if e == nil || e.Kind != KindClient || e.MaxKeys != 0 {
		t.Errorf("tag too long = %+v, want client with no MaxKeys", e)
	}
}
