package cfclient

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits are the purge limits of one Cloudflare account. Cloudflare applies
// them per account (all zones of the account share them), to purge_cache
// and invalidate_cache alike.
type Limits struct {
	// MaxURLsPerRequest is the most files entries one request may carry.
	MaxURLsPerRequest int
	// MaxKeysPerRequest is the most tags, hosts or prefixes one request may
	// carry (counted per type).
	MaxKeysPerRequest int
	// FlexPerSecond is the refill rate of the flex request bucket, in
	// requests per second. A tags, hosts, prefixes or purge_everything call
	// costs one token, however many keys it carries.
	FlexPerSecond float64
	// FlexBurst is the capacity of the flex request bucket.
	FlexBurst int
	// URLsPerSecond is the single-file purge rate, counted per URL.
	URLsPerSecond float64
}

// Plans lists the plan names [PlanLimits] knows, cheapest first.
var Plans = []string{"free", "pro", "business", "enterprise"}

// PlanLimits returns the documented limits of a Cloudflare plan ("free",
// "pro", "business" or "enterprise"; see the "Availability and limits"
// table of Cloudflare's purge-cache docs, Sep 2026). It reports false for
// an unknown plan name.
func PlanLimits(plan string) (Limits, bool) {
	switch plan {
	case "free":
		return Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 5.0 / 60, FlexBurst: 25, URLsPerSecond: 800}, true
	case "pro":
		return Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 5, FlexBurst: 25, URLsPerSecond: 1500}, true
	case "business":
		return Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 10, FlexBurst: 50, URLsPerSecond: 1500}, true
	case "enterprise":
		return Limits{MaxURLsPerRequest: 500, MaxKeysPerRequest: 100, FlexPerSecond: 50, FlexBurst: 500, URLsPerSecond: 3000}, true
	}
	return Limits{}, false
}

// MaxPerRequest returns the per-request maximum for files (files true) or
// for any one of tags, hosts and prefixes (files false).
func (l Limits) MaxPerRequest(files bool) int {
	if files {
		return l.MaxURLsPerRequest
	}
	return l.MaxKeysPerRequest
}

// FlexRefill returns the time the flex bucket takes to refill one token
// (12s on the free plan). It is the wait to use after a 429 that carried no
// hint. It returns 0 if FlexPerSecond is not positive.
func (l Limits) FlexRefill() time.Duration {
	if !(l.FlexPerSecond > 0) {
		return 0
	}
	return time.Duration(math.Round(float64(time.Second) / l.FlexPerSecond))
}

// Validate reports every field that is not positive, naming it and its
// value.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxURLsPerRequest < 1 {
		errs = append(errs, fmt.Errorf("max_urls_per_request must be at least 1, got %d", l.MaxURLsPerRequest))
	}
	if l.MaxKeysPerRequest < 1 {
		errs = append(errs, fmt.Errorf("max_keys_per_request must be at least 1, got %d", l.MaxKeysPerRequest))
	}
	if !(l.FlexPerSecond > 0) || math.IsInf(l.FlexPerSecond, 0) {
		errs = append(errs, fmt.Errorf("flex_per_second must be a positive number, got %v", l.FlexPerSecond))
	}
	if l.FlexBurst < 1 {
		errs = append(errs, fmt.Errorf("flex_burst must be at least 1, got %d", l.FlexBurst))
	}
	if !(l.URLsPerSecond > 0) || math.IsInf(l.URLsPerSecond, 0) {
		errs = append(errs, fmt.Errorf("urls_per_second must be a positive number, got %v", l.URLsPerSecond))
	}
	return errors.Join(errs...)
}
