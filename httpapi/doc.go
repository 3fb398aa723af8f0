// Package httpapi owns purge-worker's HTTP surface: the status page at /,
// the Prometheus /metrics endpoint, the /healthz and /readyz probes,
// POST /v1/intents, which lets systems that cannot speak NATS publish
// intents, and POST /v1/hooks/{name}, which receives CMS webhooks:
// verified and mapped by package webhook, stored tracked, answered 202 once
// JetStream has them.
//
// The status page is rendered on the server from a [StatusSource] snapshot
// (html/template, no external asset) and refreshes itself in place.
//
// The ingest endpoint validates every intent before it publishes any, so a
// request is either stored whole or refused with a reason naming the bad
// field; it answers 202 only once JetStream has stored each intent.
package httpapi
