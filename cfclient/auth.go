package cfclient

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Auth holds the credentials of one Cloudflare account. Token (an API token
// with the Cache Purge permission) is preferred and sent as
// "Authorization: Bearer"; otherwise Email and Key (the legacy global API
// key) are sent as X-Auth-Email and X-Auth-Key.
//
// Printing an Auth with fmt (any verb), or logging it with slog, never
// shows the token or the key.
type Auth struct {
	Token string
	Email string
	Key   string
}

const redacted = "<redacted>"

// Scheme names the scheme the credentials use: "bearer", "email_key" or
// "none".
func (a Auth) Scheme() string {
	switch {
	case a.Token != "":
		return "bearer"
	case a.Email != "" && a.Key != "":
		return "email_key"
	}
	return "none"
}

// Validate reports whether the credentials are usable: a token, or both an
// email and a key, with no characters that cannot go into a header.
func (a Auth) Validate() error {
	if a.Scheme() == "none" {
		return errors.New("credentials: need an api token, or an email and an api key")
	}
	// The values are secrets, so the errors name the field only.
	for _, f := range []struct{ name, v string }{{"token", a.Token}, {"email", a.Email}, {"key", a.Key}} {
		if strings.ContainsAny(f.v, "\r\n\x00") || strings.TrimSpace(f.v) != f.v {
			return fmt.Errorf("credentials: %s holds whitespace or control characters", f.name)
		}
	}
	return nil
}

// apply sets the authentication headers on h.
func (a Auth) apply(h http.Header) {
	if a.Token != "" {
		h.Set("Authorization", "Bearer "+a.Token)
		return
	}
	h.Set("X-Auth-Email", a.Email)
	h.Set("X-Auth-Key", a.Key)
}

// String describes the credentials without revealing the secret.
func (a Auth) String() string {
	switch a.Scheme() {
	case "bearer":
		return "bearer token " + redacted
	case "email_key":
		return "email " + a.Email + " with api key " + redacted
	}
	return "no credentials"
}

// GoString implements fmt.GoStringer for %#v, without the secret.
func (a Auth) GoString() string {
	return fmt.Sprintf("cfclient.Auth{Token: %q, Email: %q, Key: %q}", hide(a.Token), a.Email, hide(a.Key))
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %s, %q, %x,
// ...) goes through String or GoString; without it, %x or %d would print
// the raw fields.
func (a Auth) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, a.GoString())
		return
	}
	fmt.Fprint(f, a.String())
}

// LogValue implements slog.LogValuer: the scheme and the email, never the
// secret.
func (a Auth) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("scheme", a.Scheme())}
	if a.Token == "" && a.Email != "" {
		attrs = append(attrs, slog.String("email", a.Email))
	}
	return slog.GroupValue(attrs...)
}

func hide(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// MarshalText implements encoding.TextMarshaler so that encoding an Auth
// (JSON, YAML, ...) yields String, never the secret.
func (a Auth) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}
