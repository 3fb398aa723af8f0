// Package webhook owns the CMS webhooks purge-worker receives: for each
// provider (Ghost, Contentful, Sanity, Strapi, Storyblok, WordPress through
// the WP Webhooks plugin, DatoCMS, and generic, mapped by CEL expressions)
// how a delivery is verified and how its event maps to purge intents.
//
// It is pure: it gets the raw request (method, target, headers, body) and
// the time, and returns intents or a reason to ignore the event; storing
// them is the HTTP layer's job. Verification always runs over the raw body
// bytes, compares in constant time, accepts any of a hook's secrets (so a
// secret can be rotated without downtime) and refuses provider timestamps
// outside a window, so a captured delivery cannot be replayed later.
package webhook
