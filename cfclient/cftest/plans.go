package cftest

import "github.com/purge-worker/purge-worker/cfclient"

// Plans lists the plan names the fake knows, cheapest first.
var Plans = []string{"free", "pro", "business", "enterprise"}

// PlanLimits returns the limits the fake enforces for a plan, written out
// here from the "Availability and limits" table of Cloudflare's purge-cache
// documentation rather than taken from cfclient.PlanLimits, so that a wrong
// figure in the client is not mirrored by the fake it is tested against;
// cfclient's tests compare the two tables. It reports false for an unknown
// plan.
func PlanLimits(plan string) (cfclient.Limits, bool) {
	switch plan {
	case "free":
		// 5 flex requests a minute, bucket of 25; 800 URLs a second.
		return cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 5.0 / 60, FlexBurst: 25, URLsPerSecond: 800}, true
	case "pro":
		return cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 5, FlexBurst: 25, URLsPerSecond: 1500}, true
	case "business":
		return cfclient.Limits{MaxURLsPerRequest: 100, MaxKeysPerRequest: 100, FlexPerSecond: 10, FlexBurst: 50, URLsPerSecond: 1500}, true
	case "enterprise":
		return cfclient.Limits{MaxURLsPerRequest: 500, MaxKeysPerRequest: 100, FlexPerSecond: 50, FlexBurst: 500, URLsPerSecond: 3000}, true
	}
	return cfclient.Limits{}, false
}
