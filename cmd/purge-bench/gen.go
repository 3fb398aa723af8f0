package main

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/worker"
)

// benchZones are the zones every scenario configures, all in one account,
// so that they share its rate limits as on Cloudflare.
var benchZones = []worker.Zone{
	{ID: "023e105f4ecef8ad9ca31a8372d0c353", Name: "example.com", Account: benchAccount},
	{ID: "1b2c3d4e5f60718293a4b5c6d7e8f901", Name: "example.org", Account: benchAccount},
	{ID: "abcdefabcdefabcdefabcdefabcdef12", Name: "example.net", Account: benchAccount},
}

const (
	benchAccount = "bench"
	benchToken   = "bench-token-0123456789"
)

// sections make the URL paths look like a CMS site's.
var sections = [...]string{"blog", "news", "products", "docs", "category"}

// cmsGen draws CMS publish events: 1 to 5 URLs drawn Zipf from a pool of
// URLs spread evenly over the zones (a few pages, the home page and the
// section indexes, are touched by nearly every publish), and on a share of
// them one or two Cache-Tags, also drawn Zipf.
type cmsGen struct {
	r        *rand.Rand
	urls     *rand.Zipf // rank within one zone's share of the pool
	tags     *rand.Zipf
	perZone  int
	tagShare float64
	zones    int
}

// newCMSGen returns a generator over pool URLs and tagPool tags per zone;
// tagShare of the intents carry tags; zones limits the zones used (the
// first n of benchZones).
func newCMSGen(seed uint64, pool, tagPool int, tagShare float64, zones int) *cmsGen {
	r := rand.New(rand.NewPCG(seed, 0xbe9c))
	perZone := max(pool/zones, 1)
	return &cmsGen{
		r:        r,
		urls:     rand.NewZipf(r, 1.1, 1, uint64(perZone-1)),
		tags:     rand.NewZipf(r, 1.1, 1, uint64(max(tagPool-1, 0))),
		perZone:  perZone,
		tagShare: tagShare,
		zones:    zones,
	}
}

// next returns the i-th intent.
func (g *cmsGen) next(i int) *intent.Intent {
	zi := g.r.IntN(g.zones)
	z := benchZones[zi]
	in := &intent.Intent{Zone: z.Name, ID: intent.NewID(), Source: "bench-cms"}
	for range 1 + g.r.IntN(5) {
		in.Files = append(in.Files, intent.File{URL: cmsURL(z.Name, int(g.urls.Uint64()))})
	}
	if g.r.Float64() < g.tagShare {
		for range 1 + g.r.IntN(2) {
			in.Tags = append(in.Tags, fmt.Sprintf("post-%d", g.tags.Uint64()))
		}
	}
	return in
}

// cmsURL is the URL of rank n in a zone.
func cmsURL(zone string, n int) string {
	return fmt.Sprintf("https://www.%s/%s/%d/", zone, sections[n%len(sections)], n)
}

// deployIntents are a build pipeline's purges: n intents of perIntent
// URLs each, drawn without repetition inside an intent from a pool of pool
// asset URLs per zone on two hosts; every tenth intent also purges a
// prefix and every twenty-fifth a whole host, both of which cover part of
// the pool.
func deployIntents(seed uint64, n, perIntent, pool int) []*intent.Intent {
	r := rand.New(rand.NewPCG(seed, 0xde91))
	out := make([]*intent.Intent, 0, n)
	for i := range n {
		z := benchZones[i%len(benchZones)]
		in := &intent.Intent{Zone: z.Name, ID: intent.NewID(), Source: "bench-deploy"}
		for _, k := range r.Perm(pool)[:min(perIntent, pool)] {
			in.Files = append(in.Files, intent.File{URL: deployURL(z.Name, k)})
		}
		if i%10 == 3 {
			in.Prefixes = append(in.Prefixes, "www."+z.Name+"/assets/v2")
		}
		if i%25 == 7 {
			in.Hosts = append(in.Hosts, "static."+z.Name)
		}
		out = append(out, in)
	}
	return out
}

// deployURL is asset k of a zone: a quarter on the static host, an eighth
// under /assets/v2 on www, the rest elsewhere on www.
func deployURL(zone string, k int) string {
	switch {
	case k%4 == 0:
		return fmt.Sprintf("https://static.%s/img/%d.webp", zone, k)
	case k%8 == 1:
		return fmt.Sprintf("https://www.%s/assets/v2/app-%d.js", zone, k)
	}
	return fmt.Sprintf("https://www.%s/assets/v1/%d.css", zone, k)
}

// stormIntents are n URL intents on one zone with everything
// purge_everything intents among them, placed in the last quarter so that
// most URLs are already waiting when the first one arrives.
func stormIntents(seed uint64, n, everything int) []*intent.Intent {
	g := newCMSGen(seed, 5000, 1, 0, 1)
	out := make([]*intent.Intent, 0, n+everything)
	for i := range n {
		out = append(out, g.next(i))
	}
	r := rand.New(rand.NewPCG(seed, 0x5707))
	z := benchZones[0]
	for range everything {
		in := &intent.Intent{Zone: z.Name, PurgeEverything: true, ID: intent.NewID(), Source: "bench-storm"}
		at := len(out)*3/4 + r.IntN(len(out)/4+1)
		out = slices.Insert(out, at, in)
	}
	return out
}

// tagIntents are n intents of 1 to 3 tags drawn uniformly from pool tags
// on one zone, as a CMS that purges by Cache-Tag sends them.
func tagIntents(seed uint64, n, pool int) []*intent.Intent {
	r := rand.New(rand.NewPCG(seed, 0x7a95))
	z := benchZones[0]
	out := make([]*intent.Intent, 0, n)
	for range n {
		in := &intent.Intent{Zone: z.Name, ID: intent.NewID(), Source: "bench-tags"}
		for range 1 + r.IntN(3) {
			in.Tags = append(in.Tags, fmt.Sprintf("product-%d", r.IntN(pool)))
		}
		out = append(out, in)
	}
	return out
}
