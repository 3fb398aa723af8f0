package webhook

import (
	"errors"
	"net/http"
	"time"
)

// Request is one delivery as received, before anything is decoded.
type Request struct {
	// Method is the HTTP method, POST for every provider by default.
	Method string
	// Target is the request target as received (path and query), which
	// Contentful's request verification signs.
	Target string
	Header http.Header
	// Body is the raw body; every signature is checked over these bytes.
	Body []byte
}

// Purge is what one event asks to purge, before the hook adds its also
// URLs, its zone and its priority.
type Purge struct {
	URLs, Tags, Hosts, Prefixes []string
	// DeliveryID identifies the delivery at the provider, the same on every
	// retry of it; "" when the provider sends none.
	DeliveryID string
	// Ignored, when not empty, says why the event purges nothing (a draft
	// was saved, say); the other fields are then empty.
	Ignored string
	// Unmapped, when not empty, says why an event that changed public
	// content did not give its own pages (no template for its type, a
	// tombstone without a slug): the hook's also URLs are still purged,
	// and the reason is reported so that the configuration can be fixed.
	Unmapped string
}

func (p Purge) items() int { return len(p.URLs) + len(p.Tags) + len(p.Hosts) + len(p.Prefixes) }

func ignore(reason string) (Purge, error) { return Purge{Ignored: reason}, nil }

func unmapped(reason string) (Purge, error) { return Purge{Unmapped: reason}, nil }

// Provider verifies and maps the deliveries of one CMS.
type Provider interface {
	// Verify checks that r was sent by the holder of one of the secrets
	// and, where the provider signs a timestamp, that it is within the
	// provider's window of now. Its errors wrap [ErrUnverified] and never
	// hold a secret or a signature.
	Verify(r *Request, now time.Time) error
	// Map turns a verified delivery into what it purges. Its errors wrap
	// [ErrPayload].
	Map(r *Request) (Purge, error)
}

var (
	// ErrUnverified is wrapped by every verification failure: a missing or
	// malformed signature header, a signature that no secret produces, a
	// timestamp outside the window.
	ErrUnverified = errors.New("delivery not verified")
	// ErrPayload is wrapped by errors about a verified delivery whose body
	// cannot be mapped: not JSON, not shaped as the provider documents it,
	// or mapped to items that are not valid (a relative URL, a URL outside
	// every zone).
	ErrPayload = errors.New("payload cannot be mapped")
)

// Window is how far a provider's signed timestamp may be from now, either
// way, for the providers that sign one (Contentful has its own, shorter).
const Window = 5 * time.Minute
