package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/purge-worker/purge-worker/config"
	"github.com/purge-worker/purge-worker/intent"
)

// Hook is one configured webhook: its provider and what every event of it
// adds (the also URLs), where its intents go and with what priority.
type Hook struct {
	name     string
	provider Provider
	zone     string
	priority string
	also     []string
	zones    *intent.Zones
}

// Outcome is what one verified delivery gives.
type Outcome struct {
	// Intents are ready to publish: validated and bound to the zones, each
	// with an id that is the same on every retry of the delivery where the
	// provider sends a delivery id, and random otherwise.
	Intents []*intent.Intent
	// Ignored, when not empty, says why the event purges nothing.
	Ignored string
	// Unmapped, when not empty, says why the event's own pages were not
	// purged although it changed public content; see [Purge.Unmapped].
	Unmapped string
}

// New builds the hook of cfg, which [config.Config.Validate] has checked;
// zones are the configured zones, against which the also URLs are checked
// now and every event's intents later. Errors name the key below the hook.
func New(cfg config.Webhook, zones *intent.Zones) (*Hook, error) {
	p, err := newProvider(cfg)
	if err != nil {
		return nil, err
	}
	h := &Hook{name: cfg.Name, provider: p, zone: cfg.Zone, priority: cfg.PriorityOrDefault(), also: cfg.Also, zones: zones}
	if len(h.also) > 0 {
		if err := h.check(h.intent(h.also, nil, nil, nil)); err != nil {
			return nil, fmt.Errorf("also: %w", err)
		}
	}
	return h, nil
}

func newProvider(cfg config.Webhook) (Provider, error) {
	s := make(secrets, len(cfg.Secrets))
	for i, sec := range cfg.Secrets {
		s[i] = []byte(sec.Reveal())
	}
	t := newTemplates(cfg)
	switch cfg.Provider {
	case config.ProviderGhost:
		return &Ghost{secrets: s, templates: t}, nil
	case config.ProviderSanity:
		return &Sanity{secrets: s, templates: t}, nil
	case config.ProviderContentful:
		return &Contentful{secrets: s, templates: t}, nil
	case config.ProviderStoryblok:
		return &Storyblok{secrets: s, templates: t}, nil
	case config.ProviderWordPress:
		return &WordPress{secrets: s, templates: t}, nil
	case config.ProviderStrapi:
		return &Strapi{secrets: s, templates: t}, nil
	case config.ProviderDatoCMS:
		return &DatoCMS{secrets: s, templates: t}, nil
	case config.ProviderGeneric:
		return newGeneric(s, cfg)
	}
	return nil, fmt.Errorf("provider: unknown provider %q", cfg.Provider)
}

// Name is the hook's name, the last segment of its URL.
func (h *Hook) Name() string { return h.name }

// Handle verifies r and maps it to intents. Its errors wrap
// [ErrUnverified] (nothing may be stored) or [ErrPayload].
func (h *Hook) Handle(r *Request, now time.Time) (Outcome, error) {
	if err := h.provider.Verify(r, now); err != nil {
		return Outcome{}, err
	}
	p, err := h.provider.Map(r)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case p.Ignored != "":
		return Outcome{Ignored: p.Ignored}, nil
	case p.items() == 0 && len(h.also) == 0:
		if p.Unmapped != "" {
			return Outcome{Ignored: p.Unmapped}, nil
		}
		return Outcome{Ignored: "the event names nothing to purge"}, nil
	}
	out, err := h.intents(p)
	out.Unmapped = p.Unmapped
	return out, err
}

// intents splits p, with the also URLs, into intents of at most
// intent.MaxItems items, and binds each to the zones.
func (h *Hook) intents(p Purge) (Outcome, error) {
	urls := dedupe(append(p.URLs, h.also...))
	tags, hosts, prefixes := dedupe(p.Tags), dedupe(p.Hosts), dedupe(p.Prefixes)
	var out Outcome
	for len(urls)+len(tags)+len(hosts)+len(prefixes) > 0 {
		room := intent.MaxItems
		var u, t, ho, pr []string
		u, urls, room = take(urls, room)
		t, tags, room = take(tags, room)
		ho, hosts, room = take(hosts, room)
		pr, prefixes, _ = take(prefixes, room)
		out.Intents = append(out.Intents, h.intent(u, t, ho, pr))
	}
	for i, in := range out.Intents {
		in.ID = intentID(h.name, p.DeliveryID, i, len(out.Intents))
		if err := h.check(in); err != nil {
			return Outcome{}, fmt.Errorf("%w: %w", ErrPayload, err)
		}
	}
	return out, nil
}

// check validates in, against the zones when there are some.
func (h *Hook) check(in *intent.Intent) error {
	if h.zones == nil {
		return in.Validate()
	}
	_, err := in.Bind(h.zones)
	return err
}

func (h *Hook) intent(urls, tags, hosts, prefixes []string) *intent.Intent {
	in := &intent.Intent{
		Zone: h.zone, Tags: tags, Hosts: hosts, Prefixes: prefixes,
		Priority: h.priority, Source: "webhook " + h.name,
	}
	for _, u := range urls {
		in.Files = append(in.Files, intent.File{URL: u})
	}
	return in
}

// intentID is the id of the i-th of n intents of a delivery: the hook's
// name and the provider's delivery id, so that a retried delivery is
// dropped by the stream's duplicate window; random without a delivery id.
// A delivery id that cannot go into an id as it is (too long, spaces) is
// replaced by its SHA-256: it names the delivery, not its content.
func intentID(hook, delivery string, i, n int) string {
	if delivery == "" {
		return intent.NewID()
	}
	id := "hook-" + hook + "-" + delivery
	if len(id) > intent.MaxIDLength-8 || !printable(delivery) {
		sum := sha256.Sum256([]byte(delivery))
		id = "hook-" + hook + "-" + hex.EncodeToString(sum[:16])
	}
	if n > 1 {
		id += "-" + strconv.Itoa(i+1)
	}
	return id
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// take moves up to room items from the front of s.
func take(s []string, room int) (taken, rest []string, left int) {
	n := min(len(s), room)
	return s[:n], s[n:], room - n
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func payloadErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPayload, fmt.Sprintf(format, args...))
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strconv.Quote(s)
}
