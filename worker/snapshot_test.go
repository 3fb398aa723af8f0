package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"

	"github.com/purge-worker/purge-worker/internal/testutil"
)

func TestCallLogKeepsTheNewestFifty(t *testing.T) {
	var l callLog
	if got := l.list(); len(got) != 0 {
		t.Fatalf("empty log lists %d calls", len(got))
	}
	for i := range 73 {
		l.add(CallRecord{Keys: i})
	}
	got := l.list()
	if len(got) != recentCalls {
		t.Fatalf("listed %d calls, want %d", len(got), recentCalls)
	}
	for i, c := range got {
		if want := 72 - i; c.Keys != want {
			t.Fatalf("call %d has Keys %d, want %d (newest first)", i, c.Keys, want)
		}
	}
}

// A snapshot shows the keys waiting per zone and mode, the calls made, the
// accounts' buckets and pauses, and the dead-letter stream.
func TestSnapshotShowsPendingCallsPausesAndDeadLetters(t *testing.T) {
	h := newHarness(t)
	h.cfg.Window = time.Hour // keys stay pending until the test looks
	w := h.start()

	h.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/a"}, {URL: "https://www.example.com/b"}}})
	h.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/a"}}})
	h.publish(&intent.Intent{Zone: "example.org", Mode: "invalidate", Tags: []string{"t1"}})
	h.publishRaw("purge.example_com", []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`))

	var s Snapshot
	testutil.Eventually(h.t, 10*time.Second, "three messages held and one dead letter", func() bool {
		s = w.Snapshot(context.Background())
		return s.HeldMessages == 3 && s.DeadLetters.Depth == 1
	})
	if s.Role != "active" || !s.Consuming {
		t.Errorf("role %q consuming %v, want active and consuming", s.Role, s.Consuming)
	}
	if len(s.Pending) != 2 {
		t.Fatalf("pending = %+v, want example.com purge and example.org invalidate", s.Pending)
	}
	com, org := s.Pending[0], s.Pending[1]
	if com.Zone != "example.com" || com.Mode != "purge" || com.Keys != 2 {
		t.Errorf("first pending = %+v, want example.com purge with 2 keys", com)
	}
	if org.Zone != "example.org" || org.Mode != "invalidate" || org.Keys != 1 {
		t.Errorf("second pending = %+v, want example.org invalidate with 1 key", org)
	}
	if com.NextCallIn < 50*time.Minute || com.OldestAge < 0 || com.OldestAge > com.NextCallIn {
		t.Errorf("example.com next call in %v, oldest %v: want about the hour's window", com.NextCallIn, com.OldestAge)
	}
	if dl := s.DeadLetters.Recent; len(dl) != 1 || !strings.Contains(dl[0].Reason, "ftp://www.example.com/x") || dl[0].Subject != "purge.example_com" {
		t.Errorf("dead letters = %+v, want the ftp URL's reason", dl)
	}
	if len(s.Accounts) != 1 || s.Accounts[0].Name != "acct" || s.Accounts[0].Flex.Burst != 25 || s.Accounts[0].Pause != "" {
		t.Errorf("accounts = %+v, want acct unpaused with a flex burst of 25", s.Accounts)
	}
	if len(s.Calls) != 0 {
		t.Errorf("calls before any was due: %+v", s.Calls)
	}

	// The shutdown flush sends both groups; a refused token pauses the
	// account first.
	h.acct.SetToken("")
	h.publish(&intent.Intent{Zone: "example.net", Tags: []string{"t2"}})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	s = w.Snapshot(context.Background())
	if len(s.Calls) == 0 {
		t.Fatal("no call recorded after the shutdown flush")
	}
	for _, c := range s.Calls {
		if c.Outcome != "auth" || c.Account != "acct" || c.At.IsZero() || c.Took <= 0 {
			t.Errorf("call %+v, want a timed call refused for auth", c)
		}
	}
	// Which call was refused first depends on the order the sender took
	// the chunks; the others were released without a call.
	if a := s.Accounts[0]; a.Pause != "auth" || a.PausedFor <= 0 || a.Flex.Tokens >= 25 && a.URLs.Tokens >= 800 {
		t.Errorf("account after the refusal = %+v, want paused for auth, a token spent", a)
	}
}
