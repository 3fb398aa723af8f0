package webhook

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Storyblok verifies and maps Storyblok webhooks. Storyblok signs with
// header "webhook-signature", the hex HMAC-SHA1 of the body; it signs no
// timestamp, so a captured delivery can be replayed (it only purges again).
//
// Story actions published, unpublished, deleted and moved are purged: the
// page of full_slug (template type "story"), and the hook's tags with the
// story's id. Other actions are ignored.
type Storyblok struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (s *Storyblok) Verify(r *Request, _ time.Time) error {
	h := r.Header.Get("Webhook-Signature")
	if h == "" {
		return unverified("no webhook-signature header (set a webhook secret in Storyblok)")
	}
	want, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil || len(want) != sha1.Size {
		return unverified("webhook-signature is not a hex HMAC-SHA1")
	}
	if !s.secrets.anyHMAC(sha1.New, want, r.Body) {
		return unverified("webhook-signature does not match the body under any secret")
	}
	return nil
}

type storyblokEvent struct {
	Action   string          `json:"action"`
	StoryID  json.Number     `json:"story_id"`
	FullSlug string          `json:"full_slug"`
	Story    *storyblokStory `json:"story"`
}

type storyblokStory struct {
	FullSlug string `json:"full_slug"`
}

// Map implements [Provider].
func (s *Storyblok) Map(r *Request) (Purge, error) {
	var e storyblokEvent
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a Storyblok event: %v", err)
	}
	switch e.Action {
	case "published", "unpublished", "deleted", "moved":
	default:
		return ignore(fmt.Sprintf("action %s changes no story page", quote(e.Action)))
	}
	slug := e.FullSlug
	if slug == "" && e.Story != nil {
		slug = e.Story.FullSlug
	}
	doc := document{typ: "story", id: e.StoryID.String()}
	if slug != "" {
		doc.slugs = []localized{{slug: slug}}
	}
	p := s.templates.purge(doc)
	if p.items() == 0 {
		return unmapped("the event has no full_slug and no template uses {id}: set the hook's tags or a page with {id}")
	}
	return p, nil
}
