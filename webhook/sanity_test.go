package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/config"
)

// sanitySign signs as @sanity/webhook does: "t=<ms>,v1=<sig>", sig the
// unpadded base64url HMAC-SHA256 of "<ms>.<body>".
func sanitySign(key string, body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func sanityHook(t *testing.T) *Hook {
	return newHook(t, config.Webhook{
		Provider: "sanity",
		Zone:     "example.com",
		Pages:    []config.Page{{Type: "post", URL: "https://www.example.com/posts/{slug}"}},
		Tags:     []string{"{type}", "sanity-{id}"},
		Also:     []string{"https://www.example.com/"},
	})
}

func sanityDelivery(body []byte, sig string) *Request {
	return post(body,
		"Sanity-Webhook-Signature", sig,
		"Idempotency-Key", "idem-01JEXAMPLE7Q2",
		"Sanity-Operation", "update",
		"Sanity-Document-Id", "8d3f2c1a-7b6e-4f5d-9c8b-1a2b3c4d5e6f",
		"Sanity-Project-Id", "abc123", "Sanity-Dataset", "production")
}

func TestSanityPurgesPageOldPageTagsAndExtras(t *testing.T) {
	body := fixture(t, "sanity-post-update.json")
	urls, tags, ins := handled(t, sanityHook(t), sanityDelivery(body, sanitySign(secret, body, now)))
	sameSet(t, "urls", urls, []string{
		"https://www.example.com/posts/hello-purge", "https://www.example.com/posts/hello-world", "https://www.example.com/",
	})
	sameSet(t, "tags", tags, []string{"post", "sanity-8d3f2c1a-7b6e-4f5d-9c8b-1a2b3c4d5e6f"})
	if ins[0].ID != "hook-sanity-idem-01JEXAMPLE7Q2" || ins[0].Zone != "example.com" {
		t.Errorf("intent id %q zone %q, want the idempotency key in the id and the hook's zone", ins[0].ID, ins[0].Zone)
	}
}

func TestSanityIgnoresDraftsAndUnknownTypes(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "sanity", Pages: []config.Page{{Type: "post", URL: "https://www.example.com/posts/{slug}"}}})
	draft := []byte(`{"_id":"drafts.abc","_type":"post","slug":{"current":"x"}}`)
	ignored(t, h, sanityDelivery(draft, sanitySign(secret, draft, now)), "drafts")
	other := []byte(`{"_id":"abc","_type":"settings"}`)
	ignored(t, h, sanityDelivery(other, sanitySign(secret, other, now)), `"settings"`)
}

func TestSanityVerification(t *testing.T) {
	h := sanityHook(t)
	body := fixture(t, "sanity-post-update.json")
	tampered := bytes.Replace(body, []byte("hello-purge"), []byte("evil"), 1)
	handled(t, h, sanityDelivery(body, sanitySign(oldSecret, body, now)))
	refused(t, h, post(body), now, "no sanity-webhook-signature")
	refused(t, h, sanityDelivery(tampered, sanitySign(secret, body, now)), now, "does not match")
	refused(t, h, sanityDelivery(body, sanitySign(wrong, body, now)), now, "does not match")
	refused(t, h, sanityDelivery(body, sanitySign(secret, body, now.Add(-10*time.Minute))), now, "outside")
	refused(t, h, sanityDelivery(body, "v1=abc,t=1"), now, "is not")
	// Padding, as some encoders add it, is accepted.
	handled(t, h, sanityDelivery(body, sanitySign(secret, body, now)+"="))
}

// A document type without a template still purges also, under the
// delivery's id, and says what is missing.
func TestSanityUnknownTypePurgesAlsoAndSaysWhy(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "sanity", Also: []string{"https://www.example.com/"}})
	body := []byte(`{"_id":"siteSettings","_type":"settings","title":"New name"}`)
	out, err := h.Handle(sanityDelivery(body, sanitySign(secret, body, now)), now)
	if err != nil || len(out.Intents) != 1 || !strings.Contains(out.Unmapped, `"settings"`) {
		t.Fatalf("Handle = %+v, %v; want also purged and the type named", out, err)
	}
	if in := out.Intents[0]; in.ID != "hook-sanity-idem-01JEXAMPLE7Q2" || len(in.Files) != 1 {
		t.Errorf("intent %+v, want the also URL under the idempotency key", in)
	}
}
