package intent

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error that reports a malformed or
// unacceptable intent, so callers can tell "dead-letter this message" from
// infrastructure failures with errors.Is.
var ErrInvalid = errors.New("invalid intent")

// MaxQuotedValue is how many bytes of an offending value an error message
// quotes. Values come from publishers and end up in log lines and in the
// Purge-Error header of dead-lettered messages, so a hostile 1 MiB URL must
// not be copied into them whole.
const MaxQuotedValue = 200

// FieldError reports one invalid part of an intent: where it is, what the
// offending value was, and why it was refused. It wraps [ErrInvalid].
//
// Its message has the form `files[2]: "ftp://x/y": scheme must be http or
// https`; the value is truncated to [MaxQuotedValue] bytes and quoted with
// strconv.QuoteToASCII, so it holds no control characters, newlines or
// non-ASCII bytes whatever the input was.
type FieldError struct {
	// Field is the JSON path of the offending field, such as "files[2]",
	// "files[0].headers.Cf-Ipcountry", "zone" or "body". From a Normalize
	// function called directly it is empty, or the header's name for a bad
	// header value from NormalizeHeaders.
	Field string
	// Value is the offending value, truncated to MaxQuotedValue bytes; it
	// is empty when the error is not about one value (for example "no
	// items").
	Value string
	// Reason says what is wrong, in lowercase words.
	Reason string

	hasValue bool // Value is meaningful, even if empty
	fullLen  int  // length of the value before truncation
}

// Error renders the error as "field: "value": reason", leaving out the
// parts that are empty.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.hasValue {
		b.WriteString(quoteTruncated(e.Value, e.fullLen))
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// valueError reports a bad value; the caller that knows the field adds it
// with inField.
func valueError(v, reason string) *FieldError {
	return &FieldError{Value: truncate(v), Reason: reason, hasValue: true, fullLen: len(v)}
}

// fieldError reports a problem with a field as a whole.
func fieldError(field, reason string) *FieldError {
	return &FieldError{Field: field, Reason: reason}
}

// fieldValueError reports a bad value of a known field.
func fieldValueError(field, v, reason string) *FieldError {
	e := valueError(v, reason)
	e.Field = field
	return e
}

// inField returns err with field prepended to its Field, so an error from
// a Normalize function or from a nested field gets its full path, such as
// "files[1].headers.Cf-Device-Type". Errors that are not *FieldError are
// returned unchanged.
func inField(err error, field string) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	c := *fe
	if c.Field == "" {
		c.Field = field
	} else {
		c.Field = field + "." + c.Field
	}
	return &c
}

// indexed names element i of a list field, as in "files[2]".
func indexed(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// truncate cuts s to at most MaxQuotedValue bytes on a rune boundary. It
// copies the cut so an error does not pin a large input in memory.
func truncate(s string) string {
	if len(s) <= MaxQuotedValue {
		return s
	}
	n := MaxQuotedValue
	for n > MaxQuotedValue-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

// quote quotes a value from outside for an error message: truncated and
// ASCII-only, so it cannot break a log line or a header.
func quote(s string) string {
	return quoteTruncated(truncate(s), len(s))
}

// quoteTruncated quotes v, the truncated form of a value of fullLen bytes,
// and says how long the value was if it was cut.
func quoteTruncated(v string, fullLen int) string {
	q := strconv.QuoteToASCII(v)
	if fullLen > len(v) {
		q += "... (" + strconv.Itoa(fullLen) + " bytes)"
	}
	return q
}
