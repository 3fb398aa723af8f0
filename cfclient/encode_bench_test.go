package cfclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchURLs returns n distinct URLs shaped like a CMS site's.
func benchURLs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://www.example.com/blog/2026/11/post-%d/?utm_source=feed&page=%d", i, i%7)
	}
	return out
}

// BenchmarkEncodeBody measures encoding one chunk, the work the client does
// per call before it sends: a full files chunk of the common plans (100),
// of Enterprise (500), files with a cache-key header (object form), and a
// full tags chunk. B/op and allocs/op are per chunk; MB/s is of body.
func BenchmarkEncodeBody(b *testing.B) {
	files := func(n int, headers bool) Request {
		var r Request
		for _, u := range benchURLs(n) {
			f := File{URL: u}
			if headers {
				f.Headers = map[string]string{"CF-Device-Type": "mobile"}
			}
			r.Files = append(r.Files, f)
		}
		return r
	}
	tags := Request{}
	for i := range 100 {
		tags.Tags = append(tags.Tags, fmt.Sprintf("post-%d", i))
	}
	for _, bc := range []struct {
		name string
		req  Request
	}{
		{"files=100", files(100, false)},
		{"files=500", files(500, false)},
		{"files=100/headers", files(100, true)},
		{"tags=100", tags},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body, err := encodeBody(bc.req)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeBody(bc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPurgeFiles100 measures a whole call of 100 URLs as the worker
// makes it, against a local server that answers success at once: encode,
// HTTP round trip over a kept-alive loopback connection, and classifying
// the answer. It is the client's share of a call; Cloudflare's latency
// comes on top.
func BenchmarkPurgeFiles100(b *testing.B) {
	const ok = `{"success":true,"errors":[],"messages":[],"result":{"id":"9a7806061c88ada191ed06f989cc3dac"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, ok)
	}))
	defer srv.Close()
	c := New(srv.URL+"/client/v4", Auth{Token: "bench-token"}, nil)
	var req Request
	for _, u := range benchURLs(100) {
		req.Files = append(req.Files, File{URL: u})
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Purge(ctx, "023e105f4ecef8ad9ca31a8372d0c353", ModePurge, req); err != nil {
			b.Fatal(err)
		}
	}
}
