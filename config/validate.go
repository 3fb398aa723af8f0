package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits Validate enforces beyond the types.
const (
	minAckWait        = time.Second
	minLeaseTTL       = 3 * time.Second
	minStatusTTL      = time.Minute
	maxRememberKeys   = 100_000_000
	maxWindow         = time.Minute
	minIngestTokenLen = 16 // shorter bearer tokens are within reach of brute force
)

// Validate checks every value and returns one error per problem, joined with
// errors.Join, each naming the key path and, unless it is secret or came from
// the environment, the bad value. It does not change c and does no I/O: Parse
// normalises and reads api_token_file before calling it.
//
// Rules that are decisions rather than facts: nats.max_ack_pending must be at
// least 1, because unlimited (-1) would let the worker hold an unbounded
// backlog in memory; batch.window must be less than half of nats.ack_wait, so
// that a message held for a full window is acked well before redelivery; and
// at least one zone is required, since a worker without zones can only
// dead-letter.
func (c *Config) Validate() error {
	v := validator{refs: c.envRefs}
	v.nats(&c.NATS)
	v.batch(&c.Batch, c.NATS.AckWait)
	v.cloudflare(c)
	v.http(&c.HTTP)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "auto", "text", "json")
	v.positive("shutdown_timeout", c.ShutdownTimeout)
	return errors.Join(v.errs...)
}

// validator collects the problems of one Validate call.
type validator struct {
	refs map[string]string
	errs []error
}

func (v *validator) addf(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// show quotes the value at key for a message; see the package function show.
func (v *validator) show(key, value string) string { return show(v.refs, key, value) }

// show returns how an error message may present value, the value at key: in
// quotes or, when it came from the environment, as the variables it was built
// from. A variable may hold a secret even when the key it lands in is not
// secret (a token pasted into the wrong variable, a password in a URL), so
// text from the environment is never echoed.
func show(refs map[string]string, key, value string) string {
	if r, ok := refs[key]; ok {
		return "the value of " + r
	}
	return strconv.Quote(value)
}

func (v *validator) nats(n *NATS) {
	v.natsURL(n.URL)
	if n.URL == EmbeddedURL {
		v.hostPort("nats.embedded.listen", n.Embedded.Listen)
		if n.Embedded.StoreDir == "" {
			v.addf("nats.embedded.store_dir", "must not be empty when nats.url is %q", EmbeddedURL)
		}
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		v.addf("nats.tls", "cert_file and key_file go together; set both or neither")
	}
	v.natsName("nats.stream", n.Stream)
	v.natsName("nats.consumer", n.Consumer)
	v.natsName("nats.dlq_stream", n.DLQStream)
	if n.DLQStream != "" && n.DLQStream == n.Stream {
		v.addf("nats.dlq_stream", "must differ from nats.stream, both are %s", v.show("nats.dlq_stream", n.DLQStream))
	}
	if n.AckWait < minAckWait {
		v.addf("nats.ack_wait", "must be at least %s, got %s", minAckWait, v.show("nats.ack_wait", n.AckWait.String()))
	}
	if n.MaxAckPending < 1 {
		v.addf("nats.max_ack_pending", "must be at least 1 (unlimited would hold an unbounded backlog in memory), got %s",
			v.show("nats.max_ack_pending", strconv.Itoa(n.MaxAckPending)))
	}
	if n.MaxDeliver != -1 && n.MaxDeliver < 1 {
		v.addf("nats.max_deliver", "must be -1 (unlimited) or at least 1, got %s", v.show("nats.max_deliver", strconv.Itoa(n.MaxDeliver)))
	}
	// The lease is renewed every third of its TTL; below a few seconds a
	// renewal would race the server's expiry on a loaded machine.
	if n.LeaseTTL < minLeaseTTL {
		v.addf("nats.lease_ttl", "must be at least %s, got %s", minLeaseTTL, v.show("nats.lease_ttl", n.LeaseTTL.String()))
	}
	if n.StatusTTL < minStatusTTL {
		v.addf("nats.status_ttl", "must be at least %s, got %s", minStatusTTL, v.show("nats.status_ttl", n.StatusTTL.String()))
	}
}

// natsURL checks that s is EmbeddedURL or a list of server URLs.
func (v *validator) natsURL(s string) {
	const key = "nats.url"
	if s == EmbeddedURL {
		return
	}
	if strings.TrimSpace(s) == "" {
		v.addf(key, "must be %q or a comma-separated list of nats:// URLs", EmbeddedURL)
		return
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			v.addf(key, "server %d of the list is empty", i+1)
			continue
		}
		u, err := url.Parse(part)
		if err != nil || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) || u.Hostname() == "" {
			v.addf(key, "%s is not a nats://, tls://, ws:// or wss:// URL with a host (or %q)", v.show(key, redactURL(part)), EmbeddedURL)
		}
	}
}

func (v *validator) batch(b *Batch, ackWait time.Duration) {
	const key = "batch.window"
	window := b.Window
	if b.RememberKeys < 0 || b.RememberKeys > maxRememberKeys {
		v.addf("batch.remember_keys", "must be between 0 (remember nothing) and %d, got %s",
			maxRememberKeys, v.show("batch.remember_keys", strconv.Itoa(b.RememberKeys)))
	}
	switch {
	case window <= 0:
		v.addf(key, "must be > 0, got %s", v.show(key, window.String()))
	case window > maxWindow:
		v.addf(key, "must be at most %s, got %s", maxWindow, v.show(key, window.String()))
	case 2*window >= ackWait:
		v.addf(key, "must be less than half of nats.ack_wait (%s) so messages are acked before redelivery, got %s",
			v.show("nats.ack_wait", ackWait.String()), v.show(key, window.String()))
	}
}

func (v *validator) http(h *HTTP) {
	v.hostPort("http.listen", h.Listen)
	for i, tok := range h.IngestTokens {
		key := fmt.Sprintf("http.ingest_tokens[%d]", i)
		if len(tok) < minIngestTokenLen {
			v.addf(key, "must be at least %d characters, as shorter tokens can be guessed by brute force (value not shown)", minIngestTokenLen)
			continue
		}
		v.secretText(key, tok)
	}
}

// secretText checks that a secret can go into an HTTP header as it is,
// without ever showing it.
func (v *validator) secretText(key string, s Secret) {
	switch {
	case !isVisibleASCII(string(s)):
		v.addf(key, "contains whitespace or a character that is not printable ASCII (value not shown)")
	case s == redacted:
		v.addf(key, "is the placeholder %q, not a real secret", redacted)
	}
}

func (v *validator) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.addf(key, "must be one of %s, got %s", strings.Join(allowed, ", "), v.show(key, value))
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.addf(key, "must be > 0, got %s", v.show(key, d.String()))
	}
}

func (v *validator) hostPort(key, s string) {
	if !isHostPort(s) {
		v.addf(key, "%s is not a host:port address such as \"127.0.0.1:8080\" or \":8080\"", v.show(key, s))
	}
}

func (v *validator) natsName(key, s string) {
	if !isNATSName(s) {
		v.addf(key, "%s is not a valid NATS name (non-empty; no whitespace, '.', '*', '>', '/' or '\\')", v.show(key, s))
	}
}
