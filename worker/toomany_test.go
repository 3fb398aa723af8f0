package worker

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/purge-worker/purge-worker/cfclient"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// An account that accepts fewer keys per call than its plan says: a refusal
// that states the maximum costs one refused call, whatever the number of
// chunks waiting, and the rest go in chunks of that size; one that states
// none halves until a size is accepted. Either way the operator is told
// once, with the setting that avoids it.
func TestTooManyKeysLearnsTheMaximum(t *testing.T) {
	for _, tt := range []struct {
		name              string
		message           string
		refused, accepted int
	}{
		{"stated", "Exceeded maximum amount of 30 files per request", 1, 27}, // ceil(800/30)
		{"halved", "Too many files in request", 2, 32},                       // 100, 50 refused; chunks of 25
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := newUnit(t, planLimits(t, "pro"), 100*time.Millisecond)
				defer u.stop()
				var logs testutil.SyncBuffer
				u.w.log = slog.New(slog.NewTextHandler(&logs, nil))
				const accountMax = 30
				u.p.respond = func(_ int, req cfclient.Request) error {
					if len(req.Files) > accountMax {
						return &cfclient.Error{Kind: cfclient.KindTooManyKeys, Status: 400,
							Codes:   []cfclient.Code{{Code: 1094, Message: tt.message}},
							MaxKeys: statedIn(tt.message)}
					}
					return nil
				}
				var msgs []*fakeMsg
				for i := range 8 {
					msgs = append(msgs, u.addQuiet(urls("example.com", numbered(fmt.Sprintf("/s/%d/", i), 100)...)))
				}
				u.w.wakeAll()
				time.Sleep(time.Minute)
				synctest.Wait()
				for i, m := range msgs {
					if acks, _, _ := m.settled(); acks != 1 {
						t.Fatalf("intent %d not acked", i)
					}
				}
				refused, accepted := 0, 0
				for _, c := range u.p.snapshot() {
					if len(c.req.Files) > accountMax {
						refused++
					} else {
						accepted++
					}
				}
				if refused != tt.refused || accepted != tt.accepted {
					t.Errorf("%d refused and %d accepted calls, want %d and %d", refused, accepted, tt.refused, tt.accepted)
				}
				out := logs.String()
				if n := strings.Count(out, "per_request_maximum_lowered"); n != tt.refused {
					t.Errorf("logged %d times, want once per new maximum (%d):\n%s", n, tt.refused, out)
				}
				if !strings.Contains(out, "max_urls_per_request: ") {
					t.Errorf("log does not name the setting that avoids it:\n%s", out)
				}
			})
		})
	}
}

// statedIn is what cfclient parses from a refusal (tested there).
func statedIn(msg string) int {
	var n int
	if i := strings.Index(msg, "amount of "); i >= 0 {
		fmt.Sscanf(msg[i+len("amount of "):], "%d", &n)
	}
	return n
}
