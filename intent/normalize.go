package intent

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits of the normalised keys. Cloudflare documents the tag, host and
// prefix limits; it documents no URL limit, so MaxURLLength is ours and
// generous.
const (
	MaxURLLength     = 4096 // bytes of a URL or a prefix
	MaxTagLength     = 1024 // bytes of a tag (Cloudflare's limit)
	MaxHostLength    = 200  // bytes of a hosts entry (Cloudflare's limit)
	MaxPrefixSlashes = 31   // '/' in a prefix (Cloudflare's limit)
)

// maxDNSName bounds the host inside a URL or prefix; the shorter
// MaxHostLength applies only to host purges, where Cloudflare enforces it.
const maxDNSName = 253

// NormalizeURL returns the canonical form of a files entry, the form used
// as a dedup key and sent to Cloudflare.
//
// The URL must be absolute with scheme http or https. Scheme and host are
// lowercased and a trailing dot on the host is removed, because Cloudflare
// treats hosts case-insensitively. A default port (:80 for http, :443 for
// https) is dropped and other ports are kept. The fragment is dropped,
// because browsers never send it. An empty path becomes "/", because
// "https://a.com" and "https://a.com/" are the same request. Path and query
// are kept byte for byte: no re-encoding and no dot-segment cleaning,
// because they are case- and byte-sensitive parts of the cache key.
//
// Refused: other schemes, userinfo ("user@"), hosts that are not ASCII DNS
// names (give internationalised names in punycode, "xn--..."), spaces,
// control and non-ASCII bytes in path or query (percent-encode them as a
// browser does), and URLs longer than [MaxURLLength] bytes.
func NormalizeURL(s string) (string, error) {
	if s == "" {
		return "", valueError(s, "URL is empty")
	}
	if len(s) > MaxURLLength {
		return "", valueError(s, "URL longer than "+strconv.Itoa(MaxURLLength)+" characters")
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return "", valueError(s, "not an absolute URL; want http://host/path or https://host/path")
	}
	scheme := lowerASCII(s[:i])
	if scheme != "http" && scheme != "https" {
		return "", valueError(s, "scheme must be http or https")
	}
	rest := s[i+3:]
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		rest = rest[:j]
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	host, port, reason := splitAuthority(authority, scheme)
	if reason == "" {
		reason = checkURLBytes(tail)
	}
	if reason != "" {
		return "", valueError(s, reason)
	}
	if tail == "" || tail[0] == '?' {
		tail = "/" + tail
	} else if scheme == s[:i] && isConcat(authority, host, port) {
		return s[:i+3+len(rest)], nil // already canonical: no allocation
	}
	out := scheme + "://" + host + port + tail
	if len(out) > MaxURLLength {
		return "", valueError(s, "URL longer than "+strconv.Itoa(MaxURLLength)+" characters")
	}
	return out, nil
}

// isConcat reports whether s == a+b without building a+b.
func isConcat(s, a, b string) bool {
	return len(s) == len(a)+len(b) && s[:len(a)] == a && s[len(a):] == b
}

// splitAuthority validates the "host[:port]" of a URL and returns the
// lowercased host and the port as ":N", or "" for none or the default one.
func splitAuthority(a, scheme string) (host, port, reason string) {
	if strings.IndexByte(a, '@') >= 0 {
		return "", "", "userinfo (user@) is not allowed in a purge URL"
	}
	if strings.HasPrefix(a, "[") {
		return "", "", "IP address hosts are not supported; a zone's URLs have DNS names"
	}
	host = a
	if j := strings.LastIndexByte(a, ':'); j >= 0 {
		host = a[:j]
		if port, reason = canonicalPort(a[j+1:], scheme); reason != "" {
			return "", "", reason
		}
	}
	host, reason = canonicalHost(host, maxDNSName)
	return host, port, reason
}

// canonicalPort returns ":N" for a non-default port and "" for an empty or
// default one, so ":0443" and ":443" and nothing are the same https URL.
func canonicalPort(p, scheme string) (string, string) {
	if p == "" {
		return "", ""
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' || n > 65535 {
			return "", "invalid port; want a number from 1 to 65535"
		}
		n = n*10 + int(c-'0')
	}
	switch {
	case n == 0 || n > 65535:
		return "", "invalid port; want a number from 1 to 65535"
	case scheme == "http" && n == 80, scheme == "https" && n == 443:
		return "", ""
	}
	return ":" + strconv.Itoa(n), ""
}

// canonicalHost removes one trailing dot, lowercases, and checks the
// result against the DNS hostname rules.
func canonicalHost(h string, max int) (string, string) {
	h = strings.TrimSuffix(h, ".")
	if reason := checkHostname(h, max); reason != "" {
		return "", reason
	}
	return lowerASCII(h), ""
}

// checkHostname checks h against the rules for hosts Cloudflare accepts:
// ASCII letters (either case), digits, '-' and '_', dot-separated labels of
// 1 to 63 bytes, at most max bytes in all. Non-ASCII is checked first and
// reported with the punycode hint, and before any lowercasing, because
// Unicode case folding can turn a non-ASCII letter into an ASCII one (the
// Kelvin sign K lowercases to "k").
func checkHostname(h string, max int) string {
	if h == "" {
		return "host is empty"
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return "host is not ASCII; give it in punycode (xn--...) form"
		}
	}
	if len(h) > max {
		return "host longer than " + strconv.Itoa(max) + " characters"
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '.' {
			if label == 0 {
				return "host has an empty label"
			}
			label = 0
			continue
		}
		if !isHostByte(c) {
			return fmt.Sprintf("host contains %q; only letters, digits, '-', '_' and '.' are allowed", rune(c))
		}
		if label++; label > 63 {
			return "host has a label longer than 63 characters"
		}
	}
	if label == 0 {
		return "host has an empty label"
	}
	return ""
}

func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// checkURLBytes reports the first byte of a path or query that cannot be
// sent as is. Only bytes that no valid URL holds are refused; everything
// else is kept byte for byte.
func checkURLBytes(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Sprintf("contains a space, control or non-ASCII byte (0x%02x); percent-encode it", c)
		}
	}
	return ""
}

// lowerASCII lowercases ASCII letters only and returns s itself when it has
// none, so normalising an already normal key does not allocate.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
