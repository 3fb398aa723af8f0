package intent_test

import (
	"strings"
	"testing"

	"github.com/purge-worker/purge-worker/intent"
)

// typicalBody is what a CMS publishes on a post update: five URLs of one
// zone, an id and a source.
const typicalBody = `{"zone": "example.com", "files": [
  "https://www.example.com/blog/2026/11/a-post-about-caching/",
  "https://www.example.com/blog/",
  "https://www.example.com/",
  "https://www.example.com/feed.xml",
  "https://www.example.com/sitemap.xml?page=3"],
 "id": "cms-7f3a29c1", "source": "wordpress"}`

// BenchmarkParse measures decode+bind of a typical intent: the work the
// worker does per message before batching.
func BenchmarkParse(b *testing.B) {
	z := testZones(b)
	data := []byte(typicalBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := intent.Parse(data, z); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMaxItems measures the largest intent accepted: MaxItems
// URLs routed across zones without an explicit zone.
func BenchmarkParseMaxItems(b *testing.B) {
	z := testZones(b)
	var sb strings.Builder
	sb.WriteString(`{"files": [`)
	for i := range intent.MaxItems {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"https://WWW.shop.example.com/products/item-`)
		sb.WriteString(strings.Repeat("x", i%50))
		sb.WriteString(`?v=1"`)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := intent.Parse(data, z); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRefused measures refusing a 1 MiB body of 200000 items,
// which must stop at the item limit.
func BenchmarkDecodeRefused(b *testing.B) {
	data := itemsBody(200_000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := intent.Decode(data); err == nil {
			b.Fatal("accepted")
		}
	}
}
