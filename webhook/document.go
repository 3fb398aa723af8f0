package webhook

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/purge-worker/purge-worker/config"
)

// document is a changed CMS document, as the providers without URLs in
// their payloads describe it: its type, its id, and its slug now and
// before, per locale ("" when not localised). Pages and tag templates
// turn it into URLs and tags.
type document struct {
	typ, id  string
	slugs    []localized
	oldSlugs []localized
}

type localized struct{ locale, slug string }

// templates are a hook's page and tag templates, and the payload field
// its documents keep their slug in.
type templates struct {
	pages     map[string]string // type ("*" for any) -> URL template
	tags      []string
	slugField string
}

func newTemplates(cfg config.Webhook) templates {
	t := templates{pages: map[string]string{}, tags: cfg.Tags, slugField: cfg.SlugFieldOrDefault()}
	for _, p := range cfg.Pages {
		t.pages[p.Type] = p.URL
	}
	return t
}

// page returns the URL template of type typ, or "".
func (t templates) page(typ string) string {
	if p, ok := t.pages[typ]; ok {
		return p
	}
	return t.pages["*"]
}

// purge returns the URLs and tags of d: its page under every slug it has
// or had, its page by id when the template uses {id} only, and its tags.
func (t templates) purge(d document) Purge {
	var p Purge
	if tpl := t.page(d.typ); tpl != "" {
		if strings.Contains(tpl, "{slug}") {
			for _, s := range append(append([]localized(nil), d.slugs...), d.oldSlugs...) {
				if s.slug != "" {
					p.URLs = append(p.URLs, expandTemplate(tpl, d, s))
				}
			}
		} else if d.id != "" {
			locales := append(append([]localized(nil), d.slugs...), d.oldSlugs...)
			if len(locales) == 0 {
				locales = []localized{{}}
			}
			for _, s := range locales {
				p.URLs = append(p.URLs, expandTemplate(tpl, d, s))
			}
		}
	}
	for _, tag := range t.tags {
		if strings.Contains(tag, "{id}") && d.id == "" || strings.Contains(tag, "{type}") && d.typ == "" {
			continue
		}
		p.Tags = append(p.Tags, expandTemplate(tag, d, localized{}))
	}
	return p
}

// expandTemplate fills a template. The slug is escaped segment by segment,
// so a nested slug such as Storyblok's "blog/my-post" keeps its slashes.
func expandTemplate(tpl string, d document, s localized) string {
	segs := strings.Split(strings.Trim(s.slug, "/"), "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.NewReplacer(
		"{slug}", strings.Join(segs, "/"),
		"{id}", url.PathEscape(d.id),
		"{type}", url.PathEscape(d.typ),
		"{locale}", url.PathEscape(s.locale),
	).Replace(tpl)
}

// noPurge is the reason an event of document d maps to nothing.
func noPurge(d document) string {
	return "no page template or tag matches document type " + quote(d.typ) + " (set pages or tags)"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// str is the string at m[key], or "" when it is absent or not a string.
func str(m map[string]json.RawMessage, key string) string {
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}
