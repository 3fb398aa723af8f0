package intent

import "strings"

// Covers reports whether a successful purge of broad makes a purge of
// narrow unnecessary. Both keys must be normalised (as [Intent.Bind] makes
// them) and belong to the same zone and mode; Covers cannot check that.
//
// The rules are the conservative reading of Cloudflare's documentation:
//   - purge_everything covers every other key;
//   - a host H covers files on exactly H, with any scheme and any headers,
//     and prefixes on exactly H; not subdomains of H, and not URLs with an
//     explicit port (Cloudflare does not say whether a host purge reaches
//     other ports, so such a URL is purged on its own);
//   - a prefix P covers a file, with any scheme and any headers, whose URL
//     without the scheme starts with P followed by '/', '?' or the end, and
//     a prefix that starts with P followed by '/'; when P ends with '/', any
//     continuation is covered. So "a.com/foo" covers "https://a.com/foo",
//     "http://a.com/foo/bar" and "https://a.com/foo?x=1" but not
//     "https://a.com/foobar", which Cloudflare's plain string match might
//     purge but is not documented to;
//   - tags are covered only by purge_everything; files cover nothing.
//
// Equal keys are duplicates, not coverage: Covers(k, k) is false.
func Covers(broad, narrow Key) bool {
	if broad == narrow {
		return false
	}
	switch broad.Kind {
	case KindEverything:
		return narrow.Kind != KindEverything
	case KindHost:
		if narrow.Kind == KindFile || narrow.Kind == KindPrefix {
			return HostOf(narrow) == broad.Value
		}
	case KindPrefix:
		switch narrow.Kind {
		case KindFile:
			return prefixCovers(broad.Value, urlRest(narrow.Value))
		case KindPrefix:
			return prefixCovers(broad.Value, narrow.Value)
		}
	}
	return false
}

// prefixCovers reports whether s starts with p at a path boundary.
func prefixCovers(p, s string) bool {
	if !strings.HasPrefix(s, p) {
		return false
	}
	if len(s) == len(p) || strings.HasSuffix(p, "/") {
		return true
	}
	c := s[len(p)]
	return c == '/' || c == '?'
}

// HostOf returns the host a key is bound to: the value of a host key, the
// host of a prefix, and the authority of a file URL, which is its hostname
// unless the URL has an explicit (non-default) port, in which case it is
// "host:port". It returns "" for tags and purge_everything.
//
// It is the index the batcher looks host keys up by: a host key H covers a
// file or prefix key k exactly when HostOf(k) == H (and they differ), which
// is why a URL with a port, which no host key covers, gets "host:port", a
// value no host key can have.
func HostOf(k Key) string {
	switch k.Kind {
	case KindFile:
		rest := urlRest(k.Value)
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			return rest[:i]
		}
		return rest
	case KindHost:
		return k.Value
	case KindPrefix:
		host, _, _ := strings.Cut(k.Value, "/")
		return host
	}
	return ""
}

// CoverPaths returns, shortest first, every value P that a normalised
// prefix key can have and for which Covers(Key{Kind: KindPrefix, Value: P},
// k) is true. The batcher can look each one up in a map of pending prefix
// keys instead of scanning them all.
//
// For a file key, with r its URL without scheme and query, these are: for
// each '/' in the path, the text before it (when that includes a path) and
// the text up to and including it; then r itself. For "https://a.com/x/y?q"
// that is "a.com/", "a.com/x", "a.com/x/", "a.com/x/y". For a prefix key the
// same, except the key itself, which is a duplicate rather than covered.
// Candidates with more than [MaxPrefixSlashes] '/' are left out, since no
// prefix key has them, and so is everything for a URL with a port, since a
// prefix has no port. It returns nil for other kinds.
func CoverPaths(k Key) []string {
	var r string
	switch k.Kind {
	case KindFile:
		r = urlRest(k.Value)
		if q := strings.IndexByte(r, '?'); q >= 0 {
			r = r[:q]
		}
	case KindPrefix:
		r = k.Value
	default:
		return nil
	}
	first := strings.IndexByte(r, '/')
	if first < 0 || strings.IndexByte(r[:first], ':') >= 0 {
		return nil
	}
	var out []string
	slashes := 0
	for i := first; i < len(r); i++ {
		if r[i] != '/' {
			continue
		}
		if i > first && r[i-1] != '/' { // after "//" this is the last cut
			out = append(out, r[:i]) // P followed by '/'
		}
		if slashes++; slashes > MaxPrefixSlashes {
			break
		}
		if i+1 < len(r) || k.Kind == KindFile {
			out = append(out, r[:i+1]) // P ending in '/'
		}
	}
	if k.Kind == KindFile && !strings.HasSuffix(r, "/") && strings.Count(r, "/") <= MaxPrefixSlashes {
		out = append(out, r) // P followed by '?' or the end
	}
	return out
}

// urlRest returns a URL without its "scheme://".
func urlRest(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}
