package worker

import (
	"context"
	"math"
	"strings"
	"testing"
	"testing/synctest"
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

// A zone configured with its id in upper or mixed case is served: Config
// is built directly by callers other than the daemon, and intent.NewZones
// lowercases the ids every Part carries, so the worker's own tables must
// be keyed the same way or no sender ever takes the zone's keys.
func TestUpperCaseZoneIDIsServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePurger{}
		w, err := New(nil, Config{
			Stream: "PURGE", Consumer: "c", DLQStream: "PURGE_DLQ",
			AckWait: 30 * time.Second, MaxAckPending: 1000, MaxDeliver: -1,
			Window:   100 * time.Millisecond,
			Accounts: []Account{{Name: "acct", Limits: planLimits(t, "pro"), Purger: p}},
			Zones:    []Zone{{ID: "023E105F4ECEF8AD9CA31A8372D0C353", Name: "example.com", Account: "acct"}},
		})
		if err != nil {
			t.Fatalf("New refused an upper-case zone id: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.runSender(ctx, w.accounts[0]) }()
		defer func() { cancel(); <-done; w.calls.Wait() }()

		parts, err := urls("example.com", "/a").Bind(w.zones)
		if err != nil {
			t.Fatal(err)
		}
		m := &fakeMsg{subject: "purge.test"}
		w.add(m, 1, time.Now(), parts)
		w.wakeAll()
		time.Sleep(time.Minute)
		synctest.Wait()
		if acks, _, _ := m.settled(); acks != 1 {
			t.Errorf("intent for a zone configured with an upper-case id: %d calls, acks=%d, held=%d; want it purged and acked",
				len(p.snapshot()), acks, w.heldCount())
		}
	})
}
