package intent

import (
	"sort"
	"strings"
)

// Kind is the selector type of a purge key. Cloudflare accepts exactly one
// selector type per request body, so every chunk the batcher hands out holds
// keys of a single Kind.
type Kind uint8

// The selector types, in the order Cloudflare documents them.
const (
	KindFile Kind = iota
	KindTag
	KindHost
	KindPrefix
	KindEverything
)

// Kinds lists every Kind, for iteration in a stable order.
var Kinds = [...]Kind{KindFile, KindTag, KindHost, KindPrefix, KindEverything}

// String returns the JSON field name of the kind ("files", "tags", ...); it
// is also the metric label value.
func (k Kind) String() string {
	switch k {
	case KindFile:
		return "files"
	case KindTag:
		return "tags"
	case KindHost:
		return "hosts"
	case KindPrefix:
		return "prefixes"
	case KindEverything:
		return "purge_everything"
	}
	return "unknown"
}

// Flex reports whether calls of this kind count against the account's flex
// request bucket (tags, hosts, prefixes, everything) rather than the URL rate.
func (k Kind) Flex() bool { return k != KindFile }

// Mode selects the Cloudflare endpoint: purge_cache evicts, invalidate_cache
// marks content stale.
type Mode uint8

// The modes. ModePurge is the zero value and the default.
const (
	ModePurge Mode = iota
	ModeInvalidate
)

// String returns the wire name of the mode.
func (m Mode) String() string {
	if m == ModeInvalidate {
		return "invalidate"
	}
	return "purge"
}

// ParseMode parses the wire name of a mode; the empty string is ModePurge.
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "", "purge":
		return ModePurge, true
	case "invalidate":
		return ModeInvalidate, true
	}
	return ModePurge, false
}

// Priority orders pending keys when the account's rate tokens cannot pay
// for all of them: higher values are sent first. PriorityNormal is the zero
// value and the default.
type Priority int8

// The priorities, lowest first.
const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// String returns the wire name of the priority.
func (p Priority) String() string {
	switch {
	case p > PriorityNormal:
		return "high"
	case p < PriorityNormal:
		return "low"
	}
	return "normal"
}

// ParsePriority parses the wire name of a priority; the empty string is
// PriorityNormal.
func ParsePriority(s string) (Priority, bool) {
	switch s {
	case "", "normal":
		return PriorityNormal, true
	case "high":
		return PriorityHigh, true
	case "low":
		return PriorityLow, true
	}
	return PriorityNormal, false
}

// Key is one normalised purge key. It is comparable, so it can be used as a
// map key for deduplication: two keys are the same purge if and only if they
// are ==.
//
// Value holds, per kind: the normalised URL (files), the lowercased tag, the
// lowercased host, the normalised "host/path" prefix, or "" (everything).
// Headers is set only for files purged with request headers (custom cache
// keys); it is the canonical encoding produced by [EncodeHeaders], because a
// missing header is an empty value to Cloudflare, not a wildcard, so each
// header set is a distinct purge.
type Key struct {
	Kind    Kind
	Value   string
	Headers string
}

// HeaderMap decodes k.Headers; it returns nil when the key has no headers.
func (k Key) HeaderMap() map[string]string {
	return DecodeHeaders(k.Headers)
}

// String renders the key for logs and dead-letter reasons.
func (k Key) String() string {
	if k.Kind == KindEverything {
		return "purge_everything"
	}
	if k.Headers == "" {
		return k.Value
	}
	return k.Value + " " + strings.ReplaceAll(k.Headers, "\n", "; ")
}

// EncodeHeaders returns the canonical form of a header map: one
// "Name: value" line per header, names in canonical MIME case, sorted, joined
// by "\n". Header names are case-insensitive; values are kept byte for byte.
// Callers must have validated that names and values hold no newlines.
func EncodeHeaders(h map[string]string) string {
	if len(h) == 0 {
		return ""
	}
	lines := make([]string, 0, len(h))
	for name, v := range h {
		lines = append(lines, canonicalHeader(name)+": "+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// DecodeHeaders is the inverse of [EncodeHeaders].
func DecodeHeaders(s string) map[string]string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	h := make(map[string]string, len(lines))
	for _, l := range lines {
		name, v, _ := strings.Cut(l, ": ")
		h[name] = v
	}
	return h
}

// canonicalHeader is textproto.CanonicalMIMEHeaderKey without the import of
// net/textproto into a pure package; it upper-cases the first letter and
// each letter after a hyphen.
func canonicalHeader(s string) string {
	b := []byte(strings.ToLower(s))
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
}

// Part is the share of one intent that goes to one zone: its keys,
// deduplicated and normalised, already checked to belong to the zone.
type Part struct {
	ZoneID   string
	Mode     Mode
	Priority Priority
	Keys     []Key
}
