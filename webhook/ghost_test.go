package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/config"
)

// ghostSign signs as Ghost's webhook trigger does: the hex HMAC-SHA256 of
// the body followed by the millisecond timestamp, sent as
// "sha256=<hex>, t=<ms>".
func ghostSign(key string, body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	m.Write([]byte(ts))
	return fmt.Sprintf("sha256=%s, t=%s", hex.EncodeToString(m.Sum(nil)), ts)
}

func ghostHook(t *testing.T) *Hook {
	return newHook(t, config.Webhook{
		Provider: "ghost",
		Also:     []string{"https://www.example.com/", "https://www.example.com/rss/", "https://www.example.com/sitemap-posts.xml"},
	})
}

func ghostDelivery(t *testing.T, name string, at time.Time) *Request {
	body := fixture(t, name)
	return post(body, "X-Ghost-Signature", ghostSign(secret, body, at), "Content-Type", "application/json")
}

var ghostExtras = []string{"https://www.example.com/", "https://www.example.com/rss/", "https://www.example.com/sitemap-posts.xml"}

func TestGhostPublishedPurgesPostTagsAuthorsAndExtras(t *testing.T) {
	h := ghostHook(t)
	urls, tags, ins := handled(t, h, ghostDelivery(t, "ghost-post-published.json", now.Add(-time.Second)))
	sameSet(t, "urls", urls, append([]string{
		"https://www.example.com/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/tag/releases/", "https://www.example.com/tag/releases/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
	}, ghostExtras...))
	if len(tags) != 0 {
		t.Errorf("tags %q, want none", tags)
	}
	if len(ins) != 1 || ins[0].Priority != "high" || ins[0].Source != "webhook ghost" || ins[0].ID == "" {
		t.Errorf("intents %+v, want one with priority high, source and an id", ins)
	}
}

func TestGhostSlugChangePurgesTheOldURL(t *testing.T) {
	urls, _, _ := handled(t, ghostHook(t), ghostDelivery(t, "ghost-post-slug-changed.json", now))
	sameSet(t, "urls", urls, append([]string{
		"https://www.example.com/blog/hello-purge-2/", "https://www.example.com/blog/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
	}, ghostExtras...))
}

func TestGhostUnpublishedPurgesThePublicURLNotThePreview(t *testing.T) {
	urls, _, _ := handled(t, ghostHook(t), ghostDelivery(t, "ghost-post-unpublished.json", now))
	sameSet(t, "urls", urls, append([]string{
		"https://www.example.com/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
	}, ghostExtras...))
}

func TestGhostUnpublishedUsesThePageTemplate(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "ghost", Pages: []config.Page{{Type: "post", URL: "https://www.example.com/blog/{slug}/"}}})
	urls, _, _ := handled(t, h, ghostDelivery(t, "ghost-post-unpublished.json", now))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/blog/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
	})
}

func TestGhostDeletedPurgesWhatPreviousHolds(t *testing.T) {
	urls, _, _ := handled(t, ghostHook(t), ghostDelivery(t, "ghost-post-deleted.json", now))
	sameSet(t, "urls", urls, append([]string{
		"https://www.example.com/hello-purge/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
		"https://www.example.com/author/ada/", "https://www.example.com/author/ada/rss/",
	}, ghostExtras...))
}

func TestGhostTagRenamePurgesBothTagPages(t *testing.T) {
	urls, _, _ := handled(t, ghostHook(t), ghostDelivery(t, "ghost-tag-edited.json", now))
	sameSet(t, "urls", urls, append([]string{
		"https://www.example.com/tag/announcements/", "https://www.example.com/tag/announcements/rss/",
		"https://www.example.com/tag/news/", "https://www.example.com/tag/news/rss/",
	}, ghostExtras...))
}

func TestGhostIgnoresDraftsAndMembers(t *testing.T) {
	h := ghostHook(t)
	ignored(t, h, ghostDelivery(t, "ghost-post-draft-edited.json", now), "not published")
	member := []byte(`{"member":{"current":{"id":"1","email":"a@example.org"},"previous":{}}}`)
	ignored(t, h, post(member, "X-Ghost-Signature", ghostSign(secret, member, now)), "member")
	site := []byte(`{}`)
	ignored(t, h, post(site, "X-Ghost-Signature", ghostSign(secret, site, now)), "site.changed")
}

func TestGhostVerification(t *testing.T) {
	h := ghostHook(t)
	body := fixture(t, "ghost-post-published.json")
	tampered := bytes.Replace(body, []byte("hello-purge"), []byte("evil-purge"), 1)

	// Rotation: the old secret still verifies.
	handled(t, h, post(body, "X-Ghost-Signature", ghostSign(oldSecret, body, now)))

	refused(t, h, post(body), now, "no X-Ghost-Signature")
	refused(t, h, post(tampered, "X-Ghost-Signature", ghostSign(secret, body, now)), now, "does not match")
	refused(t, h, post(body, "X-Ghost-Signature", ghostSign(wrong, body, now)), now, "does not match")
	refused(t, h, post(body, "X-Ghost-Signature", ghostSign(secret, body, now.Add(-6*time.Minute))), now, "outside the 5m0s window")
	refused(t, h, post(body, "X-Ghost-Signature", ghostSign(secret, body, now.Add(6*time.Minute))), now, "outside")
	refused(t, h, post(body, "X-Ghost-Signature", "sha256=abc, t=1"), now, "is not")
	// The timestamp is signed: moving it into the window breaks the MAC.
	stale := ghostSign(secret, body, now.Add(-time.Hour))
	moved := stale[:len(stale)-13] + strconv.FormatInt(now.UnixMilli(), 10)
	refused(t, h, post(body, "X-Ghost-Signature", moved), now, "does not match")
	// Just inside the window either way.
	handled(t, h, post(body, "X-Ghost-Signature", ghostSign(secret, body, now.Add(-4*time.Minute))))
	handled(t, h, post(body, "X-Ghost-Signature", ghostSign(secret, body, now.Add(4*time.Minute))))
}

func TestGhostURLOutsideEveryZoneIsAPayloadError(t *testing.T) {
	h := ghostHook(t)
	body := bytes.ReplaceAll(fixture(t, "ghost-post-published.json"), []byte("www.example.com"), []byte("blog.example.net"))
	_, err := h.Handle(post(body, "X-Ghost-Signature", ghostSign(secret, body, now)), now)
	if err == nil || !bytesContains(err.Error(), "example.net") {
		t.Fatalf("Handle: %v, want an error naming the host outside every zone", err)
	}
}

func bytesContains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }

// When an edit of a published page changes its tags, the pages of the tags
// it had (in previous) list it too.
func TestGhostPageTagChangePurgesOldAndNewTagPages(t *testing.T) {
	body := []byte(`{"page":{"current":{"id":"p1","slug":"about","status":"published","url":"https://www.example.com/about/",
"tags":[{"slug":"new","url":"https://www.example.com/tag/new/"}],"authors":[]},
"previous":{"tags":[{"slug":"old","url":"https://www.example.com/tag/old/"}]}}}`)
	h := newHook(t, config.Webhook{Provider: "ghost"})
	urls, _, _ := handled(t, h, post(body, "X-Ghost-Signature", ghostSign(secret, body, now)))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/about/",
		"https://www.example.com/tag/new/", "https://www.example.com/tag/new/rss/",
		"https://www.example.com/tag/old/", "https://www.example.com/tag/old/rss/",
	})
}

// A Ghost installed under a subdirectory keeps it in the URLs built for an
// unpublished post.
func TestGhostUnpublishedUnderASubdirectory(t *testing.T) {
	body := []byte(`{"post":{"current":{"id":"1","slug":"hi","status":"draft","url":"https://www.example.com/blog/p/0f1e/"},
"previous":{"status":"published"}}}`)
	urls, _, _ := handled(t, newHook(t, config.Webhook{Provider: "ghost"}), post(body, "X-Ghost-Signature", ghostSign(secret, body, now)))
	sameSet(t, "urls", urls, []string{"https://www.example.com/blog/hi/"})
}
