package config

import (
	"strings"
	"testing"
)

// hooks returns minimal with an http section holding the webhooks given as
// YAML flow mappings.
func hooks(entries ...string) string {
	return minimal + "http:\n  webhooks:\n    - " + strings.Join(entries, "\n    - ") + "\n"
}

const hookSecret = "s3cr3t-0123456789abcdef"

func TestWebhooksParse(t *testing.T) {
	src := hooks(
		`{name: ghost, provider: ghost, secrets: ["${GHOST_SECRET}", old-secret-0123456789], also: ["https://www.example.com/"]}`,
		`{name: sanity, provider: sanity, secrets: [`+hookSecret+`], zone: example.com, priority: low,
		  pages: [{type: post, url: "https://www.example.com/posts/{slug}"}], tags: ["{type}", "doc-{id}"]}`,
		`{name: generic, provider: generic, secrets: [`+hookSecret+`], zone: example.com,
		  signature: {header: X-Signature, algorithm: sha256, encoding: hex, prefix: "sha256="},
		  cel: {urls: 'body.urls', tags: '["a", "b"]', id: 'headers["x-id"]'}}`,
	)
	cfg := mustParse(t, src, envMap(map[string]string{"GHOST_SECRET": "ghost-secret-from-env-0123"}))
	w := cfg.HTTP.Webhooks
	if len(w) != 3 || w[0].Secrets[0].Reveal() != "ghost-secret-from-env-0123" || w[0].PriorityOrDefault() != "high" ||
		w[1].PriorityOrDefault() != "low" || w[1].Pages[0].URL != "https://www.example.com/posts/{slug}" ||
		w[2].Signature.Prefix != "sha256=" || w[2].CEL.URLs != "body.urls" {
		t.Fatalf("webhooks decoded as %+v", w)
	}
	if got := CompileCEL(w[2].CEL); len(got.Errs) != 0 || len(got.ASTs) != 3 {
		t.Errorf("CompileCEL: %d ASTs, errors %v; want 3 and none", len(got.ASTs), got.Errs)
	}
}

func TestWebhooksRefuse(t *testing.T) {
	tests := []struct {
		name, hook, want string
	}{
		{"unknown provider", `{name: a, provider: drupal, secrets: [` + hookSecret + `]}`,
			`http.webhooks[0].provider: must be one of ghost, contentful, sanity, strapi, storyblok, wordpress, datocms, generic, got "drupal"`},
		{"bad name", `{name: "A b", provider: ghost, secrets: [` + hookSecret + `]}`, `http.webhooks[0].name: "A b" must be`},
		{"no secret", `{name: a, provider: ghost}`, "http.webhooks[0].secrets: give at least one secret"},
		{"empty secret from env", `{name: a, provider: ghost, secrets: ["${GHOST_SECRET}"]}`, "http.webhooks[0].secrets[0]: is empty: set ${GHOST_SECRET}"},
		{"short secret", `{name: a, provider: ghost, secrets: [short]}`, "http.webhooks[0].secrets[0]: must be at least 16 characters"},
		{"contentful secret length", `{name: a, provider: contentful, secrets: [` + hookSecret + `]}`,
			"http.webhooks[0].secrets[0]: a Contentful signing secret is exactly 64 characters"},
		{"datocms without user", `{name: a, provider: datocms, zone: example.com, secrets: [` + hookSecret + `]}`,
			`http.webhooks[0].secrets[0]: must be "user:password"`},
		{"datocms without zone", `{name: a, provider: datocms, secrets: ["u:` + hookSecret + `"]}`, "http.webhooks[0].zone: must be set for datocms"},
		{"unknown zone", `{name: a, provider: ghost, secrets: [` + hookSecret + `], zone: example.org}`,
			`http.webhooks[0].zone: "example.org" is not the name or id of a zone`},
		{"bad priority", `{name: a, provider: ghost, secrets: [` + hookSecret + `], priority: urgent}`, `http.webhooks[0].priority: must be one of high, normal, low, got "urgent"`},
		{"relative also", `{name: a, provider: ghost, secrets: [` + hookSecret + `], also: [/rss/]}`, `http.webhooks[0].also[0]: "/rss/" is not an absolute`},
		{"page without slug", `{name: a, provider: sanity, secrets: [` + hookSecret + `], pages: [{type: post, url: "https://www.example.com/"}]}`,
			"http.webhooks[0].pages[0].url"},
		{"page with unknown placeholder", `{name: a, provider: sanity, secrets: [` + hookSecret + `], pages: [{type: post, url: "https://www.example.com/{title}"}]}`,
			"http.webhooks[0].pages[0].url"},
		{"page type twice", `{name: a, provider: sanity, secrets: [` + hookSecret + `], pages: [{type: post, url: "https://a.example.com/{slug}"}, {type: post, url: "https://b.example.com/{slug}"}]}`,
			`http.webhooks[0].pages[1].type: "post" is given twice`},
		{"tags without zone", `{name: a, provider: sanity, secrets: [` + hookSecret + `], tags: ["{type}"]}`, "http.webhooks[0].tags: tags need"},
		{"tag with slug", `{name: a, provider: sanity, zone: example.com, secrets: [` + hookSecret + `], tags: ["{slug}"]}`, "http.webhooks[0].tags[0]"},
		{"slug_field on ghost", `{name: a, provider: ghost, secrets: [` + hookSecret + `], slug_field: handle}`, "http.webhooks[0].slug_field: not used by provider ghost"},
		{"bad slug_field", `{name: a, provider: strapi, secrets: [` + hookSecret + `], slug_field: "a.b"}`, `http.webhooks[0].slug_field: "a.b" is not a field name`},
		{"cel on ghost", `{name: a, provider: ghost, secrets: [` + hookSecret + `], cel: {urls: "[]"}}`, "http.webhooks[0].cel: only provider generic"},
		{"generic without expressions", `{name: a, provider: generic, secrets: [` + hookSecret + `]}`, "http.webhooks[0].cel: give at least one of"},
		{"cel syntax", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {urls: "body.urls.map(u,"}}`, "http.webhooks[0].cel.urls: "},
		{"cel type", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {urls: "1 + 2"}}`, "http.webhooks[0].cel.urls: gives int, want list(string)"},
		{"cel id type", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {urls: "[]", id: "[1]"}}`, "http.webhooks[0].cel.id: gives list(int), want string"},
		{"cel unknown variable", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {urls: "request.urls"}}`, "http.webhooks[0].cel.urls: "},
		{"cel tags without zone", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {tags: '["x"]'}}`, "http.webhooks[0].cel.tags: tags need"},
		{"signature algorithm", `{name: a, provider: generic, secrets: [` + hookSecret + `], cel: {urls: "[]"}, signature: {header: X-Sig, algorithm: md5, encoding: hex}}`,
			`http.webhooks[0].signature.algorithm: must be one of sha256, sha1, sha512, got "md5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(hooks(tt.hook)), noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error:\n%v\nwant it to contain\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), hookSecret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestWebhookNamesAreUnique(t *testing.T) {
	h := `{name: a, provider: ghost, secrets: [` + hookSecret + `]}`
	_, err := Parse([]byte(hooks(h, h)), noEnv)
	if err == nil || !strings.Contains(err.Error(), `http.webhooks[1].name: "a" is already the name of http.webhooks[0]`) {
		t.Fatalf("Parse: %v, want the repeated name refused", err)
	}
}
