package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// Sanity verifies and maps Sanity GROQ-powered webhooks. Sanity signs with
// header "sanity-webhook-signature: t=<ms>,v1=<sig>", sig being the
// unpadded base64url HMAC-SHA256 of "<ms>.<body>".
//
// The body is whatever the webhook's projection returns; the mapping reads
// _id, _type, slug (a string or {"current": ...}; the hook's slug_field
// names another field) and, when the projection adds it, previousSlug ("previousSlug": before().slug.current), and turns
// them into pages and tags with the hook's templates. Drafts (ids starting
// with "drafts.") are ignored. The idempotency-key header is the delivery
// id, so Sanity's retries are stored once.
type Sanity struct {
	secrets   secrets
	templates templates
}

var sanitySignature = regexp.MustCompile(`^t=(\d+)[, ]+v1=([^, ]+)$`)

// Verify implements [Provider].
func (s *Sanity) Verify(r *Request, now time.Time) error {
	h := r.Header.Get("Sanity-Webhook-Signature")
	if h == "" {
		return unverified("no sanity-webhook-signature header (set a secret on the Sanity webhook)")
	}
	m := sanitySignature.FindStringSubmatch(strings.TrimSpace(h))
	if m == nil {
		return unverified(`sanity-webhook-signature is not "t=<milliseconds>,v1=<signature>"`)
	}
	t, ok := millis(m[1])
	want, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(m[2], "="))
	if !ok || err != nil || len(want) != sha256.Size {
		return unverified(`sanity-webhook-signature is not "t=<milliseconds>,v1=<base64url signature>"`)
	}
	if !s.secrets.anyHMAC(sha256.New, want, []byte(m[1]), []byte("."), r.Body) {
		return unverified("sanity-webhook-signature does not match the body under any secret")
	}
	return inWindow(t, now, Window)
}

// sanitySlug is a slug field as stored ({"_type": "slug", "current": ...})
// or projected to a string.
type sanitySlug string

func (s *sanitySlug) UnmarshalJSON(data []byte) error {
	var str string
	if err := json.Unmarshal(data, &str); err == nil {
		*s = sanitySlug(str)
		return nil
	}
	var obj struct {
		Current string `json:"current"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	*s = sanitySlug(obj.Current)
	return nil
}

// Map implements [Provider].
func (s *Sanity) Map(r *Request) (Purge, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return Purge{}, payloadErr("body is not a JSON object with _id, _type and a slug: %v", err)
	}
	var slug, prev sanitySlug
	_ = json.Unmarshal(m[s.templates.slugField], &slug) // another shape: no slug
	_ = json.Unmarshal(m["previousSlug"], &prev)
	id := str(m, "_id")
	if id == "" {
		id = r.Header.Get("Sanity-Document-Id")
	}
	if strings.HasPrefix(id, "drafts.") || strings.HasPrefix(id, "versions.") {
		return ignore("drafts and versions are not public")
	}
	doc := document{typ: str(m, "_type"), id: id, slugs: []localized{{slug: string(slug)}}}
	if prev != "" && prev != slug {
		doc.oldSlugs = []localized{{slug: string(prev)}}
	}
	p := s.templates.purge(doc)
	if p.items() == 0 {
		p.Unmapped = noPurge(doc)
	}
	p.DeliveryID = r.Header.Get("Idempotency-Key")
	return p, nil
}
