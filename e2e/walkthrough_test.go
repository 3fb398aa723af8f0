package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The five-minute walk-through: a burst of 40 URLs (33 distinct) published
// in one go is purged in one batched files call, and the stream drains.
func TestWalkThrough(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)

	// 8 intents of 5 URLs; neighbours share a URL, so 33 are distinct.
	var lines strings.Builder
	want := map[string]bool{}
	for i := range 8 {
		var urls []string
		for j := range 5 {
			u := fmt.Sprintf("https://www.example.com/walk/%d", i*4+j)
			urls = append(urls, u)
			want[u] = true
		}
		b, err := json.Marshal(map[string]any{"zone": "example.com", "files": urls})
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(b)
		lines.WriteByte('\n')
	}
	if len(want) != 33 {
		t.Fatalf("test bug: %d distinct URLs", len(want))
	}
	out := ctl(t, lines.String(), "publish", "--server", s.natsURL, "-f", "-")
	if !strings.Contains(out, "published 8 intents (40 items)") {
		t.Errorf("purgectl publish printed %q", out)
	}
	s.waitDrained()

	calls := s.calls()
	if len(calls) != 1 {
		t.Fatalf("the sandbox received %d calls, want 1 batched files call: %+v", len(calls), calls)
	}
	c := calls[0]
	if c.endpoint != "purge_cache" || c.zone != "example.com" || c.kind != "files" || c.keys != 33 || c.status != 200 || c.outcome != "ok" {
		t.Errorf("call %+v, want purge_cache example.com files with 33 keys, 200 ok", c)
	}
	got := slices.Clone(c.shown)
	slices.Sort(got)
	if len(got) != 33 || len(slices.Compact(got)) != 33 {
		t.Errorf("the call carried %v, want the 33 distinct URLs once each", got)
	}
	for _, k := range got {
		if !want[k] {
			t.Errorf("the call carried %q, which was never published", k)
		}
	}

	// The same from flags, in several invocations: everything is purged.
	for i := range 3 {
		args := []string{"publish", "--server", s.natsURL, "--zone", "example.com"}
		for j := range 4 {
			args = append(args, "--url", fmt.Sprintf("https://www.example.com/flags/%d", i+j))
		}
		ctl(t, "", args...)
	}
	s.waitDrained()
	purged := s.purged()
	for i := range 6 {
		if u := fmt.Sprintf("https://www.example.com/flags/%d", i); purged[u] == 0 {
			t.Errorf("%s published with --url was never purged", u)
		}
	}

	// One URL a line, with a comment, a blank line and a duplicate.
	before := len(s.calls())
	list := "# after deploy 1234\nhttps://www.example.com/list/a\n\nhttps://www.example.com/list/b\nhttps://www.example.com/list/a\n"
	out = ctl(t, list, "publish", "--server", s.natsURL, "--zone", "example.com", "-f", "-", "--urls")
	if !strings.Contains(out, "published 1 intents (3 items)") {
		t.Errorf("purgectl publish --urls printed %q", out)
	}
	s.waitDrained()
	calls = s.calls()[before:]
	if len(calls) != 1 || calls[0].keys != 2 || !slices.Equal(calls[0].shown, []string{"https://www.example.com/list/a", "https://www.example.com/list/b"}) {
		t.Errorf("calls for the URL list: %+v; want one call purging a and b once", calls)
	}
}

// POST /v1/intents on the running daemon, with the ingest token of
// examples/sandbox.yaml, reaches the sandbox.
func TestHTTPIngest(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	body := `[{"zone":"example.com","files":["https://www.example.com/http/1"]},
		{"zone":"example.com","tags":["http-tag"]}]`
	req, err := http.NewRequest(http.MethodPost, "http://"+s.httpAddr+"/v1/intents", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Accepted []struct {
			Stream string
			Seq    uint64
		}
	}
	err = json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || err != nil || len(answer.Accepted) != 2 {
		t.Fatalf("POST /v1/intents: %d %+v %v; want 202 with two sequences", res.StatusCode, answer, err)
	}
	s.waitDrained()
	purged := s.purged()
	if purged["https://www.example.com/http/1"] != 1 || purged["http-tag"] != 1 {
		t.Errorf("the sandbox purged %v; want the URL and the tag once each", purged)
	}

	// And without the token: refused, nothing reaches the sandbox.
	before := len(s.calls())
	res, err = http.Post("http://"+s.httpAddr+"/v1/intents", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a token: %d, want 401", res.StatusCode)
	}
	if st := ctlStatus(t, s.natsURL); st.streamMsgs != 0 {
		t.Errorf("%d messages stored from an unauthorised POST", st.streamMsgs)
	}
	if n := len(s.calls()); n != before {
		t.Errorf("the sandbox received %d calls after an unauthorised POST", n-before)
	}
}
