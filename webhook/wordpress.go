package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// WordPress verifies and maps deliveries of the WP Webhooks plugin's post
// triggers (post_create, post_update, post_delete, post_trash). The plugin
// signs with header X-WP-Webhook-Signature, the base64 HMAC-SHA256 of the
// body under the trigger's secret, with no timestamp.
//
// A post that is published, private or trashed is purged: post_permalink
// (without the "__trashed" suffix WordPress gives trashed posts), and the
// archive page of each of its terms, from the page template of the term's
// taxonomy (category, post_tag, ...). Drafts are ignored.
type WordPress struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (w *WordPress) Verify(r *Request, _ time.Time) error {
	h := r.Header.Get("X-WP-Webhook-Signature")
	if h == "" {
		return unverified("no X-WP-Webhook-Signature header (set a secret on the WP Webhooks trigger)")
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h))
	if err != nil || len(want) != sha256.Size {
		return unverified("X-WP-Webhook-Signature is not a base64 HMAC-SHA256")
	}
	if !w.secrets.anyHMAC(sha256.New, want, r.Body) {
		return unverified("X-WP-Webhook-Signature does not match the body under any secret")
	}
	return nil
}

type wpEvent struct {
	Post *struct {
		ID     json.Number `json:"ID"`
		Name   string      `json:"post_name"`
		Type   string      `json:"post_type"`
		Status string      `json:"post_status"`
	} `json:"post"`
	Permalink  string                                `json:"post_permalink"`
	Taxonomies map[string]map[string]json.RawMessage `json:"taxonomies"`
}

// Map implements [Provider].
func (w *WordPress) Map(r *Request) (Purge, error) {
	var e wpEvent
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return Purge{}, payloadErr("body is not a WP Webhooks post payload: %v", err)
	}
	if e.Post == nil {
		return ignore("no post in the payload")
	}
	switch e.Post.Status {
	case "publish", "private", "trash", "":
	default:
		return ignore("the post is not published (status " + quote(e.Post.Status) + ")")
	}
	var p Purge
	if e.Permalink != "" && !strings.Contains(e.Permalink, "?p=") {
		p.URLs = append(p.URLs, untrashed(e.Permalink))
	} else {
		slug := strings.TrimSuffix(e.Post.Name, "__trashed")
		p = w.templates.purge(document{typ: e.Post.Type, id: e.Post.ID.String(), slugs: []localized{{slug: slug}}})
	}
	for _, tax := range sortedKeys(e.Taxonomies) {
		for _, slug := range sortedKeys(e.Taxonomies[tax]) {
			if tpl := w.templates.pages[tax]; tpl != "" {
				p.URLs = append(p.URLs, expandTemplate(tpl, document{typ: tax}, localized{slug: slug}))
			}
		}
	}
	if p.items() == 0 {
		return unmapped("the post has no permalink and no page template matches type " + quote(e.Post.Type))
	}
	return p, nil
}

// untrashed drops the "__trashed" WordPress appends to a trashed post's
// slug, giving the URL it was published under.
func untrashed(u string) string {
	return strings.Replace(u, "__trashed", "", 1)
}
