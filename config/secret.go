package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every printed form of a non-empty Secret shows.
const redacted = "<redacted>"

// Secret is a credential: a Cloudflare API token or key, or an ingest token.
// Every way of printing it (the fmt verbs including %#v, slog, JSON and YAML)
// shows "<redacted>", or "" when it is empty so that a missing secret is
// still visible. Only [Secret.Reveal] returns the value, which keeps each use
// of the real text easy to find and review.
//
// Keep secrets in fields of this type: fmt prints an unexported field without
// calling its methods, so a Secret hidden there would leak.
type Secret string

// Reveal returns the secret's value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String returns "<redacted>", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString makes %#v print the same as String.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every fmt verb. Stringer alone is not enough: fmt
// reports a verb that does not suit a string, such as %d, with the raw value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, fmt.FormatString(f, 'q'), s.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s.String())
	}
}

// LogValue makes slog print the same as String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the secret as the JSON string of String.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML encodes the secret as the YAML string of String. A config
// printed this way and loaded again is refused by Validate rather than
// sending "<redacted>" as a credential.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
