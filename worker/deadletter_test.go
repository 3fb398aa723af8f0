package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// Invalid intents among valid ones: exactly the invalid ones land in the
// dead-letter stream, with a reason naming the field and value and the
// original subject; the valid ones are purged.
func TestInvalidIntentsAreDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start()
	invalid := map[string]string{ // body -> what the reason must mention
		`{"zone":"example.com","files":["https://www.example.com/a"`:          "json",
		`{"zone":"nope.example","files":["https://x.nope.example/a"]}`:        "nope.example",
		`{"zone":"example.com","files":["https://www.other.org/a"]}`:          "www.other.org",
		`{"zone":"example.com","files":["ftp://www.example.com/a"]}`:          "ftp://www.example.com/a",
		`{"zone":"example.com","tags":["` + strings.Repeat("t", 1025) + `"]}`: "tags[0]",
		`{"zone":"example.com"}`: "item",
		`{"zone":"example.com","files":["https://www.example.com/a"],"mdoe":"invalidate"}`: "mdoe",
	}
	var valid []*intent.Intent
	var published []time.Time
	i := 0
	for body := range invalid {
		h.publishRaw("purge.test", []byte(body))
		in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("ok-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/ok/%d", i)}}}
		published = append(published, time.Now())
		h.publish(in)
		valid = append(valid, in)
		i++
	}
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != len(invalid) {
		t.Fatalf("dead-lettered %d messages, want %d", len(dead), len(invalid))
	}
	for _, m := range dead {
		want, ok := invalid[string(m.Data)]
		if !ok {
			t.Errorf("unexpected dead letter %q", m.Data)
			continue
		}
		reason := m.Header.Get(HeaderError)
		if !strings.Contains(strings.ToLower(reason), strings.ToLower(want)) {
			t.Errorf("Purge-Error %q does not mention %q", reason, want)
		}
		if got := m.Header.Get(HeaderSubject); got != "purge.test" {
			t.Errorf("Purge-Subject = %q, want purge.test", got)
		}
	}
	h.coveredAfter(valid, published)
}

// One bad URL inside a full chunk: Cloudflare refuses the whole request, the
// worker bisects down to the bad key, dead-letters only the intent holding
// it, and purges the other 99.
func TestBadKeyInFullChunkIsIsolated(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	const bad = 37
	var intents []*intent.Intent
	var published []time.Time
	for i := range 100 {
		in := &intent.Intent{Zone: "example.com", ID: fmt.Sprintf("chunk-%d", i),
			Files: []intent.File{{URL: fmt.Sprintf("https://www.example.com/item/%d", i)}}}
		intents = append(intents, in)
	}
	h.cf.RejectKeys(intents[bad].Files[0].URL)
	for _, in := range intents {
		published = append(published, time.Now())
		h.publish(in)
	}
	h.start()
	h.waitDrained(30 * time.Second)

	dead := h.dlq()
	if len(dead) != 1 {
		t.Fatalf("dead-lettered %d messages, want 1", len(dead))
	}
	if got, want := dead[0].Header.Get("Purge-Msg-Id"), intents[bad].ID; got != want {
		t.Errorf("dead-lettered intent %q, want %q", got, want)
	}
	if reason := dead[0].Header.Get(HeaderError); !strings.Contains(reason, intents[bad].Files[0].URL) {
		t.Errorf("Purge-Error %q does not name the refused URL", reason)
	}
	good := append(append([]*intent.Intent{}, intents[:bad]...), intents[bad+1:]...)
	goodAt := append(append([]time.Time{}, published[:bad]...), published[bad+1:]...)
	h.coveredAfter(good, goodAt)
	// 1 full chunk, then a bisection: at most 2 calls per level.
	if n := len(h.cf.Calls()); n > 1+2*7 {
		t.Errorf("%d calls to isolate one bad key among 100, want at most 15", n)
	}
}
