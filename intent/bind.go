package intent

import (
	"slices"
	"strconv"
	"strings"
)

// Bind checks the intent against the zone table and turns it into work:
// every item normalised into a [Key], duplicates within the intent dropped
// (the first stays, order is kept), and the keys split into one [Part] per
// zone, sorted by ZoneID. Every Part has the intent's mode and priority.
//
// With in.Zone set, it must be a configured zone, and every hostname must
// belong to that zone: be its name or a subdomain, and not fall into a
// longer configured zone (shop.example.com beside example.com), because
// Cloudflare only purges a URL through the zone that serves it. Without
// in.Zone, every item is routed by its hostname with [Zones.ForHost], and
// tags and purge_everything are refused since they have no hostname.
//
// Errors are *[FieldError] values that wrap [ErrInvalid] and name the field
// and the value, such as `zone: "nope.com": not a configured zone`.
func (in *Intent) Bind(z *Zones) ([]Part, error) {
	mode, prio, err := in.checkMeta()
	if err != nil {
		return nil, err
	}
	b := binder{zones: z, mode: mode, prio: prio, items: in.Items()}
	b.dedupe = b.items > linearDedupe
	if in.Zone != "" {
		zone, ok := z.Lookup(in.Zone)
		if !ok {
			return nil, fieldValueError("zone", in.Zone, "not a configured zone")
		}
		b.fixed = &zone
	}
	if err := in.eachItem(b.add); err != nil {
		return nil, err
	}
	slices.SortFunc(b.parts, func(x, y Part) int { return strings.Compare(x.ZoneID, y.ZoneID) })
	return b.parts, nil
}

// Parse decodes and binds a message body: [Decode] followed by
// [Intent.Bind]. When decoding succeeds but binding fails, it returns the
// decoded intent with the error, so the caller can still log its id and
// source.
func Parse(data []byte, z *Zones) (*Intent, []Part, error) {
	in, err := Decode(data)
	if err != nil {
		return nil, nil, err
	}
	parts, err := in.Bind(z)
	if err != nil {
		return in, nil, err
	}
	return in, parts, nil
}

// linearDedupe is the item count up to which duplicates are found by
// scanning the part's keys; a map costs more than the scan below it.
const linearDedupe = 16

// binder routes items to parts.
type binder struct {
	zones  *Zones
	fixed  *Zone // the intent's zone, if it named one
	mode   Mode
	prio   Priority
	items  int // items in the intent
	parts  []Part
	dedupe bool             // use seen rather than scanning
	seen   map[Key]struct{} // keys already added, when dedupe
}

// add routes one item and returns a reason to refuse it, or "".
func (b *binder) add(it item) string {
	zone, reason := b.route(it.host)
	if reason != "" {
		return reason
	}
	p := b.part(zone.ID)
	if b.dedupe {
		if _, dup := b.seen[it.key]; dup {
			return ""
		}
		if b.seen == nil {
			b.seen = make(map[Key]struct{})
		}
		b.seen[it.key] = struct{}{}
	} else if slices.Contains(p.Keys, it.key) {
		return ""
	}
	p.Keys = append(p.Keys, it.key)
	return ""
}

// route picks the zone of an item with the given hostname ("" for tags and
// everything, which checkMeta only lets through with a zone).
func (b *binder) route(host string) (Zone, string) {
	if host == "" {
		return *b.fixed, ""
	}
	zone, ok := b.zones.ForHost(host)
	if b.fixed == nil {
		if !ok {
			return Zone{}, "host " + strconv.Quote(host) + " is not in any configured zone"
		}
		return zone, ""
	}
	if !inZone(host, b.fixed.Name) {
		return Zone{}, "host " + strconv.Quote(host) + " is outside zone " + strconv.Quote(b.fixed.Name)
	}
	if zone.ID != b.fixed.ID {
		return Zone{}, "host " + strconv.Quote(host) + " is in zone " + strconv.Quote(zone.Name) +
			", not " + strconv.Quote(b.fixed.Name)
	}
	return zone, ""
}

// part returns the part of a zone, adding it if needed. Intents rarely span
// more than a couple of zones, so a scan beats a map.
func (b *binder) part(zoneID string) *Part {
	for i := range b.parts {
		if b.parts[i].ZoneID == zoneID {
			return &b.parts[i]
		}
	}
	p := Part{ZoneID: zoneID, Mode: b.mode, Priority: b.prio}
	if len(b.parts) == 0 {
		// Most intents have one zone: size its keys for all items at once.
		p.Keys = make([]Key, 0, b.items)
	}
	b.parts = append(b.parts, p)
	return &b.parts[len(b.parts)-1]
}
