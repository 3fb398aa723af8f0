// Package intent owns the wire format of purge-worker: the JSON intent a
// publisher puts on a "purge.>" subject, its decoding and validation, the
// normalisation of URLs, tags, hosts and prefixes into purge [Key] values,
// the routing of keys to configured zones, the coverage rules the batcher
// coalesces by, and a helper to publish intents to JetStream. It is the one
// place where these rules live: the worker, the HTTP ingest and purgectl
// all go through it, so a key means the same thing everywhere.
//
// # The intent
//
//	{
//	  "zone": "example.com",
//	  "files": ["https://www.example.com/a.css",
//	            {"url": "https://www.example.com/b.jpg", "headers": {"CF-Device-Type": "mobile"}}],
//	  "tags": ["post-42"],
//	  "hosts": ["images.example.com"],
//	  "prefixes": ["www.example.com/blog"],
//	  "purge_everything": false,
//	  "mode": "purge",
//	  "id": "cms-7f3a", "source": "wordpress"
//	}
//
// [Decode] is deliberately strict, because a lenient decoder turns
// publisher mistakes into silent wrong purges:
//   - unknown fields are refused, so a typo such as "mdoe" or "file" is an
//     error instead of being ignored, and field names are matched exactly
//     (encoding/json would accept "Zone");
//   - a field given twice is refused (encoding/json keeps the last one);
//   - invalid UTF-8, trailing data after the object, wrong types, and
//     bodies over [MaxBodySize] are refused;
//   - more than [MaxItems] items are refused, and decoding stops at the
//     first item over the limit; publishers split bigger purges;
//   - null at the top level means "absent", because encoders commonly
//     write null for empty lists; null inside a list is refused.
//
// # Normalisation
//
// Each item becomes a [Key] whose equality is purge equality. URLs keep
// their scheme (http and https are different keys at Cloudflare), get a
// lowercase scheme and host, lose a default port, the fragment and a
// trailing dot on the host, get "/" for an empty path, and keep path and
// query byte for byte. Tags and hosts are lowercased. Prefixes lose an
// http:// or https:// scheme. Non-ASCII hostnames are refused with a hint
// to use punycode, and spaces, control and non-ASCII bytes in a path are
// refused with a hint to percent-encode them, rather than guessed at. See
// [NormalizeURL], [NormalizeTag], [NormalizeHost], [NormalizePrefix] and
// [NormalizeHeaders].
//
// # Errors
//
// Every error about an intent wraps [ErrInvalid] and is a *[FieldError]
// naming the field and the offending value, such as
//
//	files[2]: "ftp://x/y": scheme must be http or https
//
// with the value truncated and quoted so it is safe in a log line or the
// Purge-Error header of a dead-lettered message.
package intent
