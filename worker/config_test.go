package worker

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
)

// New refuses an account whose limits are not usable numbers: NaN compares
// false with everything, so a check written as "<= 0" lets it through and
// the rate limiter then never refills.
func TestNewRefusesLimitsThatAreNotPositiveNumbers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*cfclient.Limits)
		field string
	}{
		{"NaN flex rate", func(l *cfclient.Limits) { l.FlexPerSecond = math.NaN() }, "flex_per_second"},
		{"NaN URL rate", func(l *cfclient.Limits) { l.URLsPerSecond = math.NaN() }, "urls_per_second"},
		{"infinite flex rate", func(l *cfclient.Limits) { l.FlexPerSecond = math.Inf(1) }, "flex_per_second"},
		{"zero burst", func(l *cfclient.Limits) { l.FlexBurst = 0 }, "flex_burst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := planLimits(t, "pro")
			tc.edit(&l)
			_, err := New(nil, Config{
				Stream: "PURGE", Consumer: "c", DLQStream: "PURGE_DLQ",
				AckWait: 30 * time.Second, Window: time.Second,
				Accounts: []Account{{Name: "acct", Limits: l, Purger: &fakePurger{}}},
				Zones:    testZones,
			})
			if err == nil {
				t.Fatalf("New accepted limits %+v", l)
			}
			if msg := err.Error(); !strings.Contains(msg, `account "acct"`) || !strings.Contains(msg, tc.field) {
				t.Errorf("error %q does not name the account and %s", msg, tc.field)
			}
		})
	}
}
