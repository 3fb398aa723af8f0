// Package worker owns the JetStream side of purge-worker: it ensures the
// streams and the durable pull consumer, pulls purge intents, validates them,
// feeds the batcher, sends the chunks the batcher hands out to Cloudflare
// under each account's rate limits, and turns every outcome into exactly one
// of ack (covered by a successful call), dead-letter plus term (invalid or
// refused by Cloudflare), or nak (account paused, shutdown).
//
// The invariant everything here serves: a message is acked only once every
// key in it is covered by a successful call issued after the message was
// stored in the stream. Until then it is held, and kept alive with
// InProgress so that JetStream does not redeliver it while we work on it.
//
// Replicas of one consumer share the work through a lease (see
// internal/lease): only the replica that holds it pulls and calls; the
// others wait as standbys. Each account's token buckets are paid in the
// PURGE_LIMITS KV bucket, fenced by the lease term, before every call
// (ledger.go), so a takeover or a restart continues from what was spent.
//
// Goroutines: [Worker.Run] owns all of them. Intake runs on the caller's
// goroutine; one sender loop per Cloudflare account, the calls it starts,
// the keep-alive ticker, the dead-letter loop and the writer of tracked
// intents' status records run in WaitGroups that Run waits for before it
// returns (background.go). Shutdown runs in a fixed order under
// Config.ShutdownTimeout: stop pulling, flush everything pending at once
// (still under the rate limits and the lease), ack what succeeds, store the
// last dead letters, nak the rest so it is redelivered at once, write the
// last status records, release the lease.
package worker
