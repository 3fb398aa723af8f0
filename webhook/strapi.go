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
// slug field, and the hook's tags. Media and other events are ignored.
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
	Event string `json:"event"`
	Model string `json:"model"`
	Entry struct {
		ID          json.Number     `json:"id"`
		DocumentID  string          `json:"documentId"`
		Slug        string          `json:"slug"`
		Locale      string          `json:"locale"`
		PublishedAt json.RawMessage `json:"publishedAt"`
	} `json:"entry"`
}

// Map implements [Provider].
func (s *Strapi) Map(r *Request) (Purge, error) {
	var e strapiEvent
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a Strapi event: %v", err)
	}
	published := len(e.Entry.PublishedAt) > 0 && string(e.Entry.PublishedAt) != "null"
	switch e.Event {
	case "entry.publish", "entry.unpublish", "entry.delete":
	case "entry.create", "entry.update":
		if !published && e.Entry.PublishedAt != nil {
			return ignore("the entry is a draft")
		}
	default:
		return ignore("event " + quote(e.Event) + " changes no entry page")
	}
	id := e.Entry.DocumentID
	if id == "" {
		id = e.Entry.ID.String()
	}
	doc := document{typ: e.Model, id: id}
	if e.Entry.Slug != "" {
		doc.slugs = []localized{{locale: e.Entry.Locale, slug: e.Entry.Slug}}
	}
	p := s.templates.purge(doc)
	if p.items() == 0 {
		return unmapped(noPurge(doc))
	}
	return p, nil
}
