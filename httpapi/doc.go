// Package httpapi owns purge-worker's HTTP surface: the Prometheus
// /metrics endpoint, the /healthz and /readyz probes, and POST /v1/intents,
// which lets systems that cannot speak NATS (CMS webhooks) publish intents.
//
// The ingest endpoint validates every intent before it publishes any, so a
// request is either stored whole or refused with a reason naming the bad
// field; it answers 202 only once JetStream has stored each intent.
package httpapi
