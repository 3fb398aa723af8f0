// Package httpapi owns purge-worker's HTTP surface: the status page at /,
// the Prometheus /metrics endpoint, the /healthz and /readyz probes, and
// POST /v1/intents, which lets systems that cannot speak NATS (CMS webhooks)
// publish intents.
//
// The status page is rendered on the server from a [StatusSource] snapshot
// (html/template, no external asset) and refreshes itself in place.
//
// The ingest endpoint validates every intent before it publishes any, so a
// request is either stored whole or refused with a reason naming the bad
// field; it answers 202 only once JetStream has stored each intent.
package httpapi
