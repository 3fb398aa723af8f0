// Package batcher is purge-worker's coalescing engine: it owns the pending
// purge keys of every zone, deduplicates them, folds keys into a pending
// broader key (purge_everything, host, prefix) that covers them, cuts them
// into chunks no larger than Cloudflare's per-request maximum, and decides
// which message handles may be acked or must be dead-lettered once the
// chunks' calls have been answered.
//
// The package is pure: it does no I/O, starts no goroutines, reads no clock
// and takes no locks. Every method that depends on time takes it as a
// parameter, so the worker (and the tests) decide what "now" is. A [Batcher]
// is not safe for concurrent use; the worker serialises every call with its
// own mutex.
//
// Which key covers which is intent.Covers's decision; the batcher only
// indexes keys so that finding coverers is a few map lookups per key.
//
// The engine keeps, per zone and mode, one index of pending keys. A pending
// key is either a root, which will be handed out in a chunk of its own kind,
// or a key held under a root that covers it and rides along with it. Keys
// handed out in a chunk leave the index. Every chunk carries a horizon, a
// stream sequence the stream had stored when the chunk was handed out: the
// call serves every message stored at or below it, also messages that arrive
// while it is in flight or after it succeeded (see Stored and Add). When a
// group is due is decided in one place, dueAt; the order keys leave a group
// in is decided in one place, earlier.
package batcher
