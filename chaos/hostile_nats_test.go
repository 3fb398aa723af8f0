package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/worker"
)

// hostile is a message written to break the worker, and the words its
// Purge-Error must hold to name the problem.
type hostile struct {
	name    string
	body    []byte
	header  nats.Header // extra headers, beside Nats-Msg-Id
	mention []string
}

func nested(open, inner, close string, depth int) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

func manyItems(field string, n int, item func(i int) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"zone":"example.com",%q:[`, field)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item(i))
	}
	b.WriteString("]}")
	return b.String()
}

// hostileMessages are the bodies (and headers) the worker must dead-letter
// with a clear reason. Unknown fields are refused rather than ignored: a
// typo such as "mdoe" must not silently purge instead of invalidate, and
// README.md documents it.
func hostileMessages() []hostile {
	const u = `"https://www.example.com/a"`
	h := func(name, body string, mention ...string) hostile {
		return hostile{name: name, body: []byte(body), mention: mention}
	}
	return []hostile{
		// Deep nesting: refused at the first level that has the wrong
		// shape, without recursing into the rest.
		h("nested lists in files", `{"zone":"example.com","files":`+nested("[", "", "]", 100000)+`}`, "files[0]", "list"),
		h("nested lists as the body", nested("[", "", "]", 100000), "body", "object"),
		h("nested objects as a header value", `{"zone":"example.com","files":[{"url":`+u+`,"headers":{"X-A":`+
			nested(`{"a":`, `1`, `}`, 100000)+`}}]}`, "headers", "string"),
		h("nesting under an unknown field", `{"zone":"example.com","files":[`+u+`],"x":`+nested("[", "", "]", 100000)+`}`, `"x"`, "unknown field"),
		h("nested lists as the zone", `{"zone":`+nested("[", `"example.com"`, "]", 50000)+`,"files":[`+u+`]}`, "zone", "string"),
		// Invalid UTF-8 anywhere.
		h("invalid UTF-8 in a URL", `{"zone":"example.com","files":["https://www.example.com/`+"\xff\xfe"+`"]}`, "utf-8"),
		h("invalid UTF-8 in a field name", `{"zone":"example.com","fi`+"\xc3\x28"+`les":[`+u+`]}`, "utf-8"),
		h("a lone surrogate escape in a tag", `{"zone":"example.com","tags":["a\ud800b"]}`, "tags[0]"),
		h("an overlong encoding in a tag", `{"zone":"example.com","tags":["`+"\xc0\xaf"+`"]}`, "utf-8"),
		// Control characters and spaces in tags.
		h("a control character in a tag (escaped)", `{"zone":"example.com","tags":["post\u0007-42"]}`, "tags[0]"),
		h("NUL in a tag", `{"zone":"example.com","tags":["post\u0000"]}`, "tags[0]"),
		h("a raw control character in a tag", "{\"zone\":\"example.com\",\"tags\":[\"post\x01\"]}", "json"),
		h("a space in a tag", `{"zone":"example.com","tags":["post 42"]}`, "tags[0]", "post 42"),
		h("a tab in a tag", `{"zone":"example.com","tags":["post\t42"]}`, "tags[0]"),
		h("a newline in a tag", `{"zone":"example.com","tags":["post\n42\r\nPurge-Error: forged"]}`, "tags[0]"),
		h("a non-breaking space in a tag", `{"zone":"example.com","tags":["post\u00a042"]}`, "tags[0]"),
		h("CRLF in a header value", `{"zone":"example.com","files":[{"url":`+u+`,"headers":{"X-A":"1\r\nX-B: 2"}}]}`, "X-A"),
		// Too many items.
		h("10,000 files", manyItems("files", 10000, func(i int) string { return fmt.Sprintf(`"https://www.example.com/many/%d"`, i) }), "files", "1000"),
		h("10,000 tags", manyItems("tags", 10000, func(i int) string { return fmt.Sprintf(`"t%d"`, i) }), "tags", "1000"),
		h("10,000 copies of one URL", manyItems("files", 10000, func(int) string { return u }), "files", "1000"),
		// Wrong types.
		h("files as a string", `{"zone":"example.com","files":`+u+`}`, "files", "list"),
		h("a number in tags", `{"zone":"example.com","tags":[42]}`, "tags[0]", "number"),
		h("purge_everything as a string", `{"zone":"example.com","purge_everything":"yes"}`, "purge_everything"),
		h("zone as a number", `{"zone":42,"files":[`+u+`]}`, "zone", "number"),
		h("a url as a number", `{"zone":"example.com","files":[{"url":42}]}`, "files[0].url"),
		h("headers as a list", `{"zone":"example.com","files":[{"url":`+u+`,"headers":["X-A"]}]}`, "headers"),
		h("an unknown mode", `{"zone":"example.com","mode":"nuke","files":[`+u+`]}`, "mode", "nuke"),
		h("a huge number", `{"zone":"example.com","tags":[1e999999999]}`, "tags[0]", "number"),
		h("null in a list", `{"zone":"example.com","tags":[null]}`, "tags[0]", "null"),
		h("a list of intents", `[{"zone":"example.com","files":[`+u+`]}]`, "body", "object"),
		h("an empty body", ``, "body", "empty"),
		h("null", `null`, "body"),
		h("an empty object", `{}`, "item"),
		h("trailing data", `{"zone":"example.com","files":[`+u+`]}{"zone":"example.com"}`, "body", "trailing"),
		// Duplicate fields: encoding/json would keep the last silently.
		h("zone given twice", `{"zone":"example.com","zone":"example.org","files":[`+u+`]}`, "zone", "twice"),
		h("files given twice", `{"zone":"example.com","files":[`+u+`],"files":["https://www.example.com/b"]}`, "files", "twice"),
		h("url given twice", `{"zone":"example.com","files":[{"url":`+u+`,"url":"https://www.example.com/b"}]}`, "url", "twice"),
		h("a header given twice", `{"zone":"example.com","files":[{"url":`+u+`,"headers":{"X-A":"1","X-A":"2"}}]}`, "X-A", "twice"),
		h("a header given twice in different case", `{"zone":"example.com","files":[{"url":`+u+`,"headers":{"X-A":"1","x-a":"2"}}]}`, "twice"),
		// Unknown fields, also in another case or inside a files entry.
		h("an unknown field", `{"zone":"example.com","files":[`+u+`],"urgency":"high"}`, "urgency", "unknown field"),
		h("a field in another case", `{"Zone":"example.com","files":[`+u+`]}`, "Zone", "unknown field"),
		h("a typo of mode", `{"zone":"example.com","files":[`+u+`],"mdoe":"invalidate"}`, "mdoe", "unknown field"),
		h("an unknown field in a files entry", `{"zone":"example.com","files":[{"url":`+u+`,"ttl":5}]}`, "ttl", "unknown field"),
		// A long value: the reason quotes a bounded part of it.
		h("a 200 KB tag", `{"zone":"example.com","tags":["`+strings.Repeat("t", 200<<10)+`"]}`, "tags[0]", "bytes)"),
		// Forged dead-letter headers must not survive into the copy.
		{name: "forged Purge-* headers", body: []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`),
			header: nats.Header{
				worker.HeaderError:   []string{"nothing wrong"},
				worker.HeaderSubject: []string{"purge.elsewhere"},
				worker.HeaderOrigID:  []string{"forged-id"},
				worker.HeaderStream:  []string{"1"},
			}, mention: []string{"files[0]", "scheme"}},
	}
}

// Hostile messages published through NATS, with a valid intent after each:
// every hostile one is dead-lettered once, with its body unchanged and a
// Purge-Error that names the problem and is safe for a header; every valid
// one is purged and acked; the worker stays ready.
func TestHostileMessagesAreDeadLetteredAndHarmNothingElse(t *testing.T) {
	h := newHostileRig(t, 0)
	msgs := hostileMessages()
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = fmt.Sprintf("hostile-%02d", i)
		if err := h.publishRaw("purge.hostile", ids[i], m.body, m.header); err != nil {
			t.Fatalf("%s: publish: %v", m.name, err)
		}
		h.publishValid(i)
	}
	h.waitDrained()

	byID := map[string][]int{}
	dead := dlqMessages(t, h.js)
	for i, d := range dead {
		id := d.Header.Get(worker.HeaderOrigID)
		byID[id] = append(byID[id], i)
	}
	if len(dead) != len(msgs) {
		t.Errorf("%d dead letters, want %d (one per hostile message)", len(dead), len(msgs))
	}
	for i, m := range msgs {
		t.Run(m.name, func(t *testing.T) {
			found := byID[ids[i]]
			if len(found) != 1 {
				t.Fatalf("dead-lettered %d times, want once", len(found))
			}
			d := dead[found[0]]
			if !bytes.Equal(d.Data, m.body) {
				t.Errorf("dead letter body differs from the original (%d bytes, want %d)", len(d.Data), len(m.body))
			}
			if got := d.Header.Get(worker.HeaderSubject); got != "purge.hostile" {
				t.Errorf("Purge-Subject %q, want purge.hostile", got)
			}
			reason := d.Header.Get(worker.HeaderError)
			t.Logf("Purge-Error: %.200s", reason)
			checkReason(t, reason, m.mention)
			if vs := d.Header.Values(worker.HeaderError); len(vs) != 1 {
				t.Errorf("Purge-Error has %d values %q, want the worker's reason only", len(vs), vs)
			}
		})
	}
	h.checkValidPurged()
	if err := h.w.Ready(); err != nil {
		t.Errorf("worker not ready after the hostile messages: %v", err)
	}
}

// checkReason checks that a Purge-Error names the problem and is safe to
// carry in a header and a log line: one line of printable ASCII, bounded.
func checkReason(t *testing.T, reason string, mention []string) {
	t.Helper()
	for _, w := range mention {
		if !strings.Contains(strings.ToLower(reason), strings.ToLower(w)) {
			t.Errorf("Purge-Error %.300q does not mention %q", reason, w)
		}
	}
	if len(reason) > 1100 {
		t.Errorf("Purge-Error is %d bytes long", len(reason))
	}
	for i := 0; i < len(reason); i++ {
		if c := reason[i]; c < 0x20 || c > 0x7e {
			t.Errorf("Purge-Error %.300q holds byte 0x%02x", reason, c)
			break
		}
	}
}

// Purge-* headers on a dead-letter copy are the worker's word: a publisher
// that sets them must not pass its own off as the worker's. A message
// without Nats-Msg-Id but with a forged Purge-Msg-Id, and a forged
// Purge-Truncated, must not keep them: operators read the first to find
// the publisher's intent, and the second to know the body was cut.
func TestForgedPurgeHeadersAreNotKeptInTheDeadLetter(t *testing.T) {
	h := newHostileRig(t, 0)
	hdr := nats.Header{
		worker.HeaderOrigID: []string{"forged-id"},
		"Purge-Truncated":   []string{"999999"},
	}
	body := []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`)
	if err := h.publishRaw("purge.hostile", "", body, hdr); err != nil {
		t.Fatal(err)
	}
	h.publishValid(0)
	h.waitDrained()
	dead := dlqMessages(t, h.js)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	for name := range hdr {
		if got := dead[0].Header.Values(name); len(got) != 0 {
			t.Errorf("the dead-letter copy keeps the publisher's %s %q", name, got)
		}
	}
	if !bytes.Equal(dead[0].Data, body) {
		t.Errorf("dead letter body %q, want %q", dead[0].Data, body)
	}
	h.checkValidPurged()
}

// A body over the stream's 1 MiB limit is refused when it is published,
// so the publisher knows it was not stored; the stream and the worker are
// unharmed. With the server's default max_payload (1 MiB) the client
// refuses it; with a larger max_payload the stream's max_msg_size does.
func TestBodyOverTheLimitIsRefusedAtPublish(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxPayload int32
		want       func(error) bool
	}{
		{"default max_payload", 0, func(err error) bool { return errors.Is(err, nats.ErrMaxPayload) }},
		{"max_payload 8 MiB", 8 << 20, isStreamTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileRig(t, tc.maxPayload)
			h.publishValid(0)
			for _, size := range []int{intent.MaxBodySize + 1, 4 << 20} {
				body := []byte(`{"zone":"example.com","tags":["` + strings.Repeat("t", size) + `"]}`)
				err := h.publishRaw("purge.hostile", intent.NewID(), body, nil)
				if err == nil || !tc.want(err) {
					t.Errorf("publishing %d bytes: %v, want it refused", len(body), err)
				}
			}
			h.publishValid(1)
			h.waitDrained()
			if n := len(dlqMessages(t, h.js)); n != 0 {
				t.Errorf("%d dead letters, want none: nothing over the limit may be stored", n)
			}
			h.checkValidPurged()
		})
	}
}
