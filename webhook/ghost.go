package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Ghost verifies and maps Ghost webhooks. Ghost signs with header
// "X-Ghost-Signature: sha256=<hex>, t=<ms>", the hex HMAC-SHA256 of the
// body directly followed by the decimal millisecond timestamp.
//
// Its payload is {"post": {"current": {...}, "previous": {...}}} (or
// "page", "tag"), where previous holds only the fields that changed. The
// event name is not in the delivery, so the mapping reads the state:
//   - published now: the URL, the old URL when the slug changed, the tag
//     and author pages and their feeds, now and before when they changed;
//   - published before and not now (unpublished, scheduled back): the old
//     URL, built from the slug;
//   - deleted (current empty): the URL, tag and author pages in previous;
//   - tags: the tag's page and feed, under the old slug too;
//   - anything else (drafts, members) is ignored.
//
// Ghost sends no delivery id, so its intents get random ids.
type Ghost struct {
	secrets   secrets
	templates templates
}

// Verify implements [Provider].
func (g *Ghost) Verify(r *Request, now time.Time) error {
	h := r.Header.Get("X-Ghost-Signature")
	if h == "" {
		return unverified("no X-Ghost-Signature header (set a secret on the Ghost webhook)")
	}
	var sig, ts string
	for part := range strings.SplitSeq(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "sha256":
			sig = v
		case "t":
			ts = v
		}
	}
	want, err := hex.DecodeString(sig)
	t, ok := millis(ts)
	if err != nil || len(want) != sha256.Size || !ok {
		return unverified(`X-Ghost-Signature is not "sha256=<hex>, t=<milliseconds>"`)
	}
	if !g.secrets.anyHMAC(sha256.New, want, r.Body, []byte(ts)) {
		return unverified("X-Ghost-Signature does not match the body under any secret")
	}
	return inWindow(t, now, Window)
}

type ghostResource struct {
	ID      string      `json:"id"`
	Slug    string      `json:"slug"`
	URL     string      `json:"url"`
	Status  string      `json:"status"`
	Tags    []ghostLink `json:"tags"`
	Authors []ghostLink `json:"authors"`
}

type ghostLink struct {
	Slug string `json:"slug"`
	URL  string `json:"url"`
}

type ghostChange struct {
	Current  ghostResource `json:"current"`
	Previous ghostResource `json:"previous"`
}

// Map implements [Provider].
func (g *Ghost) Map(r *Request) (Purge, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return Purge{}, payloadErr("body is not a JSON object: %v", err)
	}
	for _, kind := range []string{"post", "page", "tag"} {
		raw, ok := body[kind]
		if !ok {
			continue
		}
		var c ghostChange
		if err := json.Unmarshal(raw, &c); err != nil {
			return Purge{}, payloadErr("%s: %v", kind, err)
		}
		if kind == "tag" {
			return g.tag(c)
		}
		return g.post(kind, c)
	}
	if _, ok := body["member"]; ok {
		return ignore("member events change no page")
	}
	return ignore("no post, page or tag in the payload (site.changed carries no data: list the pages it changes in also of a hook of its own)")
}

func (g *Ghost) post(kind string, c ghostChange) (Purge, error) {
	cur, prev := c.Current, c.Previous
	var p Purge
	switch {
	case cur.ID == "" && cur.URL == "" && cur.Slug == "":
		// Deleted: what is left is in previous.
		if prev.Status != "" && prev.Status != "published" {
			return ignore("a " + kind + " that was not published was deleted")
		}
		if prev.URL == "" && prev.Slug == "" {
			return unmapped("the deleted " + kind + " carries no URL or slug")
		}
		p.URLs = append(p.URLs, g.oldURL(kind, prev.URL, prev.URL, prev.Slug, ""))
		p.URLs = append(p.URLs, ghostLinks(prev.Tags, prev.Authors)...)
	case cur.Status == "published":
		p.URLs = append(p.URLs, cur.URL)
		if prev.Slug != "" && prev.Slug != cur.Slug {
			p.URLs = append(p.URLs, g.oldURL(kind, prev.URL, cur.URL, prev.Slug, cur.Slug))
		}
		p.URLs = append(p.URLs, ghostLinks(cur.Tags, cur.Authors)...)
		p.URLs = append(p.URLs, ghostLinks(prev.Tags, prev.Authors)...)
	case prev.Status == "published":
		// Unpublished or scheduled back: the public URL is gone, and a
		// draft's url is its preview (/p/<uuid>/), so build it.
		slug := cur.Slug
		if prev.Slug != "" {
			slug = prev.Slug
		}
		p.URLs = append(p.URLs, g.oldURL(kind, prev.URL, cur.URL, slug, ""))
		p.URLs = append(p.URLs, ghostLinks(cur.Tags, cur.Authors)...)
		p.URLs = append(p.URLs, ghostLinks(prev.Tags, prev.Authors)...)
	default:
		return ignore("the " + kind + " is not published (status " + quote(cur.Status) + ")")
	}
	return p, nil
}

func (g *Ghost) tag(c ghostChange) (Purge, error) {
	cur, prev := c.Current, c.Previous
	if cur.URL == "" {
		if prev.URL == "" {
			return ignore("the tag carries no URL")
		}
		return Purge{URLs: ghostLinks([]ghostLink{{URL: prev.URL}}, nil)}, nil // deleted
	}
	links := []ghostLink{{URL: cur.URL}}
	if prev.Slug != "" && prev.Slug != cur.Slug {
		links = append(links, ghostLink{URL: replaceSlug(cur.URL, cur.Slug, prev.Slug)})
	}
	return Purge{URLs: ghostLinks(links, nil)}, nil
}

// oldURL is the URL a post had under slug: the page template's when the
// hook has one, else url (the old URL itself when Ghost sent it), else
// base with the current slug swapped for the old one, else the site root
// of base followed by the slug (Ghost's default permalink, /{slug}/).
func (g *Ghost) oldURL(kind, old, base, slug, curSlug string) string {
	if tpl := g.templates.page(kind); tpl != "" {
		return expandTemplate(tpl, document{typ: kind}, localized{slug: slug})
	}
	if old != "" && curSlug == "" {
		return old
	}
	if base == "" {
		return ""
	}
	if curSlug != "" {
		if u := replaceSlug(base, curSlug, slug); u != base {
			return u
		}
	}
	return ghostSite(base) + "/" + url.PathEscape(slug) + "/"
}

// replaceSlug swaps the last "/old/" segment of u for "/slug/".
func replaceSlug(u, old, slug string) string {
	seg := "/" + old + "/"
	i := strings.LastIndex(u, seg)
	if old == "" || i < 0 {
		return u
	}
	return u[:i] + "/" + url.PathEscape(slug) + "/" + u[i+len(seg):]
}

// ghostSite is the site root of a Ghost URL: everything before a draft's
// preview path "/p/", else its scheme and host.
func ghostSite(u string) string {
	if i := strings.Index(u, "/p/"); i > 0 {
		return u[:i]
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return strings.TrimSuffix(u, "/")
	}
	return pu.Scheme + "://" + pu.Host
}

// ghostLinks returns the pages of tags and authors and their RSS feeds.
func ghostLinks(tags, authors []ghostLink) []string {
	var out []string
	for _, l := range append(append([]ghostLink(nil), tags...), authors...) {
		if l.URL == "" {
			continue
		}
		out = append(out, l.URL)
		if strings.HasSuffix(l.URL, "/") {
			out = append(out, l.URL+"rss/")
		}
	}
	return out
}
