package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/purge-worker/purge-worker/config"
)

// storyblokSign is Storyblok's webhook-signature: hex HMAC-SHA1 of the body.
func storyblokSign(key string, body []byte) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// wpSign is WP Webhooks' X-WP-Webhook-Signature: base64 HMAC-SHA256 of the body.
func wpSign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestStoryblok(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "storyblok", Zone: "example.com",
		Pages: []config.Page{{Type: "story", URL: "https://www.example.com/{slug}/"}},
		Tags:  []string{"story-{id}"},
	})
	body := fixture(t, "storyblok-published.json")
	urls, tags, _ := handled(t, h, post(body, "Webhook-Signature", storyblokSign(secret, body)))
	sameSet(t, "urls", urls, []string{"https://www.example.com/blog/hello-purge/"})
	sameSet(t, "tags", tags, []string{"story-314159"})
	handled(t, h, post(body, "Webhook-Signature", storyblokSign(oldSecret, body)))

	tampered := bytes.Replace(body, []byte("hello-purge"), []byte("evil"), 1)
	refused(t, h, post(tampered, "Webhook-Signature", storyblokSign(secret, body)), now, "does not match")
	refused(t, h, post(body, "Webhook-Signature", storyblokSign(wrong, body)), now, "does not match")
	refused(t, h, post(body), now, "no webhook-signature")
	refused(t, h, post(body, "Webhook-Signature", "zz"), now, "not a hex")

	asset := []byte(`{"text":"...","action":"asset_created","space_id":1}`)
	ignored(t, h, post(asset, "Webhook-Signature", storyblokSign(secret, asset)), "asset_created")
}

func TestWordPress(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "wordpress",
		Pages: []config.Page{
			{Type: "category", URL: "https://www.example.com/category/{slug}/"},
			{Type: "post_tag", URL: "https://www.example.com/tag/{slug}/"},
		},
		Also: []string{"https://www.example.com/", "https://www.example.com/feed/"},
	})
	body := fixture(t, "wordpress-post-update.json")
	urls, _, _ := handled(t, h, post(body, "X-WP-Webhook-Signature", wpSign(secret, body)))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/2026/12/hello-purge/", "https://www.example.com/category/news/",
		"https://www.example.com/tag/releases/", "https://www.example.com/", "https://www.example.com/feed/",
	})
	handled(t, h, post(body, "X-WP-Webhook-Signature", wpSign(oldSecret, body)))

	trashed := bytes.ReplaceAll(body, []byte(`"post_status":"publish"`), []byte(`"post_status":"trash"`))
	trashed = bytes.ReplaceAll(trashed, []byte(`hello-purge/"`), []byte(`hello-purge__trashed/"`))
	urls, _, _ = handled(t, h, post(trashed, "X-WP-Webhook-Signature", wpSign(secret, trashed)))
	if !contains(urls, "https://www.example.com/2026/12/hello-purge/") {
		t.Errorf("trashed post: urls %q lack the URL it was published under", urls)
	}
	draft := bytes.ReplaceAll(body, []byte(`"post_status":"publish"`), []byte(`"post_status":"draft"`))
	ignored(t, h, post(draft, "X-WP-Webhook-Signature", wpSign(secret, draft)), "not published")

	refused(t, h, post(trashed, "X-WP-Webhook-Signature", wpSign(secret, body)), now, "does not match")
	refused(t, h, post(body, "X-WP-Webhook-Signature", wpSign(wrong, body)), now, "does not match")
	refused(t, h, post(body), now, "no X-WP-Webhook-Signature")
}

func TestStrapi(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "strapi",
		Pages:    []config.Page{{Type: "article", URL: "https://www.example.com/{locale}/articles/{slug}"}},
	})
	body := fixture(t, "strapi-entry-publish.json")
	urls, _, _ := handled(t, h, post(body, "Authorization", "Bearer "+secret, "X-Strapi-Event", "entry.publish"))
	sameSet(t, "urls", urls, []string{"https://www.example.com/en/articles/hello-purge"})
	handled(t, h, post(body, "Authorization", "bearer "+oldSecret))

	draft := bytes.ReplaceAll(body, []byte(`"entry.publish"`), []byte(`"entry.update"`))
	draft = bytes.ReplaceAll(draft, []byte(`"publishedAt":"2026-12-02T21:59:30.456Z"`), []byte(`"publishedAt":null`))
	ignored(t, h, post(draft, "Authorization", "Bearer "+secret), "draft")
	media := []byte(`{"event":"media.create","createdAt":"2026-12-02T21:59:30.456Z","media":{"id":1}}`)
	ignored(t, h, post(media, "Authorization", "Bearer "+secret), "media.create")

	refused(t, h, post(body, "Authorization", "Bearer "+wrong), now, "none of the hook's secrets")
	refused(t, h, post(body, "Authorization", "Basic "+secret), now, "no Authorization: Bearer")
	refused(t, h, post(body), now, "no Authorization: Bearer")
}

func TestDatoCMS(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "datocms", Zone: "example.com",
		Secrets: []config.Secret{"purge:" + secret, "purge:" + oldSecret},
		Pages:   []config.Page{{Type: "blog_post", URL: "https://www.example.com/{locale}/blog/{slug}"}},
	})
	tagsBody := fixture(t, "datocms-cache-tags.json")
	urls, tags, ins := handled(t, h, post(tagsBody, "Authorization", basic("purge:"+secret)))
	sameSet(t, "tags", tags, []string{"N*r;L", "6-KZ@", "1GMQAQ2"})
	if len(urls) != 0 || ins[0].ID != "hook-datocms-128834722" {
		t.Errorf("urls %q id %q, want no URLs and the webhook_call_id in the id", urls, ins[0].ID)
	}

	item := fixture(t, "datocms-item-publish.json")
	urls, _, _ = handled(t, h, post(item, "Authorization", basic("purge:"+oldSecret)))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/en/blog/hello-purge", "https://www.example.com/it/blog/ciao-purge",
		"https://www.example.com/en/blog/hello",
	})

	refused(t, h, post(item, "Authorization", basic("purge:"+wrong)), now, "none of the hook's secrets")
	refused(t, h, post(item, "Authorization", basic("other:"+secret)), now, "none of the hook's secrets")
	refused(t, h, post(item, "Authorization", "Bearer "+secret), now, "no Authorization: Basic")
	refused(t, h, post(item), now, "no Authorization: Basic")

	draftEdit := bytes.Replace(item, []byte(`"event_type":"publish"`), []byte(`"event_type":"update"`), 1)
	draftEdit = bytes.Replace(draftEdit, []byte(`"status":"published"`), []byte(`"status":"updated"`), 1)
	ignored(t, h, post(draftEdit, "Authorization", basic("purge:"+secret)), "draft")
	liveEdit := bytes.Replace(item, []byte(`"event_type":"publish"`), []byte(`"event_type":"update"`), 1)
	handled(t, h, post(liveEdit, "Authorization", basic("purge:"+secret)))

	build := []byte(`{"webhook_call_id":"1","entity_type":"build_trigger","event_type":"deploy_succeeded","entity":{"id":"1","type":"build_trigger"}}`)
	ignored(t, h, post(build, "Authorization", basic("purge:"+secret)), "build_trigger")
}

// A delivery with more items than one intent may hold is split, each part
// with its own id derived from the delivery id.
func TestManyTagsAreSplitIntoIntents(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "datocms", Zone: "example.com", Secrets: []config.Secret{"purge:" + secret}})
	var tags []string
	for i := range 2500 {
		tags = append(tags, "t"+itoa(i))
	}
	body := []byte(`{"webhook_call_id":"77","entity_type":"cda_cache_tags","event_type":"invalidate","entity":{"id":"cda_cache_tags","type":"cda_cache_tags","attributes":{"tags":` + jsonList(tags) + `}}}`)
	_, got, ins := handled(t, h, post(body, "Authorization", basic("purge:"+secret)))
	if len(ins) != 3 || len(got) != 2500 {
		t.Fatalf("%d intents with %d tags, want 3 with 2500", len(ins), len(got))
	}
	for i, in := range ins {
		if want := "hook-datocms-77-" + itoa(i+1); in.ID != want {
			t.Errorf("intent %d id %q, want %q", i, in.ID, want)
		}
	}
}

func TestStrapiSlugFieldAndVersion4Ids(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "strapi", SlugField: "path",
		Pages: []config.Page{{Type: "page", URL: "https://www.example.com/{slug}?id={id}"}},
	})
	body := []byte(`{"event":"entry.update","model":"page","entry":{"id":12,"path":"about/team","publishedAt":"2026-12-02T21:00:00.000Z"}}`)
	urls, _, _ := handled(t, h, post(body, "Authorization", "Bearer "+secret))
	sameSet(t, "urls", urls, []string{"https://www.example.com/about/team?id=12"})
}
