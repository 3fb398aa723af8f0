package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// isNATSName reports whether s can name a JetStream stream or consumer. The
// server also uses these names as directory names, hence no path separators.
func isNATSName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c >= 0x7f, c == '.', c == '*', c == '>', c == '/', c == '\\':
			return false
		}
	}
	return true
}

// isHostPort reports whether s is host:port with a numeric port; the host may
// be empty, meaning every interface, and port 0 picks a free port.
func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " \t") {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n <= 65535
}

// isZoneName reports whether s is a lowercase DNS name of at least two labels:
// a zone is a registered domain, never a bare label.
func isZoneName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

func isDNSLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isZoneID reports whether s is a 32-character lowercase hex zone ID.
func isZoneID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isAccountName reports whether s is safe as a log field and metric label.
func isAccountName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r != '.' && r != '_' && r != '-' && !isASCIIAlnum(r) {
			return false
		}
	}
	return true
}

// isVisibleASCII reports whether s holds only printable ASCII without spaces,
// the characters a credential may have to go into an HTTP header unchanged.
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isEmail is a plausibility check, not RFC 5322: one "@" with text on both
// sides and no whitespace, enough to catch a key pasted into api_email.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@") && isVisibleASCII(s)
}

// RedactURL returns s for a log line or an error message with its password
// hidden by (*url.URL).Redacted. A user name without a password is hidden
// too, since NATS takes a token in that place. A URL that does not parse
// (the ones validation reports often do not), or that has an "@" outside a
// user part, loses everything between its scheme and its last "@" instead.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.User == nil && strings.Contains(s, "@")) {
		// "u:pw@h" parses as scheme "u" with opaque "pw@h": no User.
		return redactUserinfo(s)
	}
	if u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return redactUserinfo(s)
	}
	return u.Redacted()
}

// redactUserinfo replaces the text between the scheme and the last "@".
func redactUserinfo(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return s[:start] + redacted + s[at:]
}
