package daemon

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// Webhook secrets of the test daemon. Contentful's are 64 characters.
const (
	hookSecret = "HOOK-s3cr3t-5e6f7a8b9c0d1e2f"
	cfulSecret = "CFUL-s3cr3t-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
)

const webhooksYAML = `webhooks:
    - name: ghost
      provider: ghost
      secrets: [` + hookSecret + `]
      also: [https://www.example.com/, https://www.example.com/rss/, https://www.example.com/sitemap.xml]
    - name: sanity
      provider: sanity
      secrets: [` + hookSecret + `]
      zone: example.com
      pages: [{type: post, url: "https://www.example.com/posts/{slug}"}]
      tags: ["{type}"]
    - name: contentful
      provider: contentful
      secrets: [` + cfulSecret + `]
      zone: example.com
      pages: [{type: blogPost, url: "https://www.example.com/blog/{slug}"}]
      tags: ["entry-{id}"]
    - name: storyblok
      provider: storyblok
      secrets: [` + hookSecret + `]
      pages: [{type: story, url: "https://www.example.com/{slug}/"}]
    - name: wordpress
      provider: wordpress
      secrets: [` + hookSecret + `]
      pages: [{type: category, url: "https://www.example.com/category/{slug}/"}]
    - name: strapi
      provider: strapi
      secrets: [` + hookSecret + `]
      pages: [{type: article, url: "https://www.example.com/articles/{slug}"}]
    - name: datocms
      provider: datocms
      secrets: ["purge:` + hookSecret + `"]
      zone: example.com
    - name: generic
      provider: generic
      secrets: [` + hookSecret + `]
      zone: example.com
      signature: {header: X-Signature, algorithm: sha256, encoding: hex, prefix: "sha256="}
      cel:
        urls: 'body.paths.map(p, "https://www.example.com" + p)'
        tags: '["generic-" + body.kind]'
        id: 'headers["x-delivery-id"]'`

func mac(h func() hash.Hash, key string, parts ...string) []byte {
	m := hmac.New(h, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (s *stack) postHook(name string, body []byte, header ...string) (int, string) {
	s.t.Helper()
	return s.do(http.MethodPost, "/v1/hooks/"+name, body, header...)
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// A signed Ghost post.published delivery purges the post, its tag and
// author pages and the hook's extras in one call; a tampered copy is
// refused and stores nothing.
func TestWebhookGhostPublishedPurgesInOneCall(t *testing.T) {
	s := newStack(t)
	s.hooks = webhooksYAML
	d := s.start()

	body := []byte(`{"post":{"current":{"id":"6650c1f2e4b0a1b2c3d4e5f6","uuid":"1a2b3c4d","title":"Hello","slug":"hello-purge",
"status":"published","visibility":"public","url":"https://www.example.com/hello-purge/",
"tags":[{"id":"t1","name":"News","slug":"news","url":"https://www.example.com/tag/news/"}],
"authors":[{"id":"1","name":"Ada","slug":"ada","url":"https://www.example.com/author/ada/"}]},
"previous":{"status":"draft","published_at":null}}}`)
	ts := ms(time.Now())
	sig := "sha256=" + hex.EncodeToString(mac(sha256.New, hookSecret, string(body), ts)) + ", t=" + ts

	tampered := bytes.Replace(body, []byte(`/hello-purge/"`), []byte(`/other/"`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("the test did not tamper with the body")
	}
	if code, answer := s.postHook("ghost", tampered, "X-Ghost-Signature", sig); code != http.StatusUnauthorized {
		t.Fatalf("tampered delivery: %d %s, want 401", code, answer)
	}
	if !d.drained() {
		t.Fatal("the tampered delivery left something in the stream")
	}
	if code, answer := s.postHook("ghost", body, "X-Ghost-Signature", sig); code != http.StatusAccepted {
		t.Fatalf("signed delivery: %d %s, want 202", code, answer)
	}
	want := []string{
		"https://www.example.com/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
		"https://www.example.com/", "https://www.example.com/rss/", "https://www.example.com/sitemap.xml",
	}
	testutil.Eventually(s.t, 20*time.Second, "the post purged", func() bool { return s.acceptedKeys(zoneCom)[want[0]] })
	testutil.Eventually(s.t, 20*time.Second, "stream drained", d.drained)
	calls := s.cf.Accepted()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want the delivery purged in one: %+v", len(calls), calls)
	}
	got := slices.Clone(calls[0].Keys)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || calls[0].Kind != "files" {
		t.Errorf("call purged %s %q, want files %q", calls[0].Kind, got, want)
	}
	for _, c := range s.cf.Accepted() {
		for _, k := range c.Keys {
			if strings.Contains(k, "other/") {
				t.Errorf("the tampered URL %s was purged", k)
			}
		}
	}
	code, metrics := s.get("/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, `purge_worker_webhook_requests_total{hook="ghost",result="accepted"} 1`) ||
		!strings.Contains(metrics, `purge_worker_webhook_requests_total{hook="ghost",result="unauthorized"} 1`) {
		t.Errorf("/metrics lacks the ghost hook's accepted and unauthorized counts")
	}
	if strings.Contains(s.logs.String(), hookSecret) {
		t.Error("the logs show a webhook secret")
	}
}

// Every provider, signed by its documented recipe, reaches Cloudflare.
func TestWebhookEveryProviderPurges(t *testing.T) {
	s := newStack(t)
	s.hooks = webhooksYAML
	d := s.start()
	now := time.Now()

	type delivery struct {
		name   string
		body   string
		header func(body string) []string
		want   []string
	}
	deliveries := []delivery{
		{"sanity", `{"_id":"doc-1","_type":"post","slug":{"_type":"slug","current":"sane"},"previousSlug":"insane"}`,
			func(b string) []string {
				return []string{"Sanity-Webhook-Signature", "t=" + ms(now) + ",v1=" + base64.RawURLEncoding.EncodeToString(mac(sha256.New, hookSecret, ms(now), ".", b)),
					"Idempotency-Key", "idem-1"}
			},
			[]string{"https://www.example.com/posts/sane", "https://www.example.com/posts/insane", "post"}},
		{"contentful", `{"sys":{"type":"DeletedEntry","id":"abc123","contentType":{"sys":{"type":"Link","linkType":"ContentType","id":"blogPost"}}}}`,
			func(b string) []string {
				const list = "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
				const topic = "ContentManagement.Entry.unpublish"
				canon := "POST\n/v1/hooks/contentful\nx-contentful-signed-headers:" + list + ";x-contentful-timestamp:" + ms(now) +
					";x-contentful-topic:" + topic + "\n" + b
				return []string{"X-Contentful-Topic", topic, "X-Contentful-Timestamp", ms(now), "X-Contentful-Signed-Headers", list,
					"X-Contentful-Signature", hex.EncodeToString(mac(sha256.New, cfulSecret, canon))}
			},
			[]string{"entry-abc123"}},
		{"storyblok", `{"text":"published","action":"published","space_id":1,"story_id":7,"full_slug":"about/team"}`,
			func(b string) []string {
				return []string{"Webhook-Signature", hex.EncodeToString(mac(sha1.New, hookSecret, b))}
			},
			[]string{"https://www.example.com/about/team/"}},
		{"wordpress", `{"post_id":9,"post":{"ID":9,"post_name":"wp-post","post_type":"post","post_status":"publish"},
"post_permalink":"https://www.example.com/wp-post/","taxonomies":{"category":{"misc":{"slug":"misc","taxonomy":"category"}}}}`,
			func(b string) []string {
				return []string{"X-WP-Webhook-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, hookSecret, b))}
			},
			[]string{"https://www.example.com/wp-post/", "https://www.example.com/category/misc/"}},
		{"strapi", `{"event":"entry.unpublish","model":"article","entry":{"id":3,"slug":"strapped","publishedAt":null}}`,
			func(string) []string { return []string{"Authorization", "Bearer " + hookSecret} },
			[]string{"https://www.example.com/articles/strapped"}},
		{"datocms", `{"webhook_call_id":"991","entity_type":"cda_cache_tags","event_type":"invalidate","entity":{"id":"cda_cache_tags","type":"cda_cache_tags","attributes":{"tags":["dato-1","dato-2"]}}}`,
			func(string) []string {
				return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("purge:"+hookSecret))}
			},
			[]string{"dato-1", "dato-2"}},
		{"generic", `{"kind":"deploy","paths":["/g1","/g2"]}`,
			func(b string) []string {
				return []string{"X-Signature", "sha256=" + hex.EncodeToString(mac(sha256.New, hookSecret, b)), "X-Delivery-Id", "gen-1"}
			},
			[]string{"https://www.example.com/g1", "https://www.example.com/g2", "generic-deploy"}},
	}
	for _, dl := range deliveries {
		code, answer := s.postHook(dl.name, []byte(dl.body), dl.header(dl.body)...)
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s, want 202", dl.name, code, answer)
		}
	}
	for _, dl := range deliveries {
		for _, k := range dl.want {
			testutil.Eventually(s.t, 20*time.Second, dl.name+" purging "+k, func() bool { return s.acceptedKeys(zoneCom)[k] })
		}
	}
	testutil.Eventually(s.t, 20*time.Second, "stream drained", d.drained)
	if n := len(d.dlq()); n != 0 {
		t.Errorf("%d deliveries dead-lettered", n)
	}
	for _, c := range s.cf.Calls() {
		if c.Outcome != cftest.OutcomeOK {
			t.Errorf("call %+v refused", c)
		}
	}
}
