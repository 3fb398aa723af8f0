package testutil

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

func file(u string) Target                       { return Target{Kind: "files", Value: u} }
func fileH(u string, h map[string]string) Target { return Target{Kind: "files", Value: u, Headers: h} }
func tag(v string) Target                        { return Target{Kind: "tags", Value: v} }
func host(v string) Target                       { return Target{Kind: "hosts", Value: v} }
func prefix(v string) Target                     { return Target{Kind: "prefixes", Value: v} }

var everything = Target{Kind: "purge_everything"}

// Cloudflare's rules, case by case.
func TestPurges(t *testing.T) {
	mobile := map[string]string{"CF-Device-Type": "mobile"}
	for _, tc := range []struct {
		by, t Target
		want  bool
	}{
		{file("https://a.com/x"), file("https://a.com/x"), true},
		{file("https://A.COM/x"), file("https://a.com/x"), true},
		{file("HTTPS://a.com/x"), file("https://a.com/x"), true},
		{file("https://a.com:443/x"), file("https://a.com/x"), true},
		{file("https://a.com"), file("https://a.com/"), true},
		{file("https://a.com/x#top"), file("https://a.com/x"), true},
		{file("https://a.com/X"), file("https://a.com/x"), false},
		{file("http://a.com/x"), file("https://a.com/x"), false},
		{file("https://a.com:8443/x"), file("https://a.com/x"), false},
		{file("https://a.com/x?b=1"), file("https://a.com/x"), false},
		{file("https://a.com/x"), file("https://a.com/x?b=1"), false},
		{fileH("https://a.com/x", mobile), fileH("https://a.com/x", map[string]string{"cf-device-type": "mobile"}), true},
		{fileH("https://a.com/x", mobile), file("https://a.com/x"), false},
		{file("https://a.com/x"), fileH("https://a.com/x", mobile), false},
		{fileH("https://a.com/x", mobile), fileH("https://a.com/x", map[string]string{"CF-Device-Type": "Mobile"}), false},

		{tag("Post-1"), tag("post-1"), true},
		{tag("post-1"), tag("post-2"), false},
		{tag("post-1"), file("https://a.com/post-1"), false},

		{host("a.com"), file("https://a.com/x"), true},
		{host("A.com"), fileH("http://a.COM/x?y", mobile), true},
		{host("a.com"), file("https://b.a.com/x"), false},
		{host("b.a.com"), file("https://a.com/x"), false},
		{host("a.com"), file("https://a.com:8443/x"), false},
		{host("a.com"), prefix("a.com/x"), true},
		{host("a.com"), host("A.com"), true},
		{host("a.com"), tag("a.com"), false},

		{prefix("a.com/foo"), file("https://a.com/foo"), true},
		{prefix("a.com/foo"), file("http://a.com/foo/bar"), true},
		{prefix("a.com/foo"), file("https://a.com/foo?x=1"), true},
		{prefix("a.com/foo"), fileH("https://a.com/foo/x", mobile), true},
		{prefix("A.com/foo"), file("https://a.com/foo/x"), true},
		{prefix("https://a.com/foo"), file("https://a.com/foo/x"), true},
		{prefix("a.com/foo"), file("https://a.com/foobar"), false},
		{prefix("a.com/foo"), file("https://a.com/Foo/x"), false},
		{prefix("a.com/foo/"), file("https://a.com/foo/bar"), true},
		{prefix("a.com/foo/"), file("https://a.com/foo"), false},
		{prefix("a.com/foo"), file("https://a.com:8443/foo"), false},
		{prefix("a.com/foo"), file("https://b.a.com/foo"), false},
		{prefix("a.com/foo"), prefix("a.com/foo/bar"), true},
		{prefix("a.com/foo"), prefix("a.com/foobar"), false},
		{prefix("a.com/foo/bar"), prefix("a.com/foo"), false},
		{prefix("a.com/foo"), host("a.com"), false},

		{everything, file("https://a.com/x"), true},
		{everything, tag("t"), true},
		{everything, everything, true},
		{file("https://a.com/x"), everything, false},
	} {
		if got := Purges(tc.by, tc.t); got != tc.want {
			t.Errorf("Purges(%s, %s) = %v, want %v", tc.by, tc.t, got, tc.want)
		}
	}
}

var (
	propSchemes  = []string{"https://", "http://", "HTTPS://"}
	propHosts    = []string{"a.com", "A.com", "b.a.com", "a.com."}
	propPorts    = []string{"", ":443", ":80", ":8443"}
	propPaths    = []string{"", "/", "/foo", "/foo/", "/foo/bar", "/foobar", "/Foo", "/foo/bar/"}
	propQueries  = []string{"", "?x=1", "?"}
	propTags     = []string{"t1", "T1", "t2"}
	propPrefixes = []string{"a.com/", "a.com/foo", "A.com/foo/", "a.com/foo/bar", "a.com/foobar", "b.a.com/foo", "https://a.com/foo"}
)

// genItem draws one item of an intent for zone a.com, as a publisher may
// write it (any case, default ports, a fragment).
func genItem(t *rapid.T) *intent.Intent {
	in := &intent.Intent{Zone: rapid.SampledFrom([]string{"a.com", "A.com", "023e105f4ecef8ad9ca31a8372d0c353", ""}).Draw(t, "zone")}
	switch rapid.IntRange(0, 9).Draw(t, "kind") {
	case 0:
		in.Zone = "a.com" // purge_everything and tags need a zone
		in.PurgeEverything = true
	case 1:
		in.Zone = "a.com"
		in.Tags = []string{rapid.SampledFrom(propTags).Draw(t, "tag")}
	case 2:
		in.Hosts = []string{rapid.SampledFrom([]string{"a.com", "A.com", "b.a.com"}).Draw(t, "host")}
	case 3, 4:
		in.Prefixes = []string{rapid.SampledFrom(propPrefixes).Draw(t, "prefix")}
	default:
		u := rapid.SampledFrom(propSchemes).Draw(t, "scheme") + rapid.SampledFrom(propHosts).Draw(t, "host") +
			rapid.SampledFrom(propPorts).Draw(t, "port") + rapid.SampledFrom(propPaths).Draw(t, "path") +
			rapid.SampledFrom(propQueries).Draw(t, "query") + rapid.SampledFrom([]string{"", "#f"}).Draw(t, "fragment")
		f := intent.File{URL: u}
		if rapid.Bool().Draw(t, "headers") {
			f.Headers = map[string]string{rapid.SampledFrom([]string{"CF-Device-Type", "cf-device-type"}).Draw(t, "name"): "mobile"}
		}
		in.Files = []intent.File{f}
	}
	return in
}

// bound returns the one key package intent makes of in's one item.
func bound(t *rapid.T, zones *intent.Zones, in *intent.Intent) intent.Key {
	parts, err := in.Bind(zones)
	if err != nil {
		t.Fatalf("bind %+v: %v", in, err)
	}
	if len(parts) != 1 || len(parts[0].Keys) != 1 {
		t.Fatalf("bind %+v: %d parts, want one key", in, len(parts))
	}
	return parts[0].Keys[0]
}

func keyTarget(k intent.Key) Target {
	t := Target{Kind: k.Kind.String(), Value: k.Value}
	if k.Kind == intent.KindEverything {
		t.Value = ""
	}
	if k.Headers != "" {
		t.Headers = k.HeaderMap()
	}
	return t
}

// The oracle and package intent agree: for any two items, a purge of the
// first covers the second by Cloudflare's rules exactly when package
// intent makes them the same key or intent.Covers says the first covers
// the second; and the key intent makes of an item is, by Cloudflare's
// rules, the same thing the publisher asked for.
func TestPurgesAgreesWithIntentCovers(t *testing.T) {
	zones, err := intent.NewZones([]intent.Zone{{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "a.com"}})
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		a, b := genItem(t), genItem(t)
		ka, kb := bound(t, zones, a), bound(t, zones, b)
		ta, tb := keyTarget(ka), keyTarget(kb)
		if want, got := ka == kb || intent.Covers(ka, kb), Purges(ta, tb); got != want {
			t.Fatalf("keys %q and %q: Purges = %v, intent says %v (equal %v, Covers %v)",
				ka, kb, got, want, ka == kb, intent.Covers(ka, kb))
		}
		raw, err := NewCoverage(Zone{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "a.com"}).Targets(a)
		if err != nil || len(raw) != 1 || raw[0].ZoneID != "023e105f4ecef8ad9ca31a8372d0c353" {
			t.Fatalf("targets of %+v: %v, %v", a, raw, err)
		}
		if r := raw[0].Target; !Purges(r, ta) || !Purges(ta, r) {
			t.Fatalf("intent made %q of %s, which is not the same by Cloudflare's rules", ka, r)
		}
	})
}

// The index finds a target purged by itself or by a broader call of its
// zone and endpoint, only by calls accepted at or after the given time.
func TestCallIndexPurged(t *testing.T) {
	const zone = "023e105f4ecef8ad9ca31a8372d0c353"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := []cftest.Call{
		{At: t0, ZoneID: zone, Endpoint: "purge_cache", Kind: "files", Keys: []string{"https://a.com/x CF-Device-Type: mobile"}, Outcome: cftest.OutcomeOK},
		{At: t0.Add(time.Second), ZoneID: zone, Endpoint: "purge_cache", Kind: "prefixes", Keys: []string{"a.com/blog"}, Outcome: cftest.OutcomeOK},
		{At: t0.Add(2 * time.Second), ZoneID: zone, Endpoint: "purge_cache", Kind: "tags", Keys: []string{"T1"}, Outcome: cftest.OutcomeInjected},
		{At: t0.Add(2 * time.Second), ZoneID: zone, Endpoint: "invalidate_cache", Kind: "hosts", Keys: []string{"a.com"}, Outcome: cftest.OutcomeOK},
	}
	ix := IndexCalls(calls)
	routed := func(endpoint string, t Target) Routed { return Routed{ZoneID: zone, Endpoint: endpoint, Target: t} }
	mobile := map[string]string{"cf-device-type": "mobile"}
	for _, tc := range []struct {
		t             Routed
		after         time.Time
		purged, exact bool
	}{
		{routed("purge_cache", fileH("https://A.com/x", mobile)), t0, true, true},
		{routed("purge_cache", fileH("https://a.com/x", mobile)), t0.Add(time.Millisecond), false, false},
		{routed("purge_cache", file("https://a.com/x")), t0, false, false},
		{routed("purge_cache", file("https://a.com/blog/1")), t0, true, false},
		{routed("purge_cache", file("https://a.com/blog/1")), t0.Add(1500 * time.Millisecond), false, false},
		{routed("purge_cache", tag("t1")), t0, false, false},
		{routed("invalidate_cache", file("https://a.com/blog/1")), t0, true, false},
		{routed("purge_cache", host("a.com")), t0, false, false},
		{Routed{ZoneID: "1b2c3d4e5f60718293a4b5c6d7e8f901", Endpoint: "invalidate_cache", Target: file("https://a.com/x")}, t0, false, false},
	} {
		purged, exact := ix.Purged(tc.t, tc.after)
		if purged != tc.purged || exact != tc.exact {
			t.Errorf("Purged(%s %s, %s) = %v, %v; want %v, %v", tc.t.Endpoint, tc.t.Target, tc.after.Sub(t0), purged, exact, tc.purged, tc.exact)
		}
	}
}
