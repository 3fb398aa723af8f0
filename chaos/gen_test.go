package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/purge-worker/purge-worker/intent"
)

// gen makes random intents as CMS hooks and deploy jobs send them: URLs
// from a small space so that duplicates are common, some with cache-key
// headers, in both schemes and in odd case; tags; now and then a host or a
// prefix that covers some of the URLs; a mode; sometimes no zone, so that
// the worker routes each item by its host. purge_everything is left out:
// it would cover every key of its zone and hide a lost one.
type gen struct {
	rng   *rand.Rand
	zones []string
}

func newGen(seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0xc4a05))}
	for _, z := range testZones() {
		g.zones = append(g.zones, z.Name)
	}
	return g
}

func (g *gen) pct(p int) bool { return g.rng.IntN(100) < p }

func (g *gen) zone() string { return g.zones[g.rng.IntN(len(g.zones))] }

// valid returns a valid intent with the given id.
func (g *gen) valid(id string) *intent.Intent {
	in := &intent.Intent{ID: id, Source: "chaos"}
	zone := g.zone()
	routed := g.pct(10)
	if !routed {
		in.Zone = zone
		if g.pct(10) {
			in.Zone = idOf(zone)
		}
	}
	if g.pct(15) {
		in.Mode = "invalidate"
	}
	for range g.rng.IntN(6) {
		in.Files = append(in.Files, g.file(g.pickZone(zone, routed)))
	}
	if !routed && g.pct(30) {
		for range 1 + g.rng.IntN(2) {
			in.Tags = append(in.Tags, g.tag())
		}
	}
	if g.pct(5) {
		in.Hosts = append(in.Hosts, fmt.Sprintf("h%d.%s", g.rng.IntN(50), g.pickZone(zone, routed)))
	}
	if g.pct(5) {
		in.Prefixes = append(in.Prefixes, g.prefix(g.pickZone(zone, routed)))
	}
	if in.Items() == 0 {
		in.Files = append(in.Files, g.file(zone))
	}
	return in
}

// pickZone returns zone, or for a routed intent any zone, so that one
// intent may span several.
func (g *gen) pickZone(zone string, routed bool) string {
	if routed {
		return g.zone()
	}
	return zone
}

func (g *gen) file(zone string) intent.File {
	host := "www." + zone
	switch r := g.rng.IntN(10); {
	case r == 0:
		host = fmt.Sprintf("h%d.%s", g.rng.IntN(50), zone)
	case r == 1:
		host = "img." + zone
	case r == 2:
		host = zone
	}
	scheme := "https"
	if g.pct(10) {
		scheme = "http"
	}
	u := fmt.Sprintf("%s://%s/p%d/%d", scheme, host, g.rng.IntN(10), g.rng.IntN(200))
	switch r := g.rng.IntN(10); {
	case r == 0:
		u += fmt.Sprintf("?v=%d", g.rng.IntN(3))
	case r == 1:
		u = strings.Replace(u, host, strings.ToUpper(host), 1) // the host is case-insensitive
	case r == 2 && scheme == "https":
		u = strings.Replace(u, host, host+":443", 1) // the default port is dropped
	}
	f := intent.File{URL: u}
	if g.pct(10) {
		f.Headers = map[string]string{"CF-Device-Type": []string{"mobile", "desktop", "tablet"}[g.rng.IntN(3)]}
	}
	return f
}

func (g *gen) tag() string {
	t := fmt.Sprintf("post-%d", g.rng.IntN(500))
	if g.pct(10) {
		t = strings.ToUpper(t) // tags are case-insensitive
	}
	return t
}

func (g *gen) prefix(zone string) string {
	p := fmt.Sprintf("www.%s/p%d", zone, g.rng.IntN(10))
	if g.pct(30) {
		p = "https://" + p // accepted, and normalised to host/path
	}
	return p
}

func idOf(zone string) string {
	for _, z := range testZones() {
		if z.Name == zone {
			return z.ID
		}
	}
	return zone
}

// badIntent is an invalid message body and a word its Purge-Error must
// hold.
type badIntent struct {
	body    []byte
	mention string
}

// invalid returns an invalid body; n makes it unique.
func (g *gen) invalid(n string) badIntent {
	zone := g.zone()
	url := fmt.Sprintf("https://www.%s/bad/%s", zone, n)
	switch g.rng.IntN(12) {
	case 0:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":[%q]`, zone, url)), "json"}
	case 1:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":"nope.invalid","files":["https://www.nope.invalid/%s"]}`, n)), "nope.invalid"}
	case 2:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":["https://www.elsewhere.test/%s"]}`, zone, n)), "www.elsewhere.test"}
	case 3:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":["ftp://www.%s/%s"]}`, zone, zone, n)), "files[0]"}
	case 4:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"tags":["%s-%s"]}`, zone, strings.Repeat("t", 1025), n)), "tags[0]"}
	case 5:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"id":%q}`, zone, n)), "item"}
	case 6:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":[%q],"mdoe":"invalidate"}`, zone, url)), "mdoe"}
	case 7:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"zone":"example.org","files":[%q]}`, zone, url)), "twice"}
	case 8:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":["%s`+"\xff"+`"]}`, zone, url)), "utf-8"}
	case 9:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"files":%q}`, zone, url)), "files"}
	case 10:
		return badIntent{[]byte(fmt.Sprintf(`{"zone":%q,"tags":["post %s"]}`, zone, n)), "tags[0]"}
	default:
		var b strings.Builder
		fmt.Fprintf(&b, `{"zone":%q,"files":[`, zone)
		for i := range intent.MaxItems + 1 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"https://www.%s/many/%s/%d"`, zone, n, i)
		}
		b.WriteString("]}")
		return badIntent{[]byte(b.String()), "1000"}
	}
}
