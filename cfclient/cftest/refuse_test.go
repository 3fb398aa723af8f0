package cftest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// TestRefusesWhatCloudflareRefuses sends raw requests (most of which
// cfclient would refuse to build) and checks status, codes and the
// recorded outcome.
func TestRefusesWhatCloudflareRefuses(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	slashes := "www.example.com" + strings.Repeat("/d", 32)
	tests := []struct {
		name    string
		method  string
		path    string // after /client/v4
		header  http.Header
		body    string
		status  int
		codes   []int
		outcome string
		kind    string
		msg     string // a substring of the first message
	}{
		// Body shape.
		{name: "everything and files", body: `{"purge_everything":true,"files":["https://example.com/a"]}`, status: 400, codes: []int{1092}, outcome: "invalid", kind: "mixed",
			msg: `Request cannot contain "purge_everything" and any of "files", "tags", "hosts" or "prefixes"`},
		{name: "everything false and tags", body: `{"purge_everything":false,"tags":["a"]}`, status: 400, codes: []int{1092}, outcome: "invalid", kind: "mixed"},
		{name: "tags and hosts", body: `{"tags":["a"],"hosts":["example.com"]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "mixed", msg: "exactly one"},
		{name: "files and prefixes", body: `{"files":["https://example.com/"],"prefixes":["example.com/a"]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "mixed"},
		{name: "no selector", body: `{}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "empty"},
		{name: "empty tags", body: `{"tags":[]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "empty"},
		{name: "null files", body: `{"files":null}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "empty"},
		{name: "unknown field only", body: `{"urls":["https://example.com/"]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "invalid"},
		{name: "unknown field beside tags", body: `{"tags":["a"],"zone":"example.com"}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "tags", msg: `"zone"`},
		{name: "invalid json", body: `{"tags":["a"]`, status: 400, codes: []int{6007}, outcome: "invalid", kind: "invalid", msg: "Malformed JSON"},
		{name: "json array", body: `["a"]`, status: 400, codes: []int{6007}, outcome: "invalid", kind: "invalid"},
		{name: "tags not array", body: `{"tags":"a"}`, status: 400, codes: []int{1014}, outcome: "invalid", kind: "invalid"},
		{name: "tags of numbers", body: `{"tags":[1,2]}`, status: 400, codes: []int{1014}, outcome: "invalid", kind: "invalid"},
		{name: "everything false", body: `{"purge_everything":false}`, status: 400, codes: []int{1013}, outcome: "invalid", kind: "purge_everything"},
		{name: "files object unknown key", body: `{"files":[{"url":"https://example.com/","header":{}}]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "invalid"},
		{name: "files object no url", body: `{"files":[{"headers":{"A":"b"}}]}`, status: 400, codes: []int{1012}, outcome: "invalid", kind: "invalid"},
		{name: "content type", header: http.Header{"Content-Type": {"text/plain"}}, body: `{"tags":["a"]}`, status: 400, codes: []int{9207}, outcome: "invalid", kind: "tags"},

		// Per-request maxima (free plan: 100).
		{name: "101 files", body: filesBody(101, "www.example.com"), status: 400, codes: []int{1094}, outcome: "too_many", kind: "files", msg: "Exceeded maximum amount of 100 files"},
		{name: "101 tags", body: listBody("tags", 101, "t"), status: 400, codes: []int{1101}, outcome: "too_many", kind: "tags"},
		{name: "101 hosts", body: listBody("hosts", 101, ".example.com"), status: 400, codes: []int{1111}, outcome: "too_many", kind: "hosts"},
		{name: "101 prefixes", body: listBody("prefixes", 101, ".example.com/p"), status: 400, codes: []int{1122}, outcome: "too_many", kind: "prefixes", msg: "Exceeded maximum amount of 100 prefixes"},

		// Keys.
		{name: "url in other zone", body: `{"files":["https://example.com/a","https://evil.org/x"]}`, status: 400, codes: []int{1082}, outcome: "invalid", kind: "files",
			msg: `Unable to purge "https://evil.org/x". You can only purge files for this zone`},
		{name: "url in look-alike zone", body: `{"files":["https://notexample.com/x"]}`, status: 400, codes: []int{1082}, outcome: "invalid", kind: "files"},
		{name: "url of other zone same account", body: `{"files":["https://www.example.org/x"]}`, status: 400, codes: []int{1082}, outcome: "invalid", kind: "files"},
		{name: "url ftp", body: `{"files":["ftp://example.com/a"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "files"},
		{name: "url relative", body: `{"files":["/a/b"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "files"},
		{name: "url bad header name", body: `{"files":[{"url":"https://example.com/a","headers":{"Bad Name":"x"}}]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "files"},
		{name: "tag with space", body: `{"tags":["good","two words"]}`, status: 400, codes: []int{1100}, outcome: "invalid", kind: "tags", msg: "two words"},
		{name: "tag non ascii", body: `{"tags":["café"]}`, status: 400, codes: []int{1100}, outcome: "invalid", kind: "tags"},
		{name: "tag too long", body: `{"tags":["` + long(1025) + `"]}`, status: 400, codes: []int{1100}, outcome: "invalid", kind: "tags", msg: "1024"},
		{name: "tag empty", body: `{"tags":[""]}`, status: 400, codes: []int{1100}, outcome: "invalid", kind: "tags"},
		{name: "host too long", body: `{"hosts":["` + long(190) + `.example.com"]}`, status: 400, codes: []int{1114}, outcome: "invalid", kind: "hosts"},
		{name: "host with port", body: `{"hosts":["www.example.com:8080"]}`, status: 400, codes: []int{1115}, outcome: "invalid", kind: "hosts"},
		{name: "host with scheme", body: `{"hosts":["https://www.example.com"]}`, status: 400, codes: []int{1115}, outcome: "invalid", kind: "hosts"},
		{name: "host out of zone", body: `{"hosts":["www.example.net"]}`, status: 400, codes: []int{1082}, outcome: "invalid", kind: "hosts"},
		{name: "prefix with scheme", body: `{"prefixes":["https://www.example.com/blog"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "prefixes"},
		{name: "prefix with query", body: `{"prefixes":["www.example.com/blog?x=1"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "prefixes"},
		{name: "prefix with fragment", body: `{"prefixes":["www.example.com/blog#top"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "prefixes"},
		{name: "prefix 32 slashes", body: `{"prefixes":["` + slashes + `"]}`, status: 400, codes: []int{1015}, outcome: "invalid", kind: "prefixes", msg: "31"},
		{name: "prefix out of zone", body: `{"prefixes":["cdn.other.net/a"]}`, status: 400, codes: []int{1082}, outcome: "invalid", kind: "prefixes"},

		// Credentials.
		{name: "wrong token", header: bearer("nope"), body: `{"tags":["a"]}`, status: 403, codes: []int{10000}, outcome: "auth", kind: "tags", msg: "Authentication error"},
		{name: "no credentials", header: http.Header{"Authorization": nil}, body: `{"tags":["a"]}`, status: 403, codes: []int{10000}, outcome: "auth", kind: "tags"},
		{name: "other account's token", header: bearer(tokenC), body: `{"tags":["a"]}`, status: 403, codes: []int{10000}, outcome: "auth", kind: "tags"},
		{name: "malformed authorization", header: http.Header{"Authorization": {"Token " + tokenA}}, body: `{"tags":["a"]}`, status: 400, codes: []int{6003}, outcome: "auth", kind: "tags"},
		{name: "email without key", header: http.Header{"Authorization": nil, "X-Auth-Email": {"ops@example.com"}}, body: `{"tags":["a"]}`, status: 400, codes: []int{6003}, outcome: "auth", kind: "tags"},
		{name: "email key unknown", header: http.Header{"Authorization": nil, "X-Auth-Email": {"ops@example.com"}, "X-Auth-Key": {"k"}}, body: `{"tags":["a"]}`, status: 403, codes: []int{10000}, outcome: "auth", kind: "tags"},
		{name: "auth before body", header: bearer("nope"), body: `not json`, status: 403, codes: []int{10000}, outcome: "auth", kind: "invalid"},

		// Routing.
		{name: "unknown zone", path: "/zones/ffffffffffffffffffffffffffffffff/purge_cache", body: `{"tags":["a"]}`, status: 400, codes: []int{7003, 7000}, outcome: "not_found", kind: "tags",
			msg: "Could not route to /zones/ffffffffffffffffffffffffffffffff/purge_cache, perhaps your object identifier is invalid?"},
		{name: "zone name as id", path: "/zones/example.com/purge_cache", body: `{"tags":["a"]}`, status: 400, codes: []int{7003, 7000}, outcome: "not_found", kind: "tags"},
		{name: "unknown endpoint", path: "/zones/" + zoneA + "/purge", body: `{"tags":["a"]}`, status: 404, codes: []int{7000}, outcome: "not_found", kind: "tags"},
		{name: "get", method: http.MethodGet, body: ``, status: 405, codes: []int{7001}, outcome: "not_found", kind: "invalid"},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.Reset()
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/zones/" + zoneA + "/purge_cache"
			}
			h := bearer(tokenA)
			for k, v := range tt.header {
				h[k] = v
			}
			r := raw(t, method, f.srv.URL+path, h, tt.body)
			if r.status != tt.status || !slices.Equal(r.codes(), tt.codes) || r.env.Success || r.env.Result != nil || r.ray == "" {
				t.Errorf("answer = %d %v success=%v result=%v ray=%q, want %d %v", r.status, r.codes(), r.env.Success, r.env.Result, r.ray, tt.status, tt.codes)
			}
			if tt.msg != "" && (len(r.env.Errors) == 0 || !strings.Contains(r.env.Errors[0].Message, tt.msg)) {
				t.Errorf("errors = %+v, want a message containing %q", r.env.Errors, tt.msg)
			}
			calls := f.srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("recorded %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Outcome != tt.outcome || c.Status != tt.status || !slices.Equal(c.Codes, tt.codes) || c.Kind != tt.kind {
				t.Errorf("call = %+v, want outcome %s kind %s", c, tt.outcome, tt.kind)
			}
			if len(f.srv.Accepted()) != 0 {
				t.Error("refused call counted as accepted")
			}
		})
	}
	// None of the refusals took a token: the whole free burst is left.
	for i := range 25 {
		if err := f.purge(t, zoneA, tagReq("t"+strings.Repeat("x", i))); err != nil {
			t.Fatalf("call %d after refusals: %v", i, err)
		}
	}
}

func TestErrorChainOnMalformedAuth(t *testing.T) {
	f := newFixture(t)
	r := raw(t, http.MethodPost, f.srv.URL+"/zones/"+zoneA+"/purge_cache", http.Header{"Authorization": {"Bearer"}}, `{"tags":["a"]}`)
	if len(r.env.Errors) != 1 || len(r.env.Errors[0].ErrorChain) != 1 || r.env.Errors[0].ErrorChain[0].Code != 6111 {
		t.Errorf("errors = %+v, want 6003 with chain 6111", r.env.Errors)
	}
}

func TestAcceptsAtTheLimits(t *testing.T) {
	f := newFixture(t, cftest.WithUnlimited())
	long := func(n int) string { return strings.Repeat("a", n) }
	bodies := []string{
		filesBody(100, "www.example.com"),
		listBody("tags", 100, "t"),
		listBody("hosts", 100, ".example.com"),
		listBody("prefixes", 100, ".example.com/p"),
		`{"tags":["` + long(1024) + `","!~#$%&'*+-.^_|"]}`,
		`{"hosts":["` + strings.Repeat("abcd.", 37) + `www.example.com","EXAMPLE.com","a_b.example.com"]}`,
		`{"prefixes":["www.example.com` + strings.Repeat("/d", 31) + `","example.com","WWW.Example.com/Blog/"]}`,
		`{"files":["HTTPS://WWW.EXAMPLE.COM/A","http://example.com:8080/x?y=1#frag","https://sub.deep.example.com/é"]}`,
		`{"files":["https://example.com/a",{"url":"https://example.com/b","headers":{"CF-Device-Type":"mobile"}},{"url":"https://example.com/c"}]}`,
	}
	for _, b := range bodies {
		r := raw(t, http.MethodPost, f.srv.URL+"/zones/"+zoneA+"/purge_cache", bearer(tokenA), b)
		if r.status != 200 || !r.env.Success {
			t.Errorf("body %.80s...: %d %v", b, r.status, r.env.Errors)
		}
	}
}

func filesBody(n int, host string) string {
	var b strings.Builder
	b.WriteString(`{"files":[`)
	for i, f := range urls(n, host) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f.URL + `"`)
	}
	b.WriteString("]}")
	return b.String()
}

// listBody lists n keys "k<i><suffix>" under field.
func listBody(field string, n int, suffix string) string {
	var b strings.Builder
	b.WriteString(`{"` + field + `":[`)
	for i, k := range keys(n, "k") {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + suffix + `"`)
	}
	b.WriteString("]}")
	return b.String()
}
