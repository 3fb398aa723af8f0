package intent

import (
	"fmt"
	"slices"
	"strings"
)

// Zone is one configured Cloudflare zone: its 32-hex id, used in API
// paths, and its name, whose hostnames are the name itself and every
// subdomain of it.
type Zone struct {
	ID   string
	Name string
}

// Zones is the routing table from hostnames and zone references to zones.
// It is immutable once built, and so safe for concurrent use.
type Zones struct {
	all    []Zone
	byName map[string]Zone
	byID   map[string]Zone
}

// NewZones builds the routing table. Names are checked like hostnames,
// must contain a dot, and are stored lowercased without a trailing dot; ids
// must be 32 hex digits and are stored lowercased. Repeated names or ids
// are refused. Its errors describe configuration, not an intent, so they
// do not wrap [ErrInvalid].
func NewZones(zs []Zone) (*Zones, error) {
	z := &Zones{
		all:    make([]Zone, 0, len(zs)),
		byName: make(map[string]Zone, len(zs)),
		byID:   make(map[string]Zone, len(zs)),
	}
	for i, in := range zs {
		zone, err := checkZone(in)
		if err != nil {
			return nil, fmt.Errorf("zones[%d]: %w", i, err)
		}
		if _, dup := z.byName[zone.Name]; dup {
			return nil, fmt.Errorf("zones[%d]: name %q is configured twice", i, zone.Name)
		}
		if _, dup := z.byID[zone.ID]; dup {
			return nil, fmt.Errorf("zones[%d]: id %q is configured twice", i, zone.ID)
		}
		z.all = append(z.all, zone)
		z.byName[zone.Name] = zone
		z.byID[zone.ID] = zone
	}
	return z, nil
}

func checkZone(in Zone) (Zone, error) {
	name, reason := zoneName(in.Name)
	if reason != "" {
		return Zone{}, fmt.Errorf("name %s: %s", quote(in.Name), reason)
	}
	if !isZoneID(in.ID) {
		return Zone{}, fmt.Errorf("id %s: want 32 hex digits", quote(in.ID))
	}
	return Zone{ID: lowerASCII(in.ID), Name: name}, nil
}

// zoneName canonicalises a zone name. Requiring a dot keeps names and
// 32-hex ids apart, and no Cloudflare zone is a bare top-level domain.
func zoneName(s string) (string, string) {
	name, reason := canonicalHost(s, maxDNSName)
	if reason == "" && strings.IndexByte(name, '.') < 0 {
		reason = "a zone name has at least two labels, such as example.com"
	}
	return name, reason
}

// isZoneID reports whether s is 32 hex digits, the form of Cloudflare ids.
func isZoneID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Lookup finds a zone by id or by name; both are case-insensitive and a
// trailing dot on the name is ignored. A nil *Zones has no zones.
func (z *Zones) Lookup(nameOrID string) (Zone, bool) {
	if z == nil {
		return Zone{}, false
	}
	if isZoneID(nameOrID) {
		zone, ok := z.byID[lowerASCII(nameOrID)]
		return zone, ok
	}
	zone, ok := z.byName[lowerASCII(strings.TrimSuffix(nameOrID, "."))]
	return zone, ok
}

// ForHost returns the zone a hostname belongs to: the zone with the
// longest name that is the host itself or a parent domain of it, matched on
// label boundaries ("badexample.com" is not in "example.com"). Longest
// match matters when a subdomain is a zone of its own, such as
// shop.example.com beside example.com. A nil *Zones has no zones.
func (z *Zones) ForHost(host string) (Zone, bool) {
	if z == nil {
		return Zone{}, false
	}
	h := lowerASCII(strings.TrimSuffix(host, "."))
	for h != "" {
		if zone, ok := z.byName[h]; ok {
			return zone, true
		}
		dot := strings.IndexByte(h, '.')
		if dot < 0 {
			break
		}
		h = h[dot+1:]
	}
	return Zone{}, false
}

// All returns the zones in configuration order, normalised. The slice is a
// copy; changing it does not change z.
func (z *Zones) All() []Zone {
	if z == nil {
		return nil
	}
	return slices.Clone(z.all)
}

// inZone reports whether host is zone name itself or a subdomain of it;
// both are canonical (lowercase, no trailing dot).
func inZone(host, name string) bool {
	return host == name || len(host) > len(name) &&
		host[len(host)-len(name)-1] == '.' && strings.HasSuffix(host, name)
}
