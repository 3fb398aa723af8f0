package intent_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

func TestNewZonesErrors(t *testing.T) {
	for _, c := range []struct {
		zs   []intent.Zone
		want string
	}{
		{[]intent.Zone{{ID: idExample, Name: ""}}, `zones[0]: name "": host is empty`},
		{[]intent.Zone{{ID: idExample, Name: "com"}}, `zones[0]: name "com": a zone name has at least two labels`},
		{[]intent.Zone{{ID: idExample, Name: "https://example.com"}}, `zones[0]: name "https://example.com": host contains ':'`},
		{[]intent.Zone{{ID: "023e105f", Name: "example.com"}}, `zones[0]: id "023e105f": want 32 hex digits`},
		{[]intent.Zone{{ID: strings.Repeat("g", 32), Name: "example.com"}}, `want 32 hex digits`},
		{[]intent.Zone{{ID: idExample, Name: "example.com"}, {ID: idShop, Name: "EXAMPLE.com."}}, `zones[1]: name "example.com" is configured twice`},
		{[]intent.Zone{{ID: idExample, Name: "example.com"}, {ID: strings.ToUpper(idExample), Name: "b.com"}}, `zones[1]: id "` + idExample + `" is configured twice`},
	} {
		_, err := intent.NewZones(c.zs)
		if err == nil || err.Error() != c.want && !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewZones(%v): error %v, want %q", c.zs, err, c.want)
		}
		if errors.Is(err, intent.ErrInvalid) {
			t.Errorf("NewZones error %q wraps ErrInvalid; it is a configuration error", err)
		}
	}
}

func TestZonesLookup(t *testing.T) {
	z := testZones(t)
	for _, c := range []struct {
		q      string
		wantID string
	}{
		{"example.com", idExample},
		{"EXAMPLE.COM", idExample},
		{"example.com.", idExample},
		{idExample, idExample},
		{strings.ToUpper(idShop), idShop},
		{"www.example.com", ""}, // Lookup is exact; ForHost routes
		{"nope.com", ""},
		{"", ""},
	} {
		zone, ok := z.Lookup(c.q)
		if ok != (c.wantID != "") || zone.ID != c.wantID {
			t.Errorf("Lookup(%q) = %+v, %v; want id %q", c.q, zone, ok, c.wantID)
		}
	}
}

func TestZonesForHost(t *testing.T) {
	z := testZones(t)
	for _, c := range []struct {
		host, wantID string
	}{
		{"example.com", idExample},
		{"www.example.com", idExample},
		{"a.b.c.example.com", idExample},
		{"WWW.Example.COM.", idExample},
		{"shop.example.com", idShop},   // longest match wins
		{"x.shop.example.com", idShop}, // longest match wins
		{"shopexample.com", ""},
		{"badexample.com", ""}, // label boundary
		{"example.com.evil.net", ""},
		{"com", ""},
		{"", ""},
	} {
		zone, ok := z.ForHost(c.host)
		if ok != (c.wantID != "") || zone.ID != c.wantID {
			t.Errorf("ForHost(%q) = %+v, %v; want id %q", c.host, zone, ok, c.wantID)
		}
	}
}

func TestZonesAll(t *testing.T) {
	z, err := intent.NewZones([]intent.Zone{{ID: strings.ToUpper(idShop), Name: "Shop.Example.com."}, {ID: idExample, Name: "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []intent.Zone{{ID: idShop, Name: "shop.example.com"}, {ID: idExample, Name: "example.com"}}
	all := z.All()
	if !reflect.DeepEqual(all, want) {
		t.Errorf("All() = %+v, want %+v", all, want)
	}
	all[0].Name = "changed.com"
	if z.All()[0].Name != "shop.example.com" {
		t.Error("All() returned the table's own slice")
	}
}
