package cfclient

import (
	"strings"
	"testing"
	"time"
)

func TestPlanLimits(t *testing.T) {
	tests := []struct {
		plan       string
		urls, keys int
		flex       float64
		burst      int
		urlRate    float64
		refill     time.Duration
	}{
		{"free", 100, 100, 5.0 / 60, 25, 800, 12 * time.Second},
		{"pro", 100, 100, 5, 25, 1500, 200 * time.Millisecond},
		{"business", 100, 100, 10, 50, 1500, 100 * time.Millisecond},
		{"enterprise", 500, 100, 50, 500, 3000, 20 * time.Millisecond},
	}
	if len(tests) != len(Plans) {
		t.Fatalf("Plans = %v, test covers %d plans", Plans, len(tests))
	}
	for i, tt := range tests {
		if Plans[i] != tt.plan {
			t.Errorf("Plans[%d] = %q, want %q", i, Plans[i], tt.plan)
		}
		l, ok := PlanLimits(tt.plan)
		if !ok {
			t.Fatalf("PlanLimits(%q) not found", tt.plan)
		}
		want := Limits{tt.urls, tt.keys, tt.flex, tt.burst, tt.urlRate}
		if l != want {
			t.Errorf("PlanLimits(%q) = %+v, want %+v", tt.plan, l, want)
		}
		if got := l.FlexRefill(); got != tt.refill {
			t.Errorf("%s: FlexRefill = %v, want %v", tt.plan, got, tt.refill)
		}
		if l.MaxPerRequest(true) != tt.urls || l.MaxPerRequest(false) != tt.keys {
			t.Errorf("%s: MaxPerRequest = %d/%d, want %d/%d", tt.plan, l.MaxPerRequest(true), l.MaxPerRequest(false), tt.urls, tt.keys)
		}
		if err := l.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.plan, err)
		}
	}
}

func TestPlanLimitsUnknown(t *testing.T) {
	for _, p := range []string{"", "Free", "team", "enterprise "} {
		if _, ok := PlanLimits(p); ok {
			t.Errorf("PlanLimits(%q) found, want unknown", p)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if got := (Limits{}).FlexRefill(); got != 0 {
		t.Errorf("zero FlexRefill = %v, want 0", got)
	}
	err := Limits{MaxURLsPerRequest: 0, MaxKeysPerRequest: -1, FlexPerSecond: 0, FlexBurst: 0, URLsPerSecond: -3}.Validate()
	if err == nil {
		t.Fatal("Validate of zero limits: no error")
	}
	for _, field := range []string{"max_urls_per_request", "max_keys_per_request", "flex_per_second", "flex_burst", "urls_per_second"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate error %q does not name %s", err, field)
		}
	}
}
