// Package status owns the wire format of tracked intents: the record the
// worker keeps for an intent published with the Purge-Track header, the KV
// bucket it lives in, how an intent id becomes a KV key, and the waiting
// that purgectl and the HTTP API do on those records.
//
// A record is written under the intent's Nats-Msg-Id in bucket [Bucket]:
// [Pending] when the worker received the intent, then [Purged] with the
// Cloudflare calls that covered its keys, or [DeadLettered] with the reason.
// Records expire with the bucket's TTL (nats.status_ttl, 24h by default).
//
// # Keys
//
// A KV key may hold only letters, digits and "-/_=." (with rules about
// dots); an intent id may hold any printable ASCII. [Key] keeps an id made
// only of letters, digits, '-' and '_' (random ids, UUIDs, most delivery
// ids) as it is, so it can be read in `nats kv get`; any other id becomes
// "=" followed by its unpadded base64url encoding (RFC 4648 §5). '=' never
// occurs in a kept id, so the two forms cannot collide, and [ID] reverses
// either.
//
// This package is public so that anything publishing tracked intents can
// read their outcome the way purgectl does.
package status
