// Package worker owns the JetStream side of purge-worker: it ensures the
// streams and the durable pull consumer, pulls purge intents, validates them,
// feeds the batcher, sends the chunks the batcher hands out to Cloudflare
// under each account's rate limits, and turns every outcome into exactly one
// of ack (covered by a successful call), dead-letter plus term (invalid or
// refused by Cloudflare), or nak (account paused, shutdown).
//
// The invariant everything here serves: a message is acked only once every
// key in it is covered by a successful call issued after the message was
// received. Until then it is held, and kept alive with InProgress so that
// JetStream does not redeliver it to another replica while we work on it.
//
// Goroutines: [Worker.Run] owns all of them. Intake runs on the caller's
// goroutine; one sender loop per Cloudflare account, the calls it starts, and
// the keep-alive ticker run in a WaitGroup that Run waits for before it
// returns; the writer of tracked intents' status records runs until the
// last of them is settled, and Run waits for it too. Shutdown runs in a fixed order under Config.ShutdownTimeout: stop
// pulling, flush everything pending at once (still under the rate limits),
// ack what succeeds, nak the rest so it is redelivered at once.
package worker
