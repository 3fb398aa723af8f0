// Package cftest is a faithful in-process fake of Cloudflare's cache purge
// API, in the manner of net/http/httptest: [NewServer] starts it on
// 127.0.0.1, Server.URL is the base URL to give cfclient.New, and it
// records every call it receives ([Server.Calls], [Server.Accepted]). The
// project's tests run against it, so it refuses what Cloudflare refuses,
// with the status codes and error codes Cloudflare uses, and enforces the
// per-account token buckets. Its key checks are written independently of
// package intent, so that a bug there is not mirrored here.
//
// Typical use:
//
//	srv := cftest.NewServer(cftest.WithClock(clock.Now))
//	defer srv.Close()
//	acct := srv.AddAccount("default", "free", "token-1")
//	srv.AddZone("023e105f4ecef8ad9ca31a8372d0c353", "example.com", acct)
//	c := cfclient.New(srv.URL, cfclient.Auth{Token: "token-1"}, nil)
//
// # Modelled Cloudflare behaviour
//
// Sources: Cloudflare's purge API documentation; where the fake has to
// choose, the choice is marked. Checks run in this order, and the first
// refusal is the answer: path and zone-id syntax, method, credentials,
// zone (existence, then access), Content-Type, body shape, per-request
// maximum, each key, rate buckets.
//
//   - Endpoints POST /client/v4/zones/{id}/purge_cache and
//     /invalidate_cache, with the same bodies, limits and buckets. Other
//     paths: 404, code 7000. Other methods: 405, code 7001.
//   - Zone ids are 32 hex digits. A malformed id, or a well-formed one no
//     account has: 400 with codes 7003 ("Could not route to
//     /zones/{id}/purge_cache, perhaps your object identifier is
//     invalid?") and 7000, as Cloudflare answers a bad identifier. (Choice:
//     an unknown but well-formed id could also plausibly be a 403; a
//     malformed id is refused before credentials are looked at, an unknown
//     one after.)
//   - Auth: "Authorization: Bearer <token>", else X-Auth-Email +
//     X-Auth-Key (email case-insensitive). Missing or wrong credentials,
//     or valid credentials of another account than the zone's: 403, code
//     10000 "Authentication error". A malformed Authorization header, or
//     only one of the X-Auth pair: 400, code 6003 "Invalid request headers"
//     with error_chain 6111, 6102 or 6103. A body is never looked at for
//     a caller without access to the zone.
//   - Content-Type must be application/json: else 400, code 9207.
//   - Body: invalid JSON: 400, 6007 "Malformed JSON in request body".
//     Exactly one of files, tags, hosts, prefixes, purge_everything:
//     purge_everything with anything else is 400, code 1092 with the
//     documented message; other mixes, no selector, an empty list or an
//     unknown field are 400, code 1012; a selector that is not an array
//     is 1014; "purge_everything": false is 1013. files entries are URL
//     strings or {"url", "headers"} objects (mixing both is accepted).
//   - Per-request maxima of the zone's account (cfclient.Limits): more
//     files than MaxURLsPerRequest, or more tags/hosts/prefixes than
//     MaxKeysPerRequest, is 400 "Exceeded maximum amount of N files that
//     can be purged on a single request" with the legacy codes 1094
//     (files), 1101 (tags), 1111 (hosts); prefixes use 1122, a code made up
//     here (see below). cfclient classifies all four as KindTooManyKeys.
//     [Account.SetLimits] lowers them, e.g. to 30 URLs.
//   - Keys: URLs must be absolute UTF-8 http(s) URLs (else 1015 "Unable to
//     purge ..."), with a host equal to the zone name or a subdomain of it
//     (else 1082 "Unable to purge '<url>'. You can only purge files for
//     this zone"), and header names that are tokens. Tags: 1 to 1024
//     printable ASCII characters without spaces (else 1100). Hosts: at
//     most 200 characters (1114), a hostname (1115), inside the zone
//     (1082). Prefixes: no scheme, query or fragment, at most 31 '/'
//     (1015), a host inside the zone (1115, 1082). One bad key fails the
//     whole request, naming the key; there are no per-item results.
//   - Rate limits per account, shared by all its zones and by both
//     endpoints: a flex bucket (one token per tags, hosts, prefixes or
//     purge_everything call, capacity FlexBurst, refilled at
//     FlexPerSecond) and a URL bucket (one token per files entry, refilled
//     at URLsPerSecond, capacity one second's worth, but at least
//     MaxURLsPerRequest so that a legal request can pass). Empty: 429,
//     code 1134, with Retry-After in whole seconds, rounded up, at least
//     1. Buckets start full. A refused call takes no tokens: the buckets
//     are charged only after every other check passed.
//   - Success: 200 {"success":true,"errors":[],"messages":[],
//     "result":{"id":"<32 hex>"}}. Every answer carries a cf-ray header;
//     every failure has "success":false and "result":null.
//
// The server is safe for concurrent use. Calls are recorded in the order
// the server decided them (the order the buckets saw them), refusals
// included, with outcomes "ok", "rate_limited", "auth", "invalid",
// "too_many", "injected", "not_found", "reset" and "canceled".
//
// # Fault injection
//
// [Server.FailNext] and [Server.FailRatio] (deterministic with WithSeed)
// answer a status without looking at the call: 429 (code 1134,
// Retry-After: 1), 401/403 (10000), 5xx (empty errors list), others (1016).
// [Server.ResetNext] closes the connection without answering.
// [Server.SetLatency] delays answers; a client that gives up meanwhile
// leaves nothing done. None of them takes tokens.
//
// # Not modelled
//
//   - Whether anything was cached or evicted: success means "accepted", as
//     it does at Cloudflare. No Cache-Tag, no cache keys, no coverage
//     semantics (host/prefix covering URLs).
//   - The global 1200 requests / 5 minutes API limit (code 971), the
//     per-IP limit, and plan sharing inside an account (Cloudflare keys the
//     buckets by account and plan; here an account has one plan).
//   - The "moving average" of the URL limit: it is a token bucket here.
//   - Environment purges (/environments/{id}/purge_cache, code 1136).
//   - Token permissions and scopes: a token is valid for every zone of its
//     account. Malformed-token formats beyond the header shape (9109).
//   - Ratelimit / Ratelimit-Policy headers (undocumented for purge; only
//     Retry-After is sent).
//   - Mixed flex bodies (tags + hosts): refused here (1012), since the
//     current reference says "send one of these fields"; Cloudflare may
//     accept some. Cloudflare's current codes for "too many keys" are
//     undocumented: the fake sends the legacy codes, and the invented 1122
//     for prefixes, to exercise cfclient's message-based detection.
//   - Hosts and prefixes outside the zone: refused here (1082); Cloudflare
//     documents no check. Sending them is a bug in the caller either way.
//   - Request-size limits beyond a 16 MiB body cap (413), URL length
//     limits, idempotency, and 5xx error bodies (Cloudflare documents
//     none).
package cftest
