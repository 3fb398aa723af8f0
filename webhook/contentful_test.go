package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/config"
)

// Contentful signing secrets are exactly 64 characters.
const (
	cfSecret    = "cfsecret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	cfOldSecret = "cfoldsec-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
)

// contentfulSign signs as @contentful/node-apps-toolkit's signRequest:
// HMAC-SHA256 hex of METHOD\nPATH\nHEADERS\nBODY, HEADERS the lower-cased
// signed headers, sorted by name, as name:value joined with ";", the list
// and the timestamp included. It returns the headers to send.
func contentfulSign(key, method, path string, headers map[string]string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	all := map[string]string{"x-contentful-timestamp": ts}
	for k, v := range headers {
		all[strings.ToLower(k)] = v
	}
	names := []string{"x-contentful-signed-headers"}
	for k := range all {
		names = append(names, k)
	}
	slices.Sort(names)
	all["x-contentful-signed-headers"] = strings.Join(names, ",")
	var pairs []string
	for _, n := range names {
		pairs = append(pairs, n+":"+all[n])
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(method + "\n" + path + "\n" + strings.Join(pairs, ";") + "\n" + string(body)))
	h := http.Header{}
	for k, v := range all {
		h.Set(k, v)
	}
	h.Set("X-Contentful-Signature", hex.EncodeToString(m.Sum(nil)))
	h.Set("Content-Type", "application/vnd.contentful.management.v1+json")
	return h
}

func contentfulHook(t *testing.T, tags ...string) *Hook {
	return newHook(t, config.Webhook{
		Provider: "contentful",
		Zone:     "example.com",
		Secrets:  []config.Secret{cfSecret, cfOldSecret},
		Pages:    []config.Page{{Type: "blogPost", URL: "https://www.example.com/{locale}/blog/{slug}"}},
		Tags:     tags,
		Also:     []string{"https://www.example.com/blog"},
	})
}

func contentfulDelivery(key, topic string, body []byte, at time.Time) *Request {
	h := contentfulSign(key, "POST", "/v1/hooks/contentful", map[string]string{"X-Contentful-Topic": topic}, body, at)
	h.Set("X-Contentful-Webhook-Name", "purge")
	return &Request{Method: "POST", Target: "/v1/hooks/contentful", Header: h, Body: body}
}

func TestContentfulPublishPurgesEveryLocale(t *testing.T) {
	body := fixture(t, "contentful-entry-publish.json")
	urls, tags, _ := handled(t, contentfulHook(t, "entry-{id}"), contentfulDelivery(cfSecret, "ContentManagement.Entry.publish", body, now))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/en-US/blog/hello-purge", "https://www.example.com/de-DE/blog/hallo-purge", "https://www.example.com/blog",
	})
	sameSet(t, "tags", tags, []string{"entry-5KsDBWseXY6QegucYAoacS"})
}

func TestContentfulTombstonePurgesByTag(t *testing.T) {
	body := fixture(t, "contentful-entry-unpublish.json")
	urls, tags, _ := handled(t, contentfulHook(t, "entry-{id}", "{type}"), contentfulDelivery(cfSecret, "ContentManagement.Entry.unpublish", body, now))
	sameSet(t, "urls", urls, []string{"https://www.example.com/blog"})
	sameSet(t, "tags", tags, []string{"entry-5KsDBWseXY6QegucYAoacS", "blogPost"})
}

// Without tags, a tombstone gives no page of its own: the hook's also URLs
// are purged, and the outcome says what to configure.
func TestContentfulTombstoneWithoutTagsSaysWhatToConfigure(t *testing.T) {
	body := fixture(t, "contentful-entry-unpublish.json")
	out, err := contentfulHook(t).Handle(contentfulDelivery(cfSecret, "ContentManagement.Entry.delete", body, now), now)
	if err != nil || len(out.Intents) != 1 || !strings.Contains(out.Unmapped, "set the hook's tags") {
		t.Fatalf("Handle = %+v, %v; want the also URLs purged and a note about tags", out, err)
	}
	if f := out.Intents[0].Files; len(f) != 1 || f[0].URL != "https://www.example.com/blog" {
		t.Errorf("files %+v, want only the also URL", f)
	}
	h := newHook(t, config.Webhook{Provider: "contentful", Secrets: []config.Secret{cfSecret}})
	ignored(t, h, contentfulDelivery(cfSecret, "ContentManagement.Entry.delete", body, now), "set the hook's tags")
}

func TestContentfulIgnoresSaves(t *testing.T) {
	body := fixture(t, "contentful-entry-publish.json")
	ignored(t, contentfulHook(t), contentfulDelivery(cfSecret, "ContentManagement.Entry.auto_save", body, now), "changes nothing public")
	ignored(t, contentfulHook(t), contentfulDelivery(cfSecret, "ContentManagement.ContentType.publish", body, now), "not about an entry")
}

func TestContentfulVerification(t *testing.T) {
	h := contentfulHook(t)
	body := fixture(t, "contentful-entry-publish.json")
	const topic = "ContentManagement.Entry.publish"
	handled(t, h, contentfulDelivery(cfOldSecret, topic, body, now))

	tampered := contentfulDelivery(cfSecret, topic, body, now)
	tampered.Body = bytes.Replace(body, []byte("hello-purge"), []byte("evil"), 1)
	refused(t, h, tampered, now, "does not match")

	otherPath := contentfulDelivery(cfSecret, topic, body, now)
	otherPath.Target = "/v1/hooks/other"
	refused(t, h, otherPath, now, "does not match")

	// The topic is signed: changing it breaks the signature.
	otherTopic := contentfulDelivery(cfSecret, topic, body, now)
	otherTopic.Header.Set("X-Contentful-Topic", "ContentManagement.Entry.delete")
	refused(t, h, otherTopic, now, "does not match")

	refused(t, h, contentfulDelivery(strings.Repeat("x", 64), topic, body, now), now, "does not match")
	refused(t, h, contentfulDelivery(cfSecret, topic, body, now.Add(-31*time.Second)), now, "outside the 30s window")
	refused(t, h, post(body), now, "no x-contentful-signature")

	unlisted := contentfulDelivery(cfSecret, topic, body, now)
	unlisted.Header.Set("X-Contentful-Signed-Headers", "x-contentful-topic")
	refused(t, h, unlisted, now, "does not list")
	handled(t, h, contentfulDelivery(cfSecret, topic, body, now.Add(-29*time.Second)))
}

func TestContentfulSlugField(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "contentful", Secrets: []config.Secret{cfSecret}, SlugField: "urlHandle",
		Pages: []config.Page{{Type: "*", URL: "https://www.example.com/{slug}"}},
	})
	body := []byte(`{"sys":{"type":"Entry","id":"e1","contentType":{"sys":{"id":"landing"}}},"fields":{"slug":{"en-US":"ignored"},"urlHandle":{"en-US":"spring-sale"}}}`)
	urls, _, _ := handled(t, h, contentfulDelivery(cfSecret, "ContentManagement.Entry.publish", body, now))
	sameSet(t, "urls", urls, []string{"https://www.example.com/spring-sale"})
}
