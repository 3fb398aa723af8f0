package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/config"
)

// A Payload-CMS-style hook body, as the generic guide recommends.
const genericBody = `{"collection":"posts","operation":"update",
 "doc":{"id":"65f0","slug":"hello-purge","_status":"published"},
 "previousDoc":{"slug":"hello-world","_status":"published"}}`

var genericCEL = config.CEL{
	URLs: `[body.doc, body.previousDoc].filter(d, has(d.slug) && d._status == "published")
	         .map(d, "https://www.example.com/posts/" + d.slug)`,
	Tags: `["posts-sitemap"]`,
	ID:   `"x-delivery" in headers ? headers["x-delivery"] : ""`,
}

func hubSign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestGenericBearer(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "generic", Zone: "example.com", CEL: genericCEL})
	body := []byte(genericBody)
	urls, tags, ins := handled(t, h, post(body, "Authorization", "Bearer "+secret, "X-Delivery", "d-1"))
	sameSet(t, "urls", urls, []string{"https://www.example.com/posts/hello-purge", "https://www.example.com/posts/hello-world"})
	sameSet(t, "tags", tags, []string{"posts-sitemap"})
	if ins[0].ID != "hook-generic-d-1" {
		t.Errorf("id %q, want it from the id expression", ins[0].ID)
	}
	handled(t, h, post(body, "Authorization", "Bearer "+oldSecret))
	refused(t, h, post(body, "Authorization", "Bearer "+wrong), now, "none of the hook's secrets")
	refused(t, h, post(body), now, "no Authorization")
}

func TestGenericHMAC(t *testing.T) {
	h := newHook(t, config.Webhook{
		Provider: "generic", Zone: "example.com", CEL: genericCEL,
		Signature: config.Signature{Header: "X-Hub-Signature-256", Algorithm: "sha256", Encoding: "hex", Prefix: "sha256="},
	})
	body := []byte(genericBody)
	handled(t, h, post(body, "X-Hub-Signature-256", hubSign(secret, body)))
	handled(t, h, post(body, "X-Hub-Signature-256", hubSign(oldSecret, body)))
	tampered := []byte(strings.Replace(genericBody, "hello-purge", "evil", 1))
	refused(t, h, post(tampered, "X-Hub-Signature-256", hubSign(secret, body)), now, "does not match")
	refused(t, h, post(body, "X-Hub-Signature-256", hubSign(wrong, body)), now, "does not match")
	refused(t, h, post(body, "X-Hub-Signature-256", strings.TrimPrefix(hubSign(secret, body), "sha256=")), now, "does not start with")
	// A bearer token is no substitute for the signature.
	refused(t, h, post(body, "Authorization", "Bearer "+secret), now, "no X-Hub-Signature-256")
}

func TestGenericMappingErrors(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "generic", Zone: "example.com", CEL: config.CEL{
		URLs: `body.pages.map(p, "https://www.example.com" + p)`,
	}})
	auth := []string{"Authorization", "Bearer " + secret}
	cases := []struct{ name, body, want string }{
		{"not json", `pages=/a`, "not JSON"},
		{"trailing data", `{"pages":["/a"]} {}`, "not JSON"},
		{"missing field", `{"other":1}`, "cel.urls"},
		{"wrong element type", `{"pages":[1]}`, "cel.urls"},
		{"relative url", `{"pages":["a"]}`, "files[0]"},
		{"outside zone", `{"pages":[".evil.org/a"]}`, "files[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Handle(post([]byte(c.body), auth...), now)
			if !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Handle: %v, want an ErrPayload mentioning %q", err, c.want)
			}
		})
	}
	ignored(t, h, post([]byte(`{"pages":[]}`), auth...), "nothing to purge")
}

func TestGenericCostLimitStopsARunawayExpression(t *testing.T) {
	h := newHook(t, config.Webhook{Provider: "generic", Zone: "example.com", CEL: config.CEL{
		URLs: `body.xs.filter(a, body.xs.exists(b, b == a + 0.5)).map(x, "https://www.example.com/")`,
	}})
	xs := make([]string, 5000)
	for i := range xs {
		xs[i] = itoa(i)
	}
	body := []byte(`{"xs":[` + strings.Join(xs, ",") + `]}`)
	_, err := h.Handle(post(body, "Authorization", "Bearer "+secret), now)
	if !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("Handle: %v, want the cost limit to stop the evaluation", err)
	}
}
