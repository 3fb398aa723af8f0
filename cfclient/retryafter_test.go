package cfclient

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 8, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"12"}}, 12 * time.Second},
		{"seconds padded", http.Header{"Retry-After": {" 7 "}}, 7 * time.Second},
		{"zero seconds", http.Header{"Retry-After": {"0"}}, 0},
		{"leading zeros", http.Header{"Retry-After": {"0000000000000000000000005"}}, 5 * time.Second},
		{"huge seconds capped", http.Header{"Retry-After": {"99999999999999999999999"}}, time.Hour},
		{"just under cap", http.Header{"Retry-After": {"3599"}}, 3599 * time.Second},
		{"http date", http.Header{"Retry-After": {date(90 * time.Second)}}, 90 * time.Second},
		{"http date far", http.Header{"Retry-After": {date(48 * time.Hour)}}, time.Hour},
		{"http date past", http.Header{"Retry-After": {date(-time.Minute)}, "Ratelimit": {`"default";r=0;t=9`}}, 0},
		{"negative ignored", http.Header{"Retry-After": {"-5"}}, 0},
		{"decimal ignored", http.Header{"Retry-After": {"1.5"}}, 0},
		{"garbage falls back", http.Header{"Retry-After": {"soon"}, "Ratelimit": {`"default";r=0;t=7`}}, 7 * time.Second},
		{"retry-after wins", http.Header{"Retry-After": {"3"}, "Ratelimit": {`"default";r=0;t=7`}}, 3 * time.Second},
		{"ratelimit t", http.Header{"Ratelimit": {`"default";r=0;t=7`}}, 7 * time.Second},
		{"ratelimit t no r", http.Header{"Ratelimit": {`"purge";t=4`}}, 4 * time.Second},
		{"ratelimit r>0 ignored", http.Header{"Ratelimit": {`"default";r=50;t=30`}}, 0},
		{"ratelimit items", http.Header{"Ratelimit": {`"global";r=50;t=30, "purge";r=0;t=12`}}, 12 * time.Second},
		{"ratelimit max of exhausted", http.Header{"Ratelimit": {`"a";r=0;t=3`, `"b";r=0;t=5`}}, 5 * time.Second},
		{"ratelimit spaces", http.Header{"Ratelimit": {`"default"; r=0; t=8`}}, 8 * time.Second},
		{"ratelimit reset form", http.Header{"Ratelimit": {"limit=10, remaining=0, reset=6"}}, 6 * time.Second},
		{"ratelimit reset no remaining", http.Header{"Ratelimit": {"reset=6"}}, 6 * time.Second},
		{"ratelimit reset remaining>0", http.Header{"Ratelimit": {"limit=10, remaining=3, reset=6"}}, 0},
		{"ratelimit bad t", http.Header{"Ratelimit": {`"default";r=0;t=abc`}}, 0},
		{"ratelimit huge", http.Header{"Ratelimit": {`"default";r=0;t=999999999999`}}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("parseRetryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
