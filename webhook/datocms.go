package webhook

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// DatoCMS verifies and maps DatoCMS webhooks. DatoCMS signs nothing: the
// webhook is given HTTP basic auth credentials, and each of the hook's
// secrets is one "user:password" pair, compared in constant time.
//
// The cda_cache_tags invalidate event purges its cache tags (the tags
// DatoCMS's Content Delivery API gave the pages that used the content),
// which is the precise way to purge DatoCMS content. Record (item) events
// publish, unpublish and delete, and update of a published record (not of
// its draft), purge
// the record's page under its slug now and before (a localised slug gives
// one page per locale), with the template of its model's API key, and the
// hook's tags. webhook_call_id is the delivery id.
type DatoCMS struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (d *DatoCMS) Verify(r *Request, _ time.Time) error {
	scheme, enc, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return unverified("no Authorization: Basic header (set HTTP basic auth on the DatoCMS webhook)")
	}
	cred, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return unverified("the basic auth credentials are not base64")
	}
	if !d.secrets.anyEqual(string(cred)) {
		return unverified("the basic auth credentials are none of the hook's secrets")
	}
	return nil
}

type datoEntity struct {
	ID            string                     `json:"id"`
	Type          string                     `json:"type"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
	Relationships struct {
		ItemType struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"item_type"`
	} `json:"relationships"`
	Meta struct {
		Status string `json:"status"`
	} `json:"meta"`
}

type datoEvent struct {
	CallID          json.RawMessage `json:"webhook_call_id"`
	EntityType      string          `json:"entity_type"`
	EventType       string          `json:"event_type"`
	Entity          datoEntity      `json:"entity"`
	PreviousEntity  *datoEntity     `json:"previous_entity"`
	RelatedEntities []datoEntity    `json:"related_entities"`
}

// Map implements [Provider].
func (d *DatoCMS) Map(r *Request) (Purge, error) {
	var e datoEvent
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a DatoCMS webhook payload: %v", err)
	}
	var p Purge
	switch {
	case e.EntityType == "cda_cache_tags" && e.EventType == "invalidate":
		if err := json.Unmarshal(e.Entity.Attributes["tags"], &p.Tags); err != nil {
			return Purge{}, payloadErr("entity.attributes.tags is not a list of strings: %v", err)
		}
	case e.EntityType == "item":
		switch e.EventType {
		case "publish", "unpublish", "delete":
		case "update":
			// "updated" is a published record whose draft changed, "draft"
			// one never published: the public version is the same. Models
			// without drafts have no status, and every update is public.
			if st := e.Entity.Meta.Status; st != "published" && st != "" {
				return ignore("the update changed a draft (status " + quote(st) + "), not the published record")
			}
		default:
			return ignore("event " + quote(e.EventType) + " changes no record page")
		}
		field := d.templates.slugField
		doc := document{typ: d.modelKey(e), id: e.Entity.ID, slugs: datoSlugs(e.Entity.Attributes[field])}
		if e.PreviousEntity != nil {
			doc.oldSlugs = datoSlugs(e.PreviousEntity.Attributes[field])
		}
		if p = d.templates.purge(doc); p.items() == 0 {
			p.Unmapped = noPurge(doc)
		}
	default:
		return ignore(quote(e.EntityType+" "+e.EventType) + " changes no page (use the cache tags webhook)")
	}
	if p.items() == 0 && p.Unmapped == "" {
		return ignore("the event names no cache tags")
	}
	p.DeliveryID = rawID(e.CallID)
	return p, nil
}

// modelKey is the API key of the record's model, from related_entities,
// or the model's id when the payload does not include it.
func (d *DatoCMS) modelKey(e datoEvent) string {
	id := e.Entity.Relationships.ItemType.Data.ID
	for _, rel := range e.RelatedEntities {
		if key := str(rel.Attributes, "api_key"); rel.Type == "item_type" && rel.ID == id && key != "" {
			return key
		}
	}
	return id
}

// datoSlugs reads a slug field: a string, or an object of strings by locale.
func datoSlugs(raw json.RawMessage) []localized {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil
		}
		return []localized{{slug: s}}
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []localized
	for _, loc := range sortedKeys(m) {
		out = append(out, localized{locale: loc, slug: m[loc]})
	}
	return out
}

// rawID is a JSON string or number as text, or "".
func rawID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
