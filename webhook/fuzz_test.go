package webhook

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/config"
)

// fuzzHooks are one hook of every provider.
func fuzzHooks(t testing.TB) map[string]*Hook {
	page := []config.Page{{Type: "*", URL: "https://www.example.com/{slug}/"}}
	return map[string]*Hook{
		"ghost":      newHook(t, config.Webhook{Provider: "ghost", Also: []string{"https://www.example.com/"}}),
		"sanity":     newHook(t, config.Webhook{Provider: "sanity", Zone: "example.com", Pages: page, Tags: []string{"{type}"}}),
		"contentful": newHook(t, config.Webhook{Provider: "contentful", Zone: "example.com", Secrets: []config.Secret{cfSecret}, Pages: page, Tags: []string{"e-{id}"}}),
		"storyblok":  newHook(t, config.Webhook{Provider: "storyblok", Pages: page}),
		"wordpress":  newHook(t, config.Webhook{Provider: "wordpress", Pages: page}),
		"strapi":     newHook(t, config.Webhook{Provider: "strapi", Pages: page}),
		"datocms":    newHook(t, config.Webhook{Provider: "datocms", Zone: "example.com", Secrets: []config.Secret{"u:" + secret}, Pages: page}),
		"generic": newHook(t, config.Webhook{Provider: "generic", Zone: "example.com", CEL: config.CEL{
			URLs: `has(body.paths) ? body.paths.map(p, "https://www.example.com/" + string(p)) : []`,
			Tags: `has(body.tags) ? body.tags.map(t, string(t)) : []`,
			ID:   `has(body.id) ? string(body.id) : ""`,
		}}),
	}
}

// FuzzVerify sends every provider deliveries with arbitrary signature
// headers and bodies: verification must never panic, must fail with
// ErrUnverified without showing a secret, and must never accept a header
// that was not computed with a secret. Then it signs the body properly
// (by the recipe, for the HMAC providers whose recipe needs no clock
// other than now) and checks that it verifies, and that flipping one
// byte of the body breaks it.
func FuzzVerify(f *testing.F) {
	f.Add("sha256=00, t=1", []byte(`{"post":{}}`))
	f.Add("t=1764712800000,v1=AAAA", []byte(`{}`))
	f.Add("Bearer "+wrong, []byte(`{"event":"entry.publish"}`))
	f.Add("Basic dTp4", []byte(`null`))
	f.Add("", []byte{})
	hooks := fuzzHooks(f)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		for name, h := range hooks {
			r := post(body)
			for _, k := range []string{"X-Ghost-Signature", "Sanity-Webhook-Signature", "Webhook-Signature", "X-WP-Webhook-Signature",
				"Authorization", "X-Contentful-Signature", "X-Contentful-Signed-Headers", "X-Contentful-Timestamp"} {
				r.Header.Set(k, header)
			}
			err := h.provider.Verify(r, now)
			if err == nil {
				t.Fatalf("%s: verified a delivery signed with no secret (header %q)", name, header)
			}
			if !errors.Is(err, ErrUnverified) {
				t.Fatalf("%s: error %v does not wrap ErrUnverified", name, err)
			}
			for _, s := range []string{secret, oldSecret, cfSecret} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("%s: error shows a secret", name)
				}
			}
		}
		h := hooks["storyblok"]
		signed := post(body, "Webhook-Signature", storyblokSign(secret, body))
		if err := h.provider.Verify(signed, now); err != nil {
			t.Fatalf("a properly signed body did not verify: %v", err)
		}
		if len(body) > 0 {
			flipped := bytes.Clone(body)
			flipped[len(flipped)/2] ^= 1
			signed.Body = flipped
			if h.provider.Verify(signed, now) == nil {
				t.Fatal("a body with one byte flipped still verified")
			}
		}
		g := hooks["ghost"]
		gs := post(body, "X-Ghost-Signature", ghostSign(secret, body, now))
		if err := g.provider.Verify(gs, now); err != nil {
			t.Fatalf("a properly signed Ghost body did not verify: %v", err)
		}
		ss := post(body, "Sanity-Webhook-Signature", sanitySign(secret, body, now))
		if err := hooks["sanity"].provider.Verify(ss, now); err != nil {
			t.Fatalf("a properly signed Sanity body did not verify: %v", err)
		}
	})
}

// FuzzMap maps arbitrary bodies with every provider, the generic CEL
// mapping included: it must never panic; errors wrap ErrPayload; what it
// gives is ignored with a reason, or intents that are valid and bound.
func FuzzMap(f *testing.F) {
	for _, name := range []string{"ghost-post-published.json", "sanity-post-update.json", "contentful-entry-publish.json",
		"wordpress-post-update.json", "strapi-entry-publish.json", "datocms-item-publish.json", "datocms-cache-tags.json", "storyblok-published.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"paths":["a","b/c",1,true],"tags":["x",["y"]],"id":42}`))
	f.Add([]byte(`{"paths":"notalist"}`))
	hooks := fuzzHooks(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, h := range hooks {
			r := post(body, "X-Contentful-Topic", "ContentManagement.Entry.publish")
			p, err := h.provider.Map(r)
			if err != nil {
				if !errors.Is(err, ErrPayload) {
					t.Fatalf("%s: error %v does not wrap ErrPayload", name, err)
				}
				continue
			}
			if p.Ignored != "" {
				if p.items() != 0 {
					t.Fatalf("%s: ignored (%s) with %d items", name, p.Ignored, p.items())
				}
				continue
			}
			out, err := h.intents(p)
			if err != nil {
				if !errors.Is(err, ErrPayload) {
					t.Fatalf("%s: error %v does not wrap ErrPayload", name, err)
				}
				continue
			}
			for _, in := range out.Intents {
				if err := h.check(in); err != nil {
					t.Fatalf("%s: intent %+v is not valid: %v", name, in, err)
				}
			}
		}
	})
}
