package intent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Limits of the headers of a files entry. Cloudflare documents none; a
// cache key holds a handful of headers, and these bounds keep a hostile
// intent from growing a request body.
const (
	MaxHeaders          = 20   // headers per files entry
	MaxHeaderNameLength = 256  // bytes of a header name
	MaxHeaderValueLen   = 4096 // bytes of a header value
)

// NormalizeTag returns the canonical form of a tags entry: the tag
// lowercased, because Cloudflare matches tags case-insensitively. A tag is
// 1 to [MaxTagLength] bytes of printable ASCII (0x21-0x7E) without a comma,
// because the origin's Cache-Tag header is a comma-separated list.
func NormalizeTag(s string) (string, error) {
	if s == "" {
		return "", valueError(s, "tag is empty")
	}
	if len(s) > MaxTagLength {
		return "", valueError(s, "tag longer than "+strconv.Itoa(MaxTagLength)+" characters")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			return "", valueError(s, "tag contains a space")
		case c == ',':
			return "", valueError(s, "tag contains a comma (Cache-Tag is comma separated)")
		case c < 0x21 || c > 0x7e:
			return "", valueError(s, fmt.Sprintf("tag contains a control or non-ASCII byte (0x%02x); tags are printable ASCII", c))
		}
	}
	return lowerASCII(s), nil
}

// NormalizeHost returns the canonical form of a hosts entry: a bare
// hostname, lowercased, without a trailing dot, at most [MaxHostLength]
// bytes, made of DNS labels (letters, digits, '-' and '_', 1 to 63 bytes
// each). A scheme, port or path is refused with a hint rather than
// stripped, because "https://a.com/blog" in hosts is more likely a mistake
// for files or prefixes than a request to purge all of a.com.
func NormalizeHost(s string) (string, error) {
	switch {
	case strings.Contains(s, "://"):
		return "", valueError(s, "a host has no scheme; give only the hostname, such as www.example.com")
	case strings.ContainsAny(s, "/?#"):
		return "", valueError(s, "a host has no path; use prefixes or files to purge part of a host")
	case strings.IndexByte(s, ':') >= 0:
		return "", valueError(s, "a host has no port; give only the hostname")
	}
	h, reason := canonicalHost(s, MaxHostLength)
	if reason != "" {
		return "", valueError(s, reason)
	}
	return h, nil
}

// NormalizePrefix returns the canonical form of a prefixes entry:
// "host/path", the form Cloudflare takes. A leading "http://" or "https://"
// is accepted and stripped, because prefix purges are scheme-less and users
// paste URLs. The host is lowercased and loses a trailing dot; the path is
// kept byte for byte, including a trailing '/': Cloudflare's docs show both
// forms, and they differ, because Cloudflare matches a plain string prefix,
// so "a.com/blog" may also purge "a.com/blog-old" where "a.com/blog/" does
// not.
//
// Refused: a query or fragment (Cloudflare ignores them in prefixes), a
// port or userinfo, a bare host without "/" (use hosts for that), more than
// [MaxPrefixSlashes] '/', more than [MaxURLLength] bytes, and spaces,
// control or non-ASCII bytes.
func NormalizePrefix(s string) (string, error) {
	if s == "" {
		return "", valueError(s, "prefix is empty")
	}
	if len(s) > MaxURLLength {
		return "", valueError(s, "prefix longer than "+strconv.Itoa(MaxURLLength)+" characters")
	}
	rest, reason := stripScheme(s)
	if reason == "" {
		reason = checkPrefixSyntax(rest)
	}
	if reason != "" {
		return "", valueError(s, reason)
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return "", valueError(s, "a prefix needs a path after the host, such as "+
			"www.example.com/blog; to purge a whole host use hosts")
	}
	host, path := rest[:slash], rest[slash:]
	if strings.IndexByte(host, ':') >= 0 || strings.IndexByte(host, '@') >= 0 {
		return "", valueError(s, "a prefix has no port or userinfo; give host/path")
	}
	h, reason := canonicalHost(host, maxDNSName)
	if reason == "" {
		reason = checkURLBytes(path)
	}
	if reason != "" {
		return "", valueError(s, reason)
	}
	if h == host {
		return rest, nil // already canonical: no allocation
	}
	return h + path, nil
}

// stripScheme removes a leading "http://" or "https://" (any case) from a
// prefix. Only a "://" before the first '/' is a scheme; one later on is
// part of the path.
func stripScheme(s string) (string, string) {
	i := strings.Index(s, "://")
	if i < 0 || strings.IndexByte(s[:i], '/') >= 0 {
		return s, ""
	}
	if sch := lowerASCII(s[:i]); sch != "http" && sch != "https" {
		return "", "scheme must be http or https, or none"
	}
	return s[i+3:], ""
}

// checkPrefixSyntax checks what is refused anywhere in a scheme-less
// prefix: query, fragment, too many '/'.
func checkPrefixSyntax(s string) string {
	switch {
	case strings.IndexByte(s, '?') >= 0:
		return "a prefix cannot have a query string"
	case strings.IndexByte(s, '#') >= 0:
		return "a prefix cannot have a fragment"
	case strings.Count(s, "/") > MaxPrefixSlashes:
		return "more than " + strconv.Itoa(MaxPrefixSlashes) + " '/' in a prefix"
	}
	return ""
}

// NormalizeHeaders returns the canonical form of the headers of a files
// entry: names in canonical case (names are case-insensitive), values byte
// for byte (values are case-sensitive). It returns nil for no headers, so
// {"url": u} and {"url": u, "headers": {}} are the same key.
//
// Names must be HTTP tokens of at most [MaxHeaderNameLength] bytes and must
// not repeat in any case; values must be printable ASCII or tab of at most
// [MaxHeaderValueLen] bytes (no CR, LF or NUL, which would forge headers or
// break the [EncodeHeaders] form); at most [MaxHeaders] headers. Errors
// name the header in their Field. Headers are checked in name order so the
// reported error does not depend on map iteration order.
func NormalizeHeaders(h map[string]string) (map[string]string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	if len(h) > MaxHeaders {
		return nil, fieldError("", "more than "+strconv.Itoa(MaxHeaders)+" headers")
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string]string, len(h))
	for _, name := range names {
		if reason := checkHeaderName(name); reason != "" {
			return nil, valueError(name, reason)
		}
		c := canonicalHeader(name)
		if _, dup := out[c]; dup {
			return nil, valueError(name, "header given twice (names are case-insensitive)")
		}
		v := h[name]
		if reason := checkHeaderValue(v); reason != "" {
			return nil, fieldValueError(c, v, reason)
		}
		out[c] = v
	}
	return out, nil
}

// checkHeaderName checks that name is an RFC 9110 token.
func checkHeaderName(name string) string {
	if name == "" {
		return "header name is empty"
	}
	if len(name) > MaxHeaderNameLength {
		return "header name longer than " + strconv.Itoa(MaxHeaderNameLength) + " characters"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isHostByte(c) && strings.IndexByte("!#$%&'*+.^`|~", c) < 0 {
			return fmt.Sprintf("header name contains %q; names are HTTP tokens", rune(c))
		}
	}
	return ""
}

// checkHeaderValue checks that v is printable ASCII or tab.
func checkHeaderValue(v string) string {
	if len(v) > MaxHeaderValueLen {
		return "header value longer than " + strconv.Itoa(MaxHeaderValueLen) + " characters"
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return "header value contains CR, LF or NUL"
		case c != '\t' && (c < 0x20 || c > 0x7e):
			return fmt.Sprintf("header value contains a control or non-ASCII byte (0x%02x)", c)
		}
	}
	return ""
}
