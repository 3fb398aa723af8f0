package cftest

// The error codes the fake answers with, written out here from Cloudflare's
// documentation and observed answers rather than taken from cfclient, so
// that a wrong constant in the client is not mirrored by the fake it is
// tested against. cfclient's tests compare the two tables.
const (
	codeMissingSelector   = 1012  // no purge_everything, files, tags, hosts or prefixes
	codeEverythingNotTrue = 1013  // "'purge_everything' must be true"
	codeNotArray          = 1014  // "files", "tags" or "hosts" not an array
	codeUnableToPurge     = 1015  // "Unable to purge <url>"
	codeOutOfZone         = 1082  // "You can only purge files for this zone"
	codeEverythingMixed   = 1092  // purge_everything with another selector
	codeTooManyFiles      = 1094  // "Exceeded maximum amount of ... files"
	codeTagTooLong        = 1100  // "Tag exceeds maximum length of 1024 characters"
	codeTooManyTags       = 1101  // "Exceeded maximum amount of ... tags"
	codeTooManyHosts      = 1111  // "Exceeded maximum amount of ... hosts"
	codeHostTooLong       = 1114  // "Host exceeds maximum length of 200 characters"
	codeInvalidHost       = 1115  // "Invalid host"
	codeRateLimited       = 1134  // "Unable to purge, rate limit reached" (HTTP 429)
	codeInvalidHeaders    = 6003  // "Invalid request headers" (malformed credentials)
	codeMalformedJSON     = 6007  // "Malformed JSON in request body"
	codeNoRoute           = 7000  // "No route for that URI"
	codeMethodNotAllowed  = 7001  // "Method not allowed for this endpoint"
	codeCouldNotRoute     = 7003  // "Could not route to /zones/<id>/purge_cache"
	codeAuthentication    = 10000 // "Authentication error" (HTTP 403)
)
