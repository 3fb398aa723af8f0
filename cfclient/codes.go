package cfclient

import (
	"regexp"
	"slices"
)

// Error codes Cloudflare returns in errors[] for the purge endpoints. The
// "legacy" ones come from the old api.cloudflare.com code table and may no
// longer be emitted, but an old account or edge may still send them, so
// classification keeps them. Source: Cloudflare's API error code tables.
const (
	// CodeGlobalRateLimited: the per-token 1200 requests / 5 minutes API
	// limit ("Please wait and consider throttling your request speed").
	CodeGlobalRateLimited = 971
	// CodeMissingSelector: "Request must contain one of "purge_everything",
	// "files", "tags", "hosts" or "prefixes"".
	CodeMissingSelector = 1012
	// CodeEverythingNotTrue: "'purge_everything' must be true" (legacy).
	CodeEverythingNotTrue = 1013
	// CodeNotArray: ""files", "tags", or "hosts" must be an array".
	CodeNotArray = 1014
	// CodeUnableToPurge: "Unable to purge <url>" (legacy).
	CodeUnableToPurge = 1015
	// CodeOutOfZone: "Unable to purge '<url>'. You can only purge files for
	// this zone" (legacy).
	CodeOutOfZone = 1082
	// CodeEverythingMixed: "Request cannot contain "purge_everything" and
	// any of "files", "tags", "hosts" or "prefixes"" (current).
	CodeEverythingMixed = 1092
	// CodeTooManyFiles: "Exceeded maximum amount of 500 files that can be
	// purged on a single request" (legacy).
	CodeTooManyFiles = 1094
	// CodeNoZoneAccess: "Sorry, you do not have access to purge cache for
	// that zone id or that zone id is invalid" (legacy).
	CodeNoZoneAccess = 1095
	// CodeTagTooLong: "Tag exceeds maximum length of 1024 characters"
	// (legacy code; the limit is still documented).
	CodeTagTooLong = 1100
	// CodeTooManyTags: "Exceeded maximum amount of 30 tags ..." (legacy).
	CodeTooManyTags = 1101
	// CodeTooManyHosts: "Exceeded maximum amount of 30 hosts ..." (legacy).
	CodeTooManyHosts = 1111
	// CodeHostTooLong: "Host exceeds maximum length of 200 characters"
	// (legacy).
	CodeHostTooLong = 1114
	// CodeInvalidHost: "Invalid host" (legacy).
	CodeInvalidHost = 1115
	// CodeRateLimited: "Unable to purge, rate limit reached. Please wait and
	// consider throttling your request speed" (current, HTTP 429).
	CodeRateLimited = 1134
	// CodeInvalidHeaders: "Invalid request headers", with an error_chain
	// such as 6111 "Invalid format for Authorization header" or 6103
	// "Invalid format for X-Auth-Key header" (HTTP 400).
	CodeInvalidHeaders = 6003
	// CodeMalformedJSON: "Malformed JSON in request body".
	CodeMalformedJSON = 6007
	// CodeNoRoute: "No route for that URI".
	CodeNoRoute = 7000
	// CodeMethodNotAllowed: "Method not allowed for this endpoint".
	CodeMethodNotAllowed = 7001
	// CodeCouldNotRoute: "Could not route to /zones/<id>/purge_cache,
	// perhaps your object identifier is invalid?" (bad zone id, HTTP 400).
	CodeCouldNotRoute = 7003
	// CodeInvalidToken: "Invalid access token".
	CodeInvalidToken = 9109
	// CodeAuthentication: "Authentication error" (bad or under-scoped
	// credentials, usually HTTP 403).
	CodeAuthentication = 10000
	// CodeAuthenticationAlt: a second authentication failure code some
	// Cloudflare APIs return ("Unable to authenticate request").
	CodeAuthenticationAlt = 10001
)

// rateLimitCodes are answered by waiting: the purge bucket (1134), the
// global API budget (971) and the legacy per-type purge limiters.
var rateLimitCodes = []int{CodeRateLimited, CodeGlobalRateLimited, 1083, 1102, 1113}

// authCodes mean the credentials are wrong, malformed or lack access: no
// change to the body can fix them.
var authCodes = []int{CodeAuthentication, CodeAuthenticationAlt, CodeInvalidToken,
	CodeInvalidHeaders, 6100, 6101, 6102, 6103, 6111, CodeNoZoneAccess}

// tooManyCodes are the "too many keys in one request" codes (legacy; the
// current code is undocumented, hence also tooManyMessage).
var tooManyCodes = []int{CodeTooManyFiles, CodeTooManyTags, CodeTooManyHosts}

// tooManyMessage matches the wording of "too many keys" errors: the legacy
// "Exceeded maximum amount of 30 tags ...", the "you cannot provide more
// than 100 items" reported in cloudflare-docs#21338, and generic phrasings.
// It deliberately does not match "exceeds maximum length" (one key too
// long, which halving cannot fix).
var tooManyMessage = regexp.MustCompile(`(?i)too many|exceed(?:ed|s)? (?:the )?maximum (?:amount|number) of|maximum of \d+ (?:items|urls|files|tags|hosts|prefixes|keys)|more than \d+ (?:items|urls|files|tags|hosts|prefixes|keys)`)

// clientCodes are codes that blame the request body: a 200 with
// success:false and one of these is a client error, not a server fault.
var clientCodes = []int{CodeMissingSelector, CodeEverythingNotTrue, CodeNotArray, CodeUnableToPurge,
	1084, CodeOutOfZone, CodeEverythingMixed, CodeTagTooLong, CodeHostTooLong, CodeInvalidHost,
	CodeMalformedJSON, CodeNoRoute, CodeMethodNotAllowed, CodeCouldNotRoute, 1136, 9207}

func hasAny(codes []Code, set []int) bool {
	for _, c := range codes {
		if slices.Contains(set, c.Code) {
			return true
		}
	}
	return false
}

func tooMany(codes []Code) bool {
	if hasAny(codes, tooManyCodes) {
		return true
	}
	for _, c := range codes {
		if tooManyMessage.MatchString(c.Message) {
			return true
		}
	}
	return false
}
