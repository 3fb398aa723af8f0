package intent

import (
	"strconv"
	"strings"
)

// Validate checks everything that does not need the zone table: the
// syntax of zone, mode, id, source and of every item, that there is at
// least one item and at most [MaxItems], that tags and purge_everything
// come with a zone, and, when zone is a name rather than an id, that every
// hostname is inside it. purgectl runs it before publishing; [Intent.Bind]
// runs the same checks and the zone-table ones. It returns the first
// problem found, as a *[FieldError], so the reason stays short enough for
// a header.
func (in *Intent) Validate() error {
	if _, _, err := in.checkMeta(); err != nil {
		return err
	}
	zone := ""
	if in.Zone != "" && !isZoneID(in.Zone) {
		zone, _ = zoneName(in.Zone) // checkMeta has checked it
	}
	return in.eachItem(func(it item) string {
		if zone != "" && it.host != "" && !inZone(it.host, zone) {
			return "host " + strconv.Quote(it.host) + " is outside zone " + strconv.Quote(zone)
		}
		return ""
	})
}

// checkMeta checks the fields that are not items and the item count, and
// returns the mode and the priority.
func (in *Intent) checkMeta() (Mode, Priority, error) {
	if in.Zone != "" && !isZoneID(in.Zone) {
		if _, reason := zoneName(in.Zone); reason != "" {
			return 0, 0, fieldValueError("zone", in.Zone, "not a zone name or 32-hex zone id: "+reason)
		}
	}
	mode, ok := ParseMode(in.Mode)
	if !ok {
		return 0, 0, fieldValueError("mode", in.Mode, `want "purge" or "invalidate"`)
	}
	prio, ok := ParsePriority(in.Priority)
	if !ok {
		return 0, 0, fieldValueError("priority", in.Priority, `want "high", "normal" or "low"`)
	}
	if reason := checkLabel(in.ID, MaxIDLength, 0x21); reason != "" {
		return 0, 0, fieldValueError("id", in.ID, reason+" without spaces")
	}
	if reason := checkLabel(in.Source, MaxSourceLength, 0x20); reason != "" {
		return 0, 0, fieldValueError("source", in.Source, reason)
	}
	switch n := in.Items(); {
	case n == 0:
		return 0, 0, fieldError("", "no items; give at least one of files, tags, hosts, prefixes or purge_everything")
	case n > MaxItems:
		return 0, 0, fieldError("", strconv.Itoa(n)+" items, more than "+strconv.Itoa(MaxItems)+
			" in one intent; split it into several intents")
	}
	if in.Zone == "" {
		// Tags and everything have no hostname to route by.
		if len(in.Tags) > 0 {
			return 0, 0, fieldError("tags", `tags need "zone": give the zone name or id`)
		}
		if in.PurgeEverything {
			return 0, 0, fieldError("purge_everything", `purge_everything needs "zone": give the zone name or id`)
		}
	}
	return mode, prio, nil
}

// checkLabel checks an id or source: at most max bytes of ASCII from min
// to '~'.
func checkLabel(s string, max int, min byte) string {
	if len(s) > max {
		return "longer than " + strconv.Itoa(max) + " characters"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < min || s[i] > '~' {
			return "want printable ASCII"
		}
	}
	return ""
}

// item is one normalised item of an intent.
type item struct {
	key  Key
	host string // hostname for zone routing; "" for tags and everything
}

// eachItem normalises every item in the order files, tags, hosts,
// prefixes, purge_everything and passes it to check, which returns a
// reason to refuse it or "". The first problem is returned as a FieldError
// naming the item, such as files[2].
func (in *Intent) eachItem(check func(item) string) error {
	for i, f := range in.Files {
		it, err := fileItem(f)
		if err := itemResult(err, check, it, "files", i, f.URL); err != nil {
			return err
		}
	}
	for i, t := range in.Tags {
		v, err := NormalizeTag(t)
		if err := itemResult(err, check, item{key: Key{Kind: KindTag, Value: v}}, "tags", i, t); err != nil {
			return err
		}
	}
	for i, h := range in.Hosts {
		v, err := NormalizeHost(h)
		if err := itemResult(err, check, item{key: Key{Kind: KindHost, Value: v}, host: v}, "hosts", i, h); err != nil {
			return err
		}
	}
	for i, p := range in.Prefixes {
		v, err := NormalizePrefix(p)
		host, _, _ := strings.Cut(v, "/")
		if err := itemResult(err, check, item{key: Key{Kind: KindPrefix, Value: v}, host: host}, "prefixes", i, p); err != nil {
			return err
		}
	}
	if in.PurgeEverything {
		if reason := check(item{key: Key{Kind: KindEverything}}); reason != "" {
			return fieldError("purge_everything", reason)
		}
	}
	return nil
}

// itemResult turns the outcome of normalising and checking one item into
// an error naming it.
func itemResult(err error, check func(item) string, it item, field string, i int, raw string) error {
	if err != nil {
		return inField(err, indexed(field, i))
	}
	return refuse(check(it), field, i, raw)
}

func refuse(reason, field string, i int, raw string) error {
	if reason == "" {
		return nil
	}
	return fieldValueError(indexed(field, i), raw, reason)
}

// fileItem normalises a files entry into a key: the URL and the canonical
// encoding of its headers.
func fileItem(f File) (item, error) {
	u, err := NormalizeURL(f.URL)
	if err != nil {
		return item{}, err
	}
	h, err := NormalizeHeaders(f.Headers)
	if err != nil {
		return item{}, inField(err, "headers")
	}
	return item{key: Key{Kind: KindFile, Value: u, Headers: EncodeHeaders(h)}, host: urlHostname(u)}, nil
}

// urlHostname returns the hostname of a normalised URL: between "://" and
// the port or path.
func urlHostname(u string) string {
	rest := u[strings.Index(u, "://")+3:]
	end := strings.IndexAny(rest, ":/")
	return rest[:end]
}
