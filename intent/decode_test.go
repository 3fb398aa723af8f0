package intent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

func TestDecode(t *testing.T) {
	body := `{
	  "zone": "example.com",
	  "files": ["https://www.example.com/a.css",
	            {"url": "https://www.example.com/b.jpg", "headers": {"CF-Device-Type": "mobile"}}],
	  "tags": ["post-42"],
	  "hosts": ["images.example.com"],
	  "prefixes": ["www.example.com/blog"],
	  "purge_everything": false,
	  "mode": "invalidate",
	  "id": "cms-7f3a", "source": "wordpress"
	}`
	got, err := intent.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &intent.Intent{
		Zone: "example.com",
		Files: []intent.File{
			{URL: "https://www.example.com/a.css"},
			{URL: "https://www.example.com/b.jpg", Headers: map[string]string{"CF-Device-Type": "mobile"}},
		},
		Tags:     []string{"post-42"},
		Hosts:    []string{"images.example.com"},
		Prefixes: []string{"www.example.com/blog"},
		Mode:     "invalidate",
		ID:       "cms-7f3a",
		Source:   "wordpress",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %+v\nwant %+v", got, want)
	}
	if got.Items() != 5 {
		t.Errorf("Items() = %d, want 5", got.Items())
	}
}

func TestDecodeNullIsAbsentAtTopLevel(t *testing.T) {
	got, err := intent.Decode([]byte(`{"zone": null, "files": null, "tags": ["a"], "hosts": null, "purge_everything": null, "mode": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&intent.Intent{Tags: []string{"a"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"empty", ``, `body: empty; want a JSON object`},
		{"not an object", `["https://a.com/"]`, `body: want a JSON object, got a list`},
		{"null body", `null`, `body: want a JSON object, got null`},
		{"invalid JSON", `{"zone": "a.com",}`, `body: invalid JSON at byte 17: invalid character '}'`},
		{"truncated", `{"zone": "a.com"`, `body: invalid JSON: unexpected end of input`},
		{"invalid UTF-8", "{\"tags\": [\"a\xff\"]}", `body: not valid UTF-8`},
		{"trailing object", `{"tags": ["a"]} {"tags": ["b"]}`, `body: trailing data after the JSON object`},
		{"trailing garbage", `{"tags": ["a"]}x`, `body: trailing data after the JSON object`},
		{"unknown field", `{"zone": "a.com", "mdoe": "invalidate"}`, `body: "mdoe": unknown field; the fields are zone, files`},
		{"field case", `{"Zone": "a.com"}`, `body: "Zone": unknown field`},
		{"duplicate field", `{"zone": "a.com", "tags": ["a"], "zone": "b.com"}`, `body: "zone": field given twice`},
		{"duplicate null field", `{"files": null, "files": ["https://a.com/"]}`, `body: "files": field given twice`},
		{"zone type", `{"zone": 42}`, `zone: want a string, got a number`},
		{"mode type", `{"mode": ["purge"]}`, `mode: want a string, got a list`},
		{"everything type", `{"purge_everything": "true"}`, `purge_everything: want true or false, got a string`},
		{"files type", `{"files": "https://a.com/"}`, `files: want a list, got a string`},
		{"tags element type", `{"tags": ["a", 1]}`, `tags[1]: want a string, got a number`},
		{"null in list", `{"hosts": ["a.com", null]}`, `hosts[1]: want a string, got null`},
		{"nested list", `{"prefixes": [["a.com/x"]]}`, `prefixes[0]: want a string, got a list`},
		{"file type", `{"files": [true]}`, `files[0]: want a URL string or {"url": ..., "headers": {...}}, got a boolean`},
		{"file nested", `{"files": [[{"url": "https://a.com/"}]]}`, `files[0]: want a URL string`},
		{"file url type", `{"files": [{"url": null}]}`, `files[0].url: want a string, got null`},
		{"file no url", `{"files": [{"headers": {"A": "b"}}]}`, `files[0]: object has no "url"`},
		{"file unknown field", `{"files": [{"url": "https://a.com/", "hedaers": {}}]}`, `files[0]: "hedaers": unknown field; the fields are url, headers`},
		{"file duplicate url", `{"files": [{"url": "https://a.com/", "url": "https://b.com/"}]}`, `files[0]: "url": field given twice`},
		{"headers type", `{"files": [{"url": "https://a.com/", "headers": ["A: b"]}]}`, `files[0].headers: want an object of header names to values, got a list`},
		{"header value type", `{"files": [{"url": "https://a.com/", "headers": {"A": 1}}]}`, `files[0].headers: "A": header value must be a string, got a number`},
		{"header nested", `{"files": [{"url": "https://a.com/", "headers": {"A": {"b": "c"}}}]}`, `files[0].headers: "A": header value must be a string, got an object`},
		{"header duplicate", `{"files": [{"url": "https://a.com/", "headers": {"A": "1", "A": "2"}}]}`, `files[0].headers: "A": header given twice`},
		{"hostile field name", `{"` + strings.Repeat("x", 300) + `\n": 1}`, `body: "` + strings.Repeat("x", 200) + `"... (301 bytes): unknown field`},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := intent.Decode([]byte(c.body))
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want error %q", c.body, in, c.want)
			}
			if !errors.Is(err, intent.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("Decode(%q):\n got error %q\nwant prefix %q", c.body, err, c.want)
			}
		})
	}
}

func TestDecodeTooBig(t *testing.T) {
	body := `{"tags": ["` + strings.Repeat("a", intent.MaxBodySize) + `"]}`
	_, err := intent.Decode([]byte(body))
	want := fmt.Sprintf("body: %d bytes, over the limit of 1048576", len(body))
	if err == nil || !errors.Is(err, intent.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want the body size refused", err)
	}
}

// itemsBody returns an intent with n tags.
func itemsBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"zone": "example.com", "tags": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"t"`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func TestDecodeTooManyItems(t *testing.T) {
	if _, err := intent.Decode(itemsBody(intent.MaxItems)); err != nil {
		t.Fatalf("%d items refused: %v", intent.MaxItems, err)
	}
	_, err := intent.Decode(itemsBody(10_001))
	const want = "tags: more than 1000 items in one intent; split it into several intents"
	if err == nil || !errors.Is(err, intent.ErrInvalid) || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	// The item count is intent-wide, across fields.
	_, err = intent.Decode([]byte(`{"zone": "example.com", "hosts": ["a.com"], "tags": ` +
		strings.TrimPrefix(string(itemsBody(1000)), `{"zone": "example.com", "tags": `)))
	if err == nil || !strings.Contains(err.Error(), "tags: more than 1000 items") {
		t.Fatalf("1001 items across fields: error %v", err)
	}
}

// TestDecodeStopsAtItemLimit checks that refusing a huge list costs no more
// than refusing a list one item over the limit: Decode must stop reading,
// not build the whole list and count it afterwards.
func TestDecodeStopsAtItemLimit(t *testing.T) {
	justOver := itemsBody(intent.MaxItems + 1)
	huge := itemsBody(200_000) // 800 KB, under MaxBodySize
	allocs := func(body []byte) float64 {
		return testing.AllocsPerRun(5, func() {
			if _, err := intent.Decode(body); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	a, h := allocs(justOver), allocs(huge)
	if h > a+50 {
		t.Errorf("refusing 200000 items: %v allocations, %v for %d items; Decode does not stop at the limit", h, a, intent.MaxItems+1)
	}
}

func TestFileJSON(t *testing.T) {
	files := []intent.File{
		{URL: "https://a.com/x?a=1&b=<2>"},
		{URL: "https://a.com/y", Headers: map[string]string{"Cf-Ipcountry": "ES", "Accept-Language": "zh-CN"}},
	}
	// MarshalJSON does not escape HTML itself, so an encoder that does not
	// either writes URLs as they are.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(files); err != nil {
		t.Fatal(err)
	}
	b := bytes.TrimSpace(buf.Bytes())
	const want = `["https://a.com/x?a=1&b=<2>",{"url":"https://a.com/y","headers":{"Accept-Language":"zh-CN","Cf-Ipcountry":"ES"}}]`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back []intent.File
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, files) {
		t.Errorf("round trip: got %+v, want %+v", back, files)
	}
	var f intent.File
	err := json.Unmarshal([]byte(`{"url": "https://a.com/", "Headers": {}}`), &f)
	if !errors.Is(err, intent.ErrInvalid) || !strings.Contains(err.Error(), `"Headers": unknown field`) {
		t.Errorf("File.UnmarshalJSON with a wrong-case field: error %v", err)
	}
}

// TestIntentUnmarshalJSONIsStrict checks that decoding a list of intents
// with encoding/json, as the HTTP ingest does, applies Decode's rules.
func TestIntentUnmarshalJSONIsStrict(t *testing.T) {
	var ins []intent.Intent
	err := json.Unmarshal([]byte(`[{"zone": "a.com", "tags": ["x"]}, {"zone": "a.com", "tgas": ["x"]}]`), &ins)
	if !errors.Is(err, intent.ErrInvalid) || !strings.Contains(err.Error(), `"tgas": unknown field`) {
		t.Fatalf("error %v, want the unknown field refused", err)
	}
	if err := json.Unmarshal([]byte(`[{"zone": "a.com", "tags": ["x"]}, null]`), &ins); err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].Zone != "a.com" || ins[1].Items() != 0 {
		t.Errorf("got %+v", ins)
	}
}
