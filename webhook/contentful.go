package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// ContentfulWindow is how far Contentful's signed timestamp may be from
// now: its own verification toolkit's time to live.
const ContentfulWindow = 30 * time.Second

// Contentful verifies and maps Contentful webhooks. Contentful's request
// verification signs "METHOD\nTARGET\nHEADERS\nBODY" with HMAC-SHA256
// (hex, header x-contentful-signature), HEADERS being "name:value" pairs
// joined with ";", sorted by name, of the headers listed in
// x-contentful-signed-headers, which always include that list itself and
// x-contentful-timestamp (milliseconds).
//
// Topics Entry.publish, and Entry/Asset unpublish, archive and delete, are
// purged: a published entry's page under the slug of every locale
// (fields.slug, or the hook's slug_field), and the hook's tags, which are all an unpublished or
// deleted entry's tombstone allows (it has no fields, so no slug). Other
// topics (saves, creations) change nothing public and are ignored.
type Contentful struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (c *Contentful) Verify(r *Request, now time.Time) error {
	sig := r.Header.Get("X-Contentful-Signature")
	list := r.Header.Get("X-Contentful-Signed-Headers")
	if sig == "" || list == "" {
		return unverified("no x-contentful-signature or x-contentful-signed-headers header (enable request verification in Contentful)")
	}
	want, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(want) != sha256.Size {
		return unverified("x-contentful-signature is not a hex HMAC-SHA256")
	}
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		names = append(names, strings.ToLower(strings.TrimSpace(n)))
	}
	if !slices.Contains(names, "x-contentful-signed-headers") || !slices.Contains(names, "x-contentful-timestamp") {
		return unverified("x-contentful-signed-headers does not list itself and x-contentful-timestamp")
	}
	slices.Sort(names)
	pairs := make([]string, len(names))
	for i, n := range names {
		pairs[i] = n + ":" + strings.TrimSpace(r.Header.Get(n))
	}
	ts, ok := millis(strings.TrimSpace(r.Header.Get("X-Contentful-Timestamp")))
	if !ok {
		return unverified("x-contentful-timestamp is not a time in milliseconds")
	}
	canonical := r.Method + "\n" + r.Target + "\n" + strings.Join(pairs, ";") + "\n"
	if !c.secrets.anyHMAC(sha256.New, want, []byte(canonical), r.Body) {
		return unverified("x-contentful-signature does not match the request under any secret")
	}
	return inWindow(ts, now, ContentfulWindow)
}

type contentfulEntity struct {
	Sys struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		ContentType struct {
			Sys struct {
				ID string `json:"id"`
			} `json:"sys"`
		} `json:"contentType"`
	} `json:"sys"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// Map implements [Provider].
func (c *Contentful) Map(r *Request) (Purge, error) {
	topic := r.Header.Get("X-Contentful-Topic")
	_, action, _ := strings.Cut(strings.TrimPrefix(topic, "ContentManagement."), ".")
	kind, _, _ := strings.Cut(strings.TrimPrefix(topic, "ContentManagement."), ".")
	switch {
	case kind != "Entry" && kind != "Asset":
		return ignore("topic " + quote(topic) + " is not about an entry or an asset")
	case action == "publish" && kind == "Entry",
		action == "unpublish", action == "archive", action == "delete":
	case action == "publish":
		// An asset's file is served from Contentful's CDN, not the zone;
		// pages showing it are covered by tags or by their own entries.
	default:
		return ignore("topic " + quote(topic) + " changes nothing public")
	}
	var e contentfulEntity
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a Contentful entity: %v", err)
	}
	doc := document{typ: e.Sys.ContentType.Sys.ID, id: e.Sys.ID}
	if kind == "Asset" {
		doc.typ = "asset"
	}
	var slugs map[string]string // by locale; a field of another shape has no slug
	_ = json.Unmarshal(e.Fields[c.templates.slugField], &slugs)
	for _, loc := range sortedKeys(slugs) {
		doc.slugs = append(doc.slugs, localized{locale: loc, slug: slugs[loc]})
	}
	p := c.templates.purge(doc)
	if p.items() == 0 {
		if len(doc.slugs) == 0 && action != "publish" {
			return unmapped("the " + action + " tombstone of " + quote(doc.id) + " has no slug: set the hook's tags (e.g. \"entry-{id}\") to purge its page")
		}
		return unmapped(noPurge(doc))
	}
	return p, nil
}
