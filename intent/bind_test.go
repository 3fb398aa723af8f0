package intent_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

const (
	idExample = "023e105f4ecef8ad9ca31a8372d0c353"
	idShop    = "0f000000000000000000000000000001"
	idOther   = "aa000000000000000000000000000002"
)

// testZones has example.com and, as a zone of its own, its subdomain
// shop.example.com, so that longest-match routing is exercised.
func testZones(t testing.TB) *intent.Zones {
	t.Helper()
	z, err := intent.NewZones([]intent.Zone{
		{ID: idExample, Name: "example.com"},
		{ID: idShop, Name: "shop.example.com"},
		{ID: idOther, Name: "other.org"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestBind(t *testing.T) {
	z := testZones(t)
	for _, c := range []struct {
		name, body string
		want       []intent.Part
	}{{
		name: "one zone, every kind, normalised and deduplicated",
		body: `{"zone": "Example.com", "mode": "invalidate",
		  "files": ["https://WWW.example.com:443/a.css#x", "https://www.example.com/a.css",
		            {"url": "https://www.example.com/b.jpg", "headers": {"cf-device-type": "mobile"}},
		            {"url": "https://www.example.com/b.jpg", "headers": {"CF-Device-Type": "mobile"}},
		            {"url": "https://www.example.com/b.jpg", "headers": {}},
		            "http://www.example.com/a.css"],
		  "tags": ["Post-42", "post-42"], "hosts": ["images.example.com", "example.com."],
		  "prefixes": ["https://www.example.com/blog", "www.example.com/blog"], "purge_everything": true}`,
		want: []intent.Part{{ZoneID: idExample, Mode: intent.ModeInvalidate, Keys: []intent.Key{
			file("https://www.example.com/a.css"),
			fileH("https://www.example.com/b.jpg", "Cf-Device-Type: mobile"),
			file("https://www.example.com/b.jpg"),
			file("http://www.example.com/a.css"),
			tag("post-42"),
			host("images.example.com"), host("example.com"),
			prefix("www.example.com/blog"),
			everything,
		}}},
	}, {
		name: "zone by id",
		body: `{"zone": "023E105F4ECEF8AD9CA31A8372D0C353", "tags": ["a"]}`,
		want: []intent.Part{{ZoneID: idExample, Keys: []intent.Key{tag("a")}}},
	}, {
		name: "routed by longest match across zones, parts sorted by zone id",
		body: `{"files": ["https://www.example.com/a", "https://shop.example.com/a", "https://x.shop.example.com/b",
		  "https://example.com/c"], "hosts": ["other.org"], "prefixes": ["cdn.other.org/x", "shop.example.com/y"]}`,
		want: []intent.Part{
			{ZoneID: idExample, Keys: []intent.Key{file("https://www.example.com/a"), file("https://example.com/c")}},
			{ZoneID: idShop, Keys: []intent.Key{file("https://shop.example.com/a"), file("https://x.shop.example.com/b"),
				prefix("shop.example.com/y")}},
			{ZoneID: idOther, Keys: []intent.Key{host("other.org"), prefix("cdn.other.org/x")}},
		},
	}, {
		name: "explicit zone with the subdomain zone",
		body: `{"zone": "shop.example.com", "files": ["https://shop.example.com/a"], "tags": ["t"]}`,
		want: []intent.Part{{ZoneID: idShop, Keys: []intent.Key{file("https://shop.example.com/a"), tag("t")}}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			_, parts, err := intent.Parse([]byte(c.body), z)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(parts, c.want) {
				t.Errorf("parts:\n got %+v\nwant %+v", parts, c.want)
			}
		})
	}
}

func TestBindDeduplicatesLargeIntents(t *testing.T) {
	// Past the size where duplicates are found by scanning, a map is used;
	// the result must be the same: first occurrence kept, order kept.
	in := &intent.Intent{Zone: "example.com"}
	var want []intent.Key
	for i := range 40 {
		u := "https://example.com/" + string(rune('a'+i%20))
		in.Files = append(in.Files, intent.File{URL: u})
		if i < 20 {
			want = append(want, file(u))
		}
	}
	parts, err := in.Bind(testZones(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || !reflect.DeepEqual(parts[0].Keys, want) {
		t.Errorf("got %+v, want keys %q", parts, want)
	}
}

func TestBindErrors(t *testing.T) {
	z := testZones(t)
	for _, c := range []struct {
		name, body, want string
	}{
		{"unknown zone", `{"zone": "nope.com", "tags": ["a"]}`, `zone: "nope.com": not a configured zone`},
		{"unknown zone id", `{"zone": "ffffffffffffffffffffffffffffffff", "tags": ["a"]}`, `zone: "ffffffffffffffffffffffffffffffff": not a configured zone`},
		{"malformed zone", `{"zone": "exa mple.com", "tags": ["a"]}`, `zone: "exa mple.com": not a zone name or 32-hex zone id: host contains ' '`},
		{"bad scheme", `{"zone": "example.com", "files": ["https://example.com/", "https://example.com/b", "ftp://x/y"]}`,
			`files[2]: "ftp://x/y": scheme must be http or https`},
		{"out of zone host", `{"zone": "example.com", "hosts": ["cdn.other.org"]}`,
			`hosts[0]: "cdn.other.org": host "cdn.other.org" is outside zone "example.com"`},
		{"out of zone URL", `{"zone": "example.com", "files": ["https://www.example.com/a", "https://badexample.com/a"]}`,
			`files[1]: "https://badexample.com/a": host "badexample.com" is outside zone "example.com"`},
		{"URL of a subdomain zone", `{"zone": "example.com", "files": ["https://shop.example.com/a"]}`,
			`files[0]: "https://shop.example.com/a": host "shop.example.com" is in zone "shop.example.com", not "example.com"`},
		{"parent of the zone", `{"zone": "shop.example.com", "prefixes": ["example.com/shop"]}`,
			`prefixes[0]: "example.com/shop": host "example.com" is outside zone "shop.example.com"`},
		{"unrouted URL", `{"files": ["https://www.example.com/a", "https://unknown.net/a"]}`,
			`files[1]: "https://unknown.net/a": host "unknown.net" is not in any configured zone`},
		{"tags without zone", `{"files": ["https://www.example.com/a"], "tags": ["a"]}`, `tags: tags need "zone"`},
		{"everything without zone", `{"purge_everything": true}`, `purge_everything: purge_everything needs "zone"`},
		{"no items", `{"zone": "example.com", "files": [], "purge_everything": false}`, `no items; give at least one of files`},
		{"bad mode", `{"zone": "example.com", "tags": ["a"], "mode": "evict"}`, `mode: "evict": want "purge" or "invalidate"`},
		{"long tag", `{"zone": "example.com", "tags": ["a", "b", "c", "` + strings.Repeat("x", 1025) + `"]}`,
			`tags[3]: "` + strings.Repeat("x", 200) + `"... (1025 bytes): tag longer than 1024 characters`},
		{"tag with comma", `{"zone": "example.com", "tags": ["a,b"]}`, `tags[0]: "a,b": tag contains a comma`},
		{"bad host", `{"zone": "example.com", "hosts": ["https://www.example.com/"]}`, `hosts[0]: "https://www.example.com/": a host has no scheme`},
		{"bad prefix", `{"zone": "example.com", "prefixes": ["www.example.com/a?b=1"]}`, `prefixes[0]: "www.example.com/a?b=1": a prefix cannot have a query string`},
		{"bad header", `{"zone": "example.com", "files": [{"url": "https://example.com/", "headers": {"X-A": "1\r\n"}}]}`,
			`files[0].headers.X-A: "1\r\n": header value contains CR, LF or NUL`},
		{"bad id", `{"zone": "example.com", "tags": ["a"], "id": "a b"}`, `id: "a b": want printable ASCII without spaces`},
		{"long id", `{"zone": "example.com", "tags": ["a"], "id": "` + strings.Repeat("i", 129) + `"}`, `id: "` + strings.Repeat("i", 129) + `": longer than 128 characters`},
		{"bad source", `{"zone": "example.com", "tags": ["a"], "source": "cms\u0007"}`, `source: "cms\a": want printable ASCII`},
		{"hostile value", `{"zone": "example.com", "files": ["https://example.com/\n\u001b[31m\u2028"]}`,
			`files[0]: "https://example.com/\n\x1b[31m\u2028": contains a space, control or non-ASCII byte (0x0a); percent-encode it`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := intent.Parse([]byte(c.body), z)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error %q", c.body, c.want)
			}
			if !errors.Is(err, intent.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("Parse(%q):\n got error %q\nwant prefix %q", c.body, err, c.want)
			}
			var fe *intent.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FieldError", err)
			}
			// Whatever the input, the message is one line of printable ASCII,
			// fit for a header.
			for _, r := range err.Error() {
				if r < 0x20 || r > 0x7e {
					t.Errorf("error %q holds %q", err, r)
				}
			}
		})
	}
}

func TestBindTooManyItems(t *testing.T) {
	in := &intent.Intent{Zone: "example.com"}
	for range 10_001 {
		in.Tags = append(in.Tags, "t")
	}
	_, err := in.Bind(testZones(t))
	const want = "10001 items, more than 1000 in one intent; split it into several intents"
	if err == nil || !errors.Is(err, intent.ErrInvalid) || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestValidate(t *testing.T) {
	valid := []intent.Intent{
		{Files: []intent.File{{URL: "https://www.example.com/a"}}},
		{Zone: "example.com", Tags: []string{"a"}, Mode: "invalidate", ID: "cms-7f3a", Source: "word press"},
		{Zone: "Example.com.", Hosts: []string{"www.EXAMPLE.com"}},
		{Zone: idExample, PurgeEverything: true},
		// Validate has no zone table: it cannot know nope.com is not configured.
		{Zone: "nope.com", Prefixes: []string{"www.nope.com/a"}},
	}
	for _, in := range valid {
		if err := in.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", in, err)
		}
	}
	invalid := []struct {
		in   intent.Intent
		want string
	}{
		{intent.Intent{}, "no items"},
		{intent.Intent{Zone: "example.com", Hosts: []string{"example.org"}}, `hosts[0]: "example.org": host "example.org" is outside zone "example.com"`},
		{intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://example.com/", Headers: map[string]string{"a b": "c"}}}}, `files[0].headers: "a b": header name contains ' '`},
		{intent.Intent{Tags: []string{"a"}}, `tags: tags need "zone"`},
		{intent.Intent{Zone: "x", Tags: []string{"a"}}, `zone: "x": not a zone name or 32-hex zone id: a zone name has at least two labels`},
		{intent.Intent{Zone: "example.com", Tags: []string{""}}, `tags[0]: "": tag is empty`},
		{intent.Intent{Zone: "example.com", Tags: []string{"a"}, Mode: "Purge"}, `mode: "Purge": want "purge" or "invalidate"`},
	}
	for _, c := range invalid {
		err := c.in.Validate()
		if err == nil || !errors.Is(err, intent.ErrInvalid) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate(%+v): error %v, want prefix %q", c.in, err, c.want)
		}
	}
}

func TestBindPriority(t *testing.T) {
	z := testZones(t)
	for body, want := range map[string]intent.Priority{
		`{"zone": "example.com", "tags": ["a"]}`:                       intent.PriorityNormal,
		`{"zone": "example.com", "tags": ["a"], "priority": "normal"}`: intent.PriorityNormal,
		`{"zone": "example.com", "tags": ["a"], "priority": "high"}`:   intent.PriorityHigh,
		`{"zone": "example.com", "tags": ["a"], "priority": "low"}`:    intent.PriorityLow,
		// Both parts of an intent split across zones carry its priority.
		`{"files": ["https://example.com/a", "https://other.org/b"], "priority": "high"}`: intent.PriorityHigh,
	} {
		_, parts, err := intent.Parse([]byte(body), z)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		for _, p := range parts {
			if p.Priority != want {
				t.Errorf("%s: part %s has priority %s, want %s", body, p.ZoneID, p.Priority, want)
			}
		}
	}
	_, _, err := intent.Parse([]byte(`{"zone": "example.com", "tags": ["a"], "priority": "urgent"}`), z)
	if err == nil || !strings.Contains(err.Error(), `priority: "urgent"`) {
		t.Errorf("unknown priority: got %v, want an error naming priority and its value", err)
	}
	for s, want := range map[string]intent.Priority{"low": intent.PriorityLow, "normal": intent.PriorityNormal, "high": intent.PriorityHigh} {
		if got, ok := intent.ParsePriority(s); !ok || got != want || got.String() != s {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v round-tripping", s, got, ok, want)
		}
	}
}
