package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/intent"
)

const goodIntent = `{"zone":"example.com","files":["https://www.example.com/a.css"],"id":"cms-1","source":"test"}`

func TestIngestStoresOneIntent(t *testing.T) {
	e := newEnv(t)
	r := e.post(testToken, []byte(goodIntent))
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.code, r.raw)
	}
	want := []accepted{{ID: "cms-1", Stream: "PURGE", Seq: 1}}
	if fmt.Sprint(r.body.Accepted) != fmt.Sprint(want) {
		t.Fatalf("accepted %+v, want %+v", r.body.Accepted, want)
	}
	msgs := e.stored()
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	m := msgs[0]
	if got := m.Header.Get(nats.MsgIdHdr); got != "cms-1" {
		t.Errorf("Nats-Msg-Id %q, want cms-1", got)
	}
	if m.Subject != "purge.example_com" {
		t.Errorf("subject %q, want purge.example_com", m.Subject)
	}
	in, err := intent.Decode(m.Data)
	if err != nil {
		t.Fatalf("stored body does not decode: %v: %s", err, m.Data)
	}
	if in.Zone != "example.com" || len(in.Files) != 1 || in.Files[0].URL != "https://www.example.com/a.css" || in.Source != "test" {
		t.Errorf("stored intent %+v differs from the posted one", in)
	}
	if got := e.counter("202"); got != 1 {
		t.Errorf("ingest_requests_total{code=202} = %v, want 1", got)
	}
}

func TestIngestGivesAnIntentWithoutIDOne(t *testing.T) {
	e := newEnv(t)
	r := e.post(testToken, []byte(`{"zone":"example.com","tags":["post-42"]}`))
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.code, r.raw)
	}
	if len(r.body.Accepted) != 1 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.body.Accepted[0].ID) {
		t.Fatalf("accepted %+v, want one intent with a random 32-hex id", r.body.Accepted)
	}
	msgs := e.stored()
	if len(msgs) != 1 || msgs[0].Header.Get(nats.MsgIdHdr) != r.body.Accepted[0].ID {
		t.Fatalf("stored message does not carry the id %s as Nats-Msg-Id", r.body.Accepted[0].ID)
	}
}

func TestIngestStoresAnArray(t *testing.T) {
	e := newEnv(t)
	body := `[
		{"zone":"example.com","files":["https://www.example.com/1"]},
		{"files":["https://img.example.com/2"]},
		{"zone":"023e105f4ecef8ad9ca31a8372d0c353","hosts":["img.example.com"],"mode":"invalidate"}
	]`
	r := e.post(testToken, []byte(body))
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.code, r.raw)
	}
	if len(r.body.Accepted) != 3 {
		t.Fatalf("accepted %+v, want 3", r.body.Accepted)
	}
	ids := map[string]bool{}
	for i, a := range r.body.Accepted {
		if a.Seq != uint64(i+1) || a.Stream != "PURGE" {
			t.Errorf("accepted[%d] = %+v, want stream PURGE seq %d", i, a, i+1)
		}
		ids[a.ID] = true
	}
	msgs := e.stored()
	if len(msgs) != 3 {
		t.Fatalf("%d messages stored, want 3", len(msgs))
	}
	for i, m := range msgs {
		id := m.Header.Get(nats.MsgIdHdr)
		if !ids[id] {
			t.Errorf("message %d has Nats-Msg-Id %q, not one of the answered ids", i, id)
		}
		delete(ids, id)
	}
	if got := msgs[1].Subject; got != "purge.auto" {
		t.Errorf("zone-less intent stored on %q, want purge.auto", got)
	}
}

func TestIngestRepeatedIDIsStoredOnce(t *testing.T) {
	e := newEnv(t)
	first := e.post(testToken, []byte(goodIntent))
	second := e.post(testToken, []byte(goodIntent))
	if first.code != http.StatusAccepted || second.code != http.StatusAccepted {
		t.Fatalf("statuses %d, %d; want 202 twice", first.code, second.code)
	}
	if first.body.Accepted[0].Duplicate || !second.body.Accepted[0].Duplicate {
		t.Errorf("duplicate flags %v, %v; want false, true", first.body.Accepted[0].Duplicate, second.body.Accepted[0].Duplicate)
	}
	if n := len(e.stored()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestIngestRefusesBadIntentsNamingTheField(t *testing.T) {
	urls := make([]string, 10000)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://www.example.com/p/%d", i)
	}
	huge := mustJSON(t, map[string]any{"zone": "example.com", "files": urls})
	deepInside := `{"zone":"example.com","files":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	deepArray := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	thousandAndOne := "[" + strings.TrimSuffix(strings.Repeat(goodIntent+",", 1001), ",") + "]"

	cases := []struct {
		name, body string
		want       []string // substrings of the error, all required
	}{
		{"unknown zone", `{"zone":"nope.com","files":["https://nope.com/a"]}`, []string{"zone", `"nope.com"`}},
		{"zoneless host matching no zone", `{"files":["https://nope.org/a"]}`, []string{"files[0]", "nope.org"}},
		{"url outside its zone", `{"zone":"example.com","files":["https://www.example.org/a"]}`, []string{"files[0]", "example.org"}},
		{"bad url scheme", `{"zone":"example.com","files":["ftp://www.example.com/a"]}`, []string{"files[0]", "ftp://www.example.com/a"}},
		{"relative url", `{"zone":"example.com","files":["/a.css"]}`, []string{"files[0]", "/a.css"}},
		{"space in url", `{"zone":"example.com","files":["https://www.example.com/a b"]}`, []string{"files[0]"}},
		{"unknown field", `{"zone":"example.com","mdoe":"purge","files":["https://www.example.com/a"]}`, []string{"mdoe", "unknown field"}},
		{"field in other case", `{"Zone":"example.com","files":["https://www.example.com/a"]}`, []string{"Zone", "unknown field"}},
		{"duplicate field", `{"zone":"example.com","files":["https://www.example.com/a"],"zone":"example.com"}`, []string{"zone", "twice"}},
		{"invalid utf-8", "{\"zone\":\"example.com\",\"tags\":[\"caf\xe9\"]}", []string{"UTF-8"}},
		{"deep nesting inside an intent", deepInside, []string{"files"}},
		{"deep nesting of arrays", deepArray, []string{"array"}},
		{"zone of wrong type", `{"zone":42,"files":["https://www.example.com/a"]}`, []string{"zone", "string"}},
		{"files of wrong type", `{"zone":"example.com","files":"https://www.example.com/a"}`, []string{"files"}},
		{"purge_everything of wrong type", `{"zone":"example.com","purge_everything":"yes"}`, []string{"purge_everything"}},
		{"file entry of wrong type", `{"zone":"example.com","files":[7]}`, []string{"files[0]"}},
		{"null in a list", `{"zone":"example.com","tags":[null]}`, []string{"tags[0]"}},
		{"control character in tag", `{"zone":"example.com","tags":["ok","a\u0001b"]}`, []string{"tags[1]"}},
		{"space in tag", `{"zone":"example.com","tags":["post 42"]}`, []string{"tags[0]", "post 42"}},
		{"tag too long", `{"zone":"example.com","tags":["` + strings.Repeat("t", 1025) + `"]}`, []string{"tags[0]"}},
		{"bad mode", `{"zone":"example.com","mode":"delete","tags":["a"]}`, []string{"mode", "delete"}},
		{"tags without zone", `{"tags":["a"]}`, []string{"zone"}},
		{"no items", `{"zone":"example.com"}`, []string{"item"}},
		{"10,000 items", string(huge), []string{"files", "1000"}},
		{"not an object", `"https://www.example.com/a"`, []string{"object"}},
		{"null body", `null`, []string{"object"}},
		{"syntax error", `{"zone":"example.com",`, []string{"body"}},
		{"trailing data", goodIntent + ` {}`, []string{"trailing"}},
		{"empty body", ``, []string{"empty"}},
		{"blank body", " \r\n\t ", []string{"empty"}},
		{"empty array", `[]`, []string{"array", "got 0"}},
		{"array over 1000 intents", thousandAndOne, []string{"1000", "got 1001"}},
		{"array of non-objects", `[1]`, []string{"object"}},
	}
	e := newEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.post(testToken, []byte(c.body))
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.code, r.raw)
			}
			for _, w := range c.want {
				if !strings.Contains(r.body.Error, w) {
					t.Errorf("error %q does not contain %q", r.body.Error, w)
				}
			}
			if len(r.body.Error) > 2000 {
				t.Errorf("error is %d bytes long; it should quote a bounded part of the input", len(r.body.Error))
			}
		})
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored from refused requests, want 0", n)
	}
	if got := e.counter("400"); got != float64(len(cases)) {
		t.Errorf("ingest_requests_total{code=400} = %v, want %d", got, len(cases))
	}
}

func TestIngestStoresNothingOfABatchWithOneBadIntent(t *testing.T) {
	e := newEnv(t)
	body := `[
		{"zone":"example.com","files":["https://www.example.com/1"]},
		{"zone":"example.com","files":["https://www.example.com/2"]},
		{"zone":"example.com","tags":["bad tag"]},
		{"zone":"example.com","files":["https://www.example.com/3"]}
	]`
	r := e.post(testToken, []byte(body))
	if r.code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.code, r.raw)
	}
	if !strings.Contains(r.body.Error, "intent 2") || !strings.Contains(r.body.Error, "tags[0]") {
		t.Errorf("error %q should name intent 2 and tags[0]", r.body.Error)
	}
	if len(r.body.Accepted) != 0 {
		t.Errorf("accepted %+v in a refused request", r.body.Accepted)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored, want 0", n)
	}
}

func TestIngestAcceptsABodyOfExactlyTheLimit(t *testing.T) {
	e := newEnv(t)
	body := []byte(goodIntent)
	body = append(body, bytes.Repeat([]byte(" "), intent.MaxBodySize-len(body))...)
	r := e.post(testToken, body)
	if r.code != http.StatusAccepted {
		t.Fatalf("status %d for a body of exactly %d bytes, want 202: %.300s", r.code, len(body), r.raw)
	}
}

func TestIngestRefusesABodyOverTheLimit(t *testing.T) {
	e := newEnv(t)
	for _, size := range []int{intent.MaxBodySize + 1, 3 * intent.MaxBodySize} {
		body := []byte(goodIntent)
		body = append(body, bytes.Repeat([]byte(" "), size-len(body))...)
		r := e.post(testToken, body)
		if r.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %d bytes, want 413: %.300s", r.code, size, r.raw)
		}
		if !strings.Contains(r.body.Error, fmt.Sprint(intent.MaxBodySize)) {
			t.Errorf("error %q should state the limit", r.body.Error)
		}
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored, want 0", n)
	}
	if got := e.counter("413"); got != 2 {
		t.Errorf("ingest_requests_total{code=413} = %v, want 2", got)
	}
}

func TestIngestRefusesMissingOrWrongTokens(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Tokens = []string{"another-token-0123456789", testToken} })
	cases := map[string]string{
		"none":          "",
		"wrong":         "Bearer wrong-token-0123456789abc",
		"prefix":        "Bearer " + testToken[:len(testToken)-1],
		"longer":        "Bearer " + testToken + "x",
		"empty bearer":  "Bearer ",
		"basic scheme":  "Basic " + testToken,
		"no scheme":     testToken,
		"trailing junk": "Bearer " + testToken + " x",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/intents", strings.NewReader(goodIntent))
			if err != nil {
				t.Fatal(err)
			}
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			r := e.do(req)
			if r.code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.code, r.raw)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			if strings.Contains(r.raw, testToken[:10]) {
				t.Errorf("answer echoes the token: %s", r.raw)
			}
		})
	}
	if n := len(e.stored()); n != 0 {
		t.Fatalf("%d messages stored without a valid token, want 0", n)
	}
	// Every configured token works.
	for _, tok := range []string{"another-token-0123456789", testToken} {
		if r := e.post(tok, []byte(`{"zone":"example.com","tags":["x"]}`)); r.code != http.StatusAccepted {
			t.Errorf("token %d...: status %d, want 202", len(tok), r.code)
		}
	}
	if got := e.counter("401"); got != float64(len(cases)) {
		t.Errorf("ingest_requests_total{code=401} = %v, want %d", got, len(cases))
	}
}

// The authentication scheme is case-insensitive (RFC 9110, section 11.1), so
// a client that sends "bearer" or "BEARER" with the right token is
// authorised.
func TestIngestAcceptsTheBearerSchemeInAnyCase(t *testing.T) {
	e := newEnv(t)
	for _, scheme := range []string{"bearer", "BEARER", "beaRer"} {
		req, err := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/intents", strings.NewReader(`{"zone":"example.com","tags":["a"]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", scheme+" "+testToken)
		if r := e.do(req); r.code != http.StatusAccepted {
			t.Errorf("Authorization: %s <token>: status %d, want 202: %s", scheme, r.code, r.raw)
		}
	}
}

func TestIngestIsDisabledWithoutTokens(t *testing.T) {
	for name, opt := range map[string]envOpt{
		"no tokens":    func(c *Config) { c.Tokens = nil },
		"no publisher": func(c *Config) { c.Publisher = nil },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opt)
			for _, tok := range []string{"", testToken, "whatever-token-0123456789"} {
				r := e.post(tok, []byte(goodIntent))
				if r.code != http.StatusNotFound {
					t.Errorf("token %q: status %d, want 404: %s", tok, r.code, r.raw)
				}
				if r.header.Get("WWW-Authenticate") != "" {
					t.Errorf("token %q: a 404 carries a WWW-Authenticate challenge", tok)
				}
			}
			if n := len(e.stored()); n != 0 {
				t.Errorf("%d messages stored, want 0", n)
			}
		})
	}
}

func TestIngestAnswers503WhenTheStreamIsMissing(t *testing.T) {
	e := newEnv(t)
	if err := e.js.DeleteStream(context.Background(), "PURGE"); err != nil {
		t.Fatal(err)
	}
	r := e.post(testToken, []byte(goodIntent))
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", r.code, r.raw)
	}
	if !strings.Contains(r.body.Error, "not stored") {
		t.Errorf("error %q should say the intent was not stored", r.body.Error)
	}
	if got := e.counter("503"); got != 1 {
		t.Errorf("ingest_requests_total{code=503} = %v, want 1", got)
	}
}

func TestIngestAnswers503WhenNATSIsDown(t *testing.T) {
	e := newEnv(t)
	// A second connection whose JetStream context gives up quickly, so the
	// request does not wait the default 5s for a server that is gone.
	nc, err := nats.Connect(e.ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Tokens: []string{testToken}, Publisher: js})
	e.ns.Shutdown()
	e.ns.WaitForShutdown()

	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)
	r := e.post(testToken, []byte(goodIntent))
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", r.code, r.raw)
	}
}

// failingPublisher stores the first n intents and refuses the rest.
type failingPublisher struct {
	jetstream.Publisher
	n int
}

func (p *failingPublisher) Publish(ctx context.Context, subj string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if p.n == 0 {
		return nil, errors.New("nats: maximum messages exceeded")
	}
	p.n--
	return p.Publisher.Publish(ctx, subj, data, opts...)
}

// PublishMsg is what intent.Publish calls.
func (p *failingPublisher) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if p.n == 0 {
		return nil, errors.New("nats: maximum messages exceeded")
	}
	p.n--
	return p.Publisher.PublishMsg(ctx, m, opts...)
}

func TestIngestReportsWhatWasStoredBeforeAFailure(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Publisher = &failingPublisher{Publisher: c.Publisher, n: 1} })
	body := `[{"zone":"example.com","tags":["a"],"id":"first"},{"zone":"example.com","tags":["b"],"id":"second"}]`
	r := e.post(testToken, []byte(body))
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", r.code, r.raw)
	}
	if !strings.Contains(r.body.Error, "intent 1") {
		t.Errorf("error %q should name intent 1", r.body.Error)
	}
	if len(r.body.Accepted) != 1 || r.body.Accepted[0].ID != "first" || r.body.Accepted[0].Seq != 1 {
		t.Errorf("accepted %+v, want just the first intent at seq 1", r.body.Accepted)
	}
	if n := len(e.stored()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestIngestRoutesOnlyPOST(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v1/intents")
	if r.code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/intents: status %d, want 405", r.code)
	}
}

// bigIntent returns an intent of intent.MaxItems URLs whose JSON is exactly
// size bytes: prefix, the files, then suffix.
func bigIntent(t *testing.T, size int, prefix, suffix string) []byte {
	t.Helper()
	const n = intent.MaxItems
	room := size - len(prefix) - len(suffix) - (n - 1) // commas
	per := room / n
	urls := make([]string, n)
	for i := range urls {
		l := per
		if i == n-1 {
			l = room - per*(n-1)
		}
		head := fmt.Sprintf("https://www.example.com/%04d/", i)
		urls[i] = `"` + head + strings.Repeat("x", l-2-len(head)) + `"`
	}
	body := prefix + strings.Join(urls, ",") + suffix
	if len(body) != size {
		t.Fatalf("test bug: body is %d bytes, want %d", len(body), size)
	}
	return []byte(body)
}

// An intent that is valid and within the size limit as posted, but that
// encodes to more than intent.MaxBodySize once it is given an id, can
// never be stored: the answer must be a client error saying so, not a 503
// that tells the client to retry.
func TestIngestRefusesAnIntentTooLargeToStoreAsAClientError(t *testing.T) {
	e := newEnv(t)
	// 20 bytes under the limit; the id Publish adds (`,"id":"<32 hex>"`,
	// 40 bytes) takes it over.
	body := bigIntent(t, intent.MaxBodySize-20, `{"zone":"example.com","files":[`, `]}`)
	r := e.post(testToken, body)
	if r.code != http.StatusBadRequest && r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 400 or 413 (retrying cannot help): %.300s", r.code, r.raw)
	}
	if !strings.Contains(r.body.Error, "split") {
		t.Errorf("error %q should tell the client to split the intent", r.body.Error)
	}
	if n := len(e.stored()); n != 0 {
		t.Errorf("%d messages stored, want 0", n)
	}
}

// An intent of exactly intent.MaxBodySize bytes passes every check of
// package intent, but with its Nats-Msg-Id header it is over the NATS
// server's default max_payload (also 1 MiB), which refuses it. Either it is
// stored, or it is refused as too large; a 503 would have the client retry
// a request that can never succeed.
func TestIngestAnswersAnIntentAtTheSizeLimitWithoutA503(t *testing.T) {
	e := newEnv(t)
	body := bigIntent(t, intent.MaxBodySize, `{"zone":"example.com","files":[`, `],"id":"at-the-limit"}`)
	r := e.post(testToken, body)
	switch r.code {
	case http.StatusAccepted:
		if n := len(e.stored()); n != 1 {
			t.Errorf("202 but %d messages stored", n)
		}
	case http.StatusRequestEntityTooLarge, http.StatusBadRequest:
		if n := len(e.stored()); n != 0 {
			t.Errorf("%d but %d messages stored", r.code, n)
		}
	default:
		t.Fatalf("status %d, want 202, or 413 saying the intent is too large: %.300s", r.code, r.raw)
	}
}
