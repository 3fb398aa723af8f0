package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Providers of http.webhooks[].provider: the CMSs whose deliveries the
// daemon verifies and maps itself, and generic, which maps any JSON body
// with CEL expressions.
const (
	ProviderGhost      = "ghost"
	ProviderContentful = "contentful"
	ProviderSanity     = "sanity"
	ProviderStrapi     = "strapi"
	ProviderStoryblok  = "storyblok"
	ProviderWordPress  = "wordpress"
	ProviderDatoCMS    = "datocms"
	ProviderGeneric    = "generic"
)

// Providers lists every provider, in the order the documentation gives them.
var Providers = []string{
	ProviderGhost, ProviderContentful, ProviderSanity, ProviderStrapi,
	ProviderStoryblok, ProviderWordPress, ProviderDatoCMS, ProviderGeneric,
}

// Limits of the webhook section.
const (
	maxWebhooks       = 100
	maxWebhookName    = 64
	maxWebhookSecrets = 8
	maxAlso           = 100
	minWebhookSecret  = 16 // as for ingest tokens: shorter is within reach of brute force
	// contentfulSecretLen is the only length Contentful issues request
	// verification secrets in.
	contentfulSecretLen = 64
)

// Webhook is one entry of http.webhooks: a CMS delivering to
// POST /v1/hooks/{name}.
type Webhook struct {
	// Name is the last segment of the hook's URL and its metric label.
	Name string `yaml:"name"`
	// Provider is one of [Providers].
	Provider string `yaml:"provider"`
	// Secrets verify deliveries: the provider's signing secret, the bearer
	// token (strapi, generic without signature) or "user:password" (datocms
	// basic auth). A delivery matching any of them is accepted, so a secret
	// can be rotated by listing the new one beside the old one.
	Secrets []Secret `yaml:"secrets"`
	// Zone is the zone name or ID every intent of the hook goes to; empty
	// routes each URL by its host, and then the hook must not purge tags.
	Zone string `yaml:"zone"`
	// Also are URLs purged with every event: the home page, feeds, sitemaps.
	Also []string `yaml:"also"`
	// Priority is high (the default: an editor is waiting), normal or low.
	Priority string `yaml:"priority"`
	// Pages map a document type to the URL template of its page, for the
	// providers whose payloads carry a slug but no URL, and for Ghost's
	// old URL of an unpublished post, whose payload no longer has it.
	Pages []Page `yaml:"pages"`
	// SlugField is the payload field holding a document's slug, "slug"
	// when empty (contentful, sanity, strapi, datocms).
	SlugField string `yaml:"slug_field"`
	// Tags are Cache-Tag templates purged for each document, such as
	// "{type}" or "entry-{id}": the only way to purge a Contentful entry
	// after it was unpublished, as its tombstone has no slug.
	Tags []string `yaml:"tags"`
	// Signature makes a generic hook verify an HMAC of the body instead of
	// a bearer token.
	Signature Signature `yaml:"signature"`
	// CEL holds the expressions of a generic hook.
	CEL CEL `yaml:"cel"`
}

// Page is a URL template for the documents of one type: "{slug}", "{id}",
// "{type}" and "{locale}" are replaced by the document's values; type "*"
// matches every type without a template of its own.
type Page struct {
	Type string `yaml:"type"`
	URL  string `yaml:"url"`
}

// Signature is how a generic hook's HMAC is sent: header Header holds
// Prefix followed by the HMAC of the raw body under one of the secrets,
// with Algorithm (sha256, sha1 or sha512) in Encoding (hex, base64 or
// base64url).
type Signature struct {
	Header    string `yaml:"header"`
	Algorithm string `yaml:"algorithm"`
	Encoding  string `yaml:"encoding"`
	Prefix    string `yaml:"prefix"`
}

// CEL holds a generic hook's expressions over body (the decoded JSON) and
// headers (lower-cased names; repeated values joined with ", "). URLs,
// Tags, Hosts and Prefixes each give a list of strings; ID gives the
// delivery id used to deduplicate retries ("" when the sender has none).
type CEL struct {
	URLs     string `yaml:"urls"`
	Tags     string `yaml:"tags"`
	Hosts    string `yaml:"hosts"`
	Prefixes string `yaml:"prefixes"`
	ID       string `yaml:"id"`
}

// Exprs returns the expressions that are set, by key (urls, tags, ...).
func (c CEL) Exprs() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"urls": c.URLs, "tags": c.Tags, "hosts": c.Hosts, "prefixes": c.Prefixes, "id": c.ID} {
		if strings.TrimSpace(v) != "" {
			out[k] = v
		}
	}
	return out
}

// SlugFieldOrDefault is the field the slug is read from: slug unless set.
func (w Webhook) SlugFieldOrDefault() string {
	if w.SlugField == "" {
		return "slug"
	}
	return w.SlugField
}

// PriorityOrDefault is the priority of the hook's intents: high unless set.
func (w Webhook) PriorityOrDefault() string {
	if w.Priority == "" {
		return "high"
	}
	return w.Priority
}

// webhooks checks http.webhooks; zones are the configured zones, which a
// hook's zone must name.
func (v *validator) webhooks(hooks []Webhook, zones []Zone) {
	if len(hooks) > maxWebhooks {
		v.addf("http.webhooks", "at most %d hooks, got %d", maxWebhooks, len(hooks))
	}
	names := map[string]int{}
	for i, h := range hooks {
		p := fmt.Sprintf("http.webhooks[%d]", i)
		switch first, dup := names[h.Name]; {
		case !isHookName(h.Name):
			v.addf(p+".name", "%s must be 1 to %d lowercase letters, digits, '_' or '-' (it is a URL segment and a metric label)",
				v.show(p+".name", h.Name), maxWebhookName)
		case dup:
			v.addf(p+".name", "%s is already the name of http.webhooks[%d]", v.show(p+".name", h.Name), first)
		default:
			names[h.Name] = i
		}
		v.webhook(p, h, zones)
	}
}

func (v *validator) webhook(p string, h Webhook, zones []Zone) {
	if !slices.Contains(Providers, h.Provider) {
		v.oneOf(p+".provider", h.Provider, Providers...)
		return
	}
	v.webhookSecrets(p, h)
	if h.Zone != "" && !slices.ContainsFunc(zones, func(z Zone) bool { return z.Name == h.Zone || z.ID == h.Zone }) {
		v.addf(p+".zone", "%s is not the name or id of a zone in cloudflare.zones", v.show(p+".zone", h.Zone))
	}
	if h.Priority != "" {
		v.oneOf(p+".priority", h.Priority, "high", "normal", "low")
	}
	if len(h.Also) > maxAlso {
		v.addf(p+".also", "at most %d URLs, got %d", maxAlso, len(h.Also))
	}
	for i, u := range h.Also {
		if !isAbsoluteHTTP(u) {
			v.addf(fmt.Sprintf("%s.also[%d]", p, i), "%s is not an absolute http:// or https:// URL", v.show(fmt.Sprintf("%s.also[%d]", p, i), u))
		}
	}
	v.webhookPages(p, h)
	v.webhookSlugField(p, h)
	v.webhookTags(p, h)
	v.webhookGeneric(p, h)
}

func (v *validator) webhookSecrets(p string, h Webhook) {
	switch {
	case len(h.Secrets) == 0:
		v.addf(p+".secrets", "give at least one secret: deliveries are never accepted unverified")
	case len(h.Secrets) > maxWebhookSecrets:
		v.addf(p+".secrets", "at most %d secrets, got %d", maxWebhookSecrets, len(h.Secrets))
	}
	for i, s := range h.Secrets {
		key := fmt.Sprintf("%s.secrets[%d]", p, i)
		switch {
		case s == "":
			if ref, ok := v.refs[key]; ok {
				v.addf(key, "is empty: set %s", ref)
			} else {
				v.addf(key, "is empty")
			}
		case h.Provider == ProviderContentful && len(s) != contentfulSecretLen:
			v.addf(key, "a Contentful signing secret is exactly %d characters (value not shown)", contentfulSecretLen)
		case len(s) < minWebhookSecret:
			v.addf(key, "must be at least %d characters, as shorter secrets can be guessed by brute force (value not shown)", minWebhookSecret)
		case h.Provider == ProviderDatoCMS && !strings.Contains(s.Reveal(), ":"):
			v.addf(key, `must be "user:password", the HTTP basic auth credentials set on the DatoCMS webhook (value not shown)`)
		default:
			v.secretText(key, s)
		}
	}
}

func (v *validator) webhookPages(p string, h Webhook) {
	if len(h.Pages) > 0 && h.Provider == ProviderGeneric {
		v.addf(p+".pages", "not used by provider generic: its cel expressions build the URLs")
		return
	}
	seen := map[string]bool{}
	for i, pg := range h.Pages {
		key := fmt.Sprintf("%s.pages[%d]", p, i)
		if pg.Type == "" {
			v.addf(key+".type", `must not be empty; "*" matches every type`)
		} else if seen[pg.Type] {
			v.addf(key+".type", "%s is given twice", v.show(key+".type", pg.Type))
		}
		seen[pg.Type] = true
		if err := CheckTemplate(pg.URL, true); err != nil || !isAbsoluteHTTP(pg.URL) {
			v.addf(key+".url", "%s must be an absolute http:// or https:// URL template using {slug} or {id}", v.show(key+".url", pg.URL))
		}
	}
}

func (v *validator) webhookSlugField(p string, h Webhook) {
	if h.SlugField == "" {
		return
	}
	switch h.Provider {
	case ProviderContentful, ProviderSanity, ProviderStrapi, ProviderDatoCMS:
	default:
		v.addf(p+".slug_field", "not used by provider %s", h.Provider)
		return
	}
	if !isKeyName(h.SlugField) || len(h.SlugField) > maxWebhookName {
		v.addf(p+".slug_field", "%s is not a field name (letters, digits, '_', '-')", v.show(p+".slug_field", h.SlugField))
	}
}

func (v *validator) webhookTags(p string, h Webhook) {
	if len(h.Tags) > 0 && (h.Provider == ProviderGhost || h.Provider == ProviderGeneric) {
		v.addf(p+".tags", "not used by provider %s", h.Provider)
		return
	}
	if len(h.Tags) > 0 && h.Zone == "" {
		v.addf(p+".tags", "tags need %s.zone: a tag has no host to route it by", p)
	}
	if h.Provider == ProviderDatoCMS && h.Zone == "" {
		v.addf(p+".zone", "must be set for datocms: its cache-tag events purge tags, which have no host to route them by")
	}
	for i, t := range h.Tags {
		key := fmt.Sprintf("%s.tags[%d]", p, i)
		if err := CheckTemplate(t, false); err != nil || strings.Contains(t, "{slug}") || strings.ContainsAny(t, " \t") {
			v.addf(key, "%s must be a tag template without spaces using only {type}, {id} and {locale}", v.show(key, t))
		}
	}
}

func (v *validator) webhookGeneric(p string, h Webhook) {
	exprs := h.CEL.Exprs()
	if h.Provider != ProviderGeneric {
		if len(exprs) > 0 {
			v.addf(p+".cel", "only provider generic uses cel expressions")
		}
		if h.Signature != (Signature{}) {
			v.addf(p+".signature", "only provider generic takes a signature; %s's scheme is built in", h.Provider)
		}
		return
	}
	if h.Signature != (Signature{}) {
		if h.Signature.Header == "" {
			v.addf(p+".signature.header", "must name the header carrying the signature")
		}
		v.oneOf(p+".signature.algorithm", h.Signature.Algorithm, "sha256", "sha1", "sha512")
		v.oneOf(p+".signature.encoding", h.Signature.Encoding, "hex", "base64", "base64url")
	}
	delete(exprs, "id")
	if len(exprs) == 0 {
		v.addf(p+".cel", "give at least one of urls, tags, hosts or prefixes")
	}
	if _, ok := exprs["tags"]; ok && h.Zone == "" {
		v.addf(p+".cel.tags", "tags need %s.zone: a tag has no host to route it by", p)
	}
	errs := CompileCEL(h.CEL).Errs
	for _, key := range slices.Sorted(maps.Keys(errs)) {
		err, k := errs[key], p+".cel."+key
		if ref, ok := v.refs[k]; ok {
			// CEL's messages quote the source, which may hold anything the
			// variable held.
			v.addf(k, "the expression from %s does not compile to the right type (not shown: it came from the environment)", ref)
			continue
		}
		v.addf(k, "%v", err)
	}
}

// templateVars are the placeholders of page and tag templates.
var templateVars = []string{"{slug}", "{id}", "{type}", "{locale}"}

// CheckTemplate reports an error when t has a brace that is not part of a
// known placeholder, or, with needKey, uses neither {slug} nor {id}.
func CheckTemplate(t string, needKey bool) error {
	rest := t
	for _, p := range templateVars {
		rest = strings.ReplaceAll(rest, p, "")
	}
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("unknown placeholder; use %s", strings.Join(templateVars, ", "))
	}
	if t == "" || (needKey && !strings.Contains(t, "{slug}") && !strings.Contains(t, "{id}")) {
		return fmt.Errorf("use {slug} or {id}")
	}
	return nil
}

func isAbsoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Fragment == ""
}

func isHookName(s string) bool {
	if s == "" || len(s) > maxWebhookName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
