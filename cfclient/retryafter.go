package cfclient

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a server-given wait. A larger value is almost
// certainly garbage (or a date far off because of clock skew); capping also
// keeps the arithmetic from overflowing. The worker still waits this long.
const maxRetryAfter = time.Hour

// parseRetryAfter returns the wait a rate-limited response asks for, or 0
// if it gives none. In order:
//
//   - Retry-After as delta-seconds ("12"), or as an HTTP-date, taken
//     relative to now (the caller passes the response's Date header when
//     it has one, so that clock skew cancels out);
//   - the IETF Ratelimit header, draft 8+ form `"default";r=0;t=7` (the t
//     of an item whose r is 0 or absent; the largest if several), or the
//     older `limit=10, remaining=0, reset=7` form (its reset, unless
//     remaining is non-zero).
//
// Results are capped at one hour. Unparseable values are ignored.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if d, ok := retryAfterHeader(h.Get("Retry-After"), now); ok {
		return d
	}
	return ratelimitHeader(h.Values("Ratelimit"))
}

func retryAfterHeader(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := seconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d <= 0 {
		// A date in the past means "now"; report no wait, and let the
		// caller fall back to its own minimum.
		return 0, true
	}
	return min(d, maxRetryAfter), true
}

// seconds parses a non-negative integer number of seconds, capped at
// maxRetryAfter.
func seconds(v string) (time.Duration, bool) {
	if !allDigits(v) {
		return 0, false
	}
	v = strings.TrimLeft(v, "0")
	// Checking the length first keeps ParseInt from overflowing.
	if len(v) > 10 {
		return maxRetryAfter, true
	}
	n, _ := strconv.ParseInt("0"+v, 10, 64)
	if n >= int64(maxRetryAfter/time.Second) {
		return maxRetryAfter, true
	}
	return time.Duration(n) * time.Second, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func ratelimitHeader(values []string) time.Duration {
	var best time.Duration
	for _, v := range values {
		var d time.Duration
		if strings.Contains(strings.ToLower(v), "reset=") {
			d = ratelimitReset(v)
		} else {
			d = ratelimitItems(v)
		}
		best = max(best, d)
	}
	return best
}

// ratelimitItems handles `"name";r=0;t=7, "other";r=5;t=30`: only
// exhausted items (r=0, or r absent) say how long to wait. A 429 can carry
// the global API budget's item with r>0; its reset time is unrelated to the
// purge bucket that refused us.
func ratelimitItems(v string) time.Duration {
	var best time.Duration
	for _, item := range strings.Split(v, ",") {
		p := params(strings.Split(item, ";"))
		if r, ok := p["r"]; ok && r != "0" {
			continue
		}
		if d, ok := seconds(p["t"]); ok {
			best = max(best, d)
		}
	}
	return best
}

// ratelimitReset handles the draft-03 `limit=10, remaining=0, reset=7`.
func ratelimitReset(v string) time.Duration {
	p := params(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }))
	if r, ok := p["remaining"]; ok && r != "0" {
		return 0
	}
	d, _ := seconds(p["reset"])
	return d
}

// params turns `k=v` parts into a map with lowercased keys; parts without
// '=' (such as the item name) are skipped.
func params(parts []string) map[string]string {
	m := make(map[string]string, len(parts))
	for _, part := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		m[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return m
}
