package cftest

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/purge-worker/purge-worker/cfclient"
)

// codeTooManyPrefixes is invented: Cloudflare documents no code for too
// many prefixes (nor a current one for the other types). Using a code
// cfclient does not list means cfclient must recognise this refusal by its
// message, as it must for whatever Cloudflare sends today.
const codeTooManyPrefixes = 1122

// Key limits documented by Cloudflare for the purge endpoints.
const (
	maxTagLen          = 1024
	maxHostLen         = 200
	maxPrefixSlashes   = 31
	tooManyMessageForm = "Exceeded maximum amount of %d %s that can be purged on a single request"
)

// check validates b's keys for zone under limits: first the per-request
// maximum, then each key. Called only for a well-shaped body.
func (b *purgeBody) check(zoneName string, l cfclient.Limits) *failure {
	switch b.kind {
	case "files":
		if len(b.files) > l.MaxURLsPerRequest {
			return failf(http.StatusBadRequest, OutcomeTooMany, cfclient.CodeTooManyFiles, tooManyMessageForm, l.MaxURLsPerRequest, "files")
		}
		for _, f := range b.files {
			if fl := checkFile(f, zoneName); fl != nil {
				return fl
			}
		}
	case "tags", "hosts", "prefixes":
		code, check := listRules(b.kind)
		if len(b.list) > l.MaxKeysPerRequest {
			return failf(http.StatusBadRequest, OutcomeTooMany, code, tooManyMessageForm, l.MaxKeysPerRequest, b.kind)
		}
		for _, k := range b.list {
			if fl := check(k, zoneName); fl != nil {
				return fl
			}
		}
	}
	return nil
}

// listRules returns the "too many" code and the key check of a list kind.
func listRules(kind string) (tooManyCode int, check func(key, zoneName string) *failure) {
	switch kind {
	case "tags":
		return cfclient.CodeTooManyTags, checkTag
	case "hosts":
		return cfclient.CodeTooManyHosts, checkHost
	}
	return codeTooManyPrefixes, checkPrefix
}

func invalidKey(code int, format string, args ...any) *failure {
	return failf(http.StatusBadRequest, OutcomeInvalid, code, format, args...)
}

// checkFile: an absolute UTF-8 http(s) URL whose host is in the zone, and
// headers that could be sent in a request.
func checkFile(f fileKey, zoneName string) *failure {
	if !utf8.ValidString(f.url) {
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. URLs must be UTF-8 encoded", f.url)
	}
	u, err := url.Parse(f.url)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. It is not an absolute URL", f.url)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Only http and https URLs can be purged", f.url)
	}
	if !inZone(strings.ToLower(u.Hostname()), zoneName) {
		return invalidKey(cfclient.CodeOutOfZone, "Unable to purge %q. You can only purge files for this zone", f.url)
	}
	for name, v := range f.headers {
		if !validHeaderName(name) || strings.ContainsAny(v, "\r\n\x00") {
			return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Invalid header %q", f.url, name)
		}
	}
	return nil
}

// checkTag: 1 to 1024 printable ASCII characters, no spaces.
func checkTag(t, _ string) *failure {
	if len(t) > maxTagLen {
		return invalidKey(cfclient.CodeTagTooLong, "Tag exceeds maximum length of %d characters", maxTagLen)
	}
	if t == "" {
		return invalidKey(cfclient.CodeTagTooLong, "Tag must be at least 1 character long")
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return invalidKey(cfclient.CodeTagTooLong, "Invalid tag %q: tags are printable ASCII without spaces", t)
		}
	}
	return nil
}

// checkHost: a bare hostname of at most 200 characters inside the zone.
func checkHost(h, zoneName string) *failure {
	if len(h) > maxHostLen {
		return invalidKey(cfclient.CodeHostTooLong, "Host exceeds maximum length of %d characters", maxHostLen)
	}
	if !validHostname(h) {
		return invalidKey(cfclient.CodeInvalidHost, "Invalid host %q", h)
	}
	if !inZone(strings.ToLower(h), zoneName) {
		return invalidKey(cfclient.CodeOutOfZone, "Unable to purge %q. You can only purge hosts of this zone", h)
	}
	return nil
}

// checkPrefix: "host/path" with no scheme, query or fragment, at most 31
// path separators, host inside the zone.
func checkPrefix(p, zoneName string) *failure {
	switch {
	case strings.Contains(p, "://"):
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Prefixes must not include a scheme", p)
	case strings.ContainsAny(p, "?#"):
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Prefixes must not include a query string or fragment", p)
	case strings.Count(p, "/") > maxPrefixSlashes:
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Path separators are limited to %d for a prefix", p, maxPrefixSlashes)
	case !utf8.ValidString(p) || strings.ContainsAny(p, " \t\r\n\x00"):
		return invalidKey(cfclient.CodeUnableToPurge, "Unable to purge %q. Invalid characters in prefix", p)
	}
	host, _, _ := strings.Cut(p, "/")
	if !validHostname(host) {
		return invalidKey(cfclient.CodeInvalidHost, "Invalid host %q in prefix %q", host, p)
	}
	if !inZone(strings.ToLower(host), zoneName) {
		return invalidKey(cfclient.CodeOutOfZone, "Unable to purge %q. You can only purge prefixes of this zone", p)
	}
	return nil
}

// inZone: host is the zone's name or a subdomain of it.
func inZone(host, zoneName string) bool {
	return host == zoneName || strings.HasSuffix(host, "."+zoneName)
}

// validHostname: dot-separated labels of letters, digits, '-' and '_'
// (underscores occur in real hostnames), no empty label, no port.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c > '~' || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
