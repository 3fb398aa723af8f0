package webhook

import (
	"encoding/json"
	"time"
)

// Strapi verifies and maps Strapi (v4 and v5) webhooks. Strapi signs
// nothing: the webhook is given a header "Authorization: Bearer <secret>"
// in the admin panel, compared here in constant time.
//
// entry.publish, entry.unpublish and entry.delete are purged, and
// entry.create and entry.update when the entry is published (publishedAt
// set, or Draft & Publish off): the page of the entry's model with its
// slug (field slug, or the hook's slug_field), and the hook's tags. Media and other events are ignored.
type Strapi struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (s *Strapi) Verify(r *Request, _ time.Time) error {
	tok, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return unverified("no Authorization: Bearer header (add it to the Strapi webhook's headers)")
	}
	if !s.secrets.anyEqual(tok) {
		return unverified("the bearer token is none of the hook's secrets")
	}
	return nil
}

type strapiEvent struct {
	Event string                     `json:"event"`
	Model string                     `json:"model"`
	Entry map[string]json.RawMessage `json:"entry"`
}

// Map implements [Provider].
func (s *Strapi) Map(r *Request) (Purge, error) {
	var e strapiEvent
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a Strapi event: %v", err)
	}
	switch e.Event {
	case "entry.publish", "entry.unpublish", "entry.delete":
	case "entry.create", "entry.update":
		// publishedAt is null on a draft and absent without Draft & Publish.
		if at, ok := e.Entry["publishedAt"]; ok && string(at) == "null" {
			return ignore("the entry is a draft")
		}
	default:
		return ignore("event " + quote(e.Event) + " changes no entry page")
	}
	id := str(e.Entry, "documentId")
	if id == "" {
		id = rawID(e.Entry["id"])
	}
	doc := document{typ: e.Model, id: id}
	if slug := str(e.Entry, s.templates.slugField); slug != "" {
		doc.slugs = []localized{{locale: str(e.Entry, "locale"), slug: slug}}
	}
	p := s.templates.purge(doc)
	if p.items() == 0 {
		return unmapped(noPurge(doc))
	}
	return p, nil
}
