package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

// A storm of 5xx (half of all calls) with 429s mixed in, while intents keep
// arriving: every key is purged by a call issued after its intent was
// published, no message is redelivered while the worker holds it (ack_wait
// is short, so only the keep-alive prevents that), and no call is refused
// for exceeding the rate.
func TestStormOfServerErrorsAndRateLimits(t *testing.T) {
	h := newHarness(t, withPlan("pro"))
	h.cfg.AckWait = 2 * time.Second
	h.cf.FailRatio(0.5, 500)
	h.cf.FailNext(3, 429)
	h.start()

	var intents []*intent.Intent
	var published []time.Time
	for i := range 60 {
		z := testZones[i%len(testZones)]
		in := &intent.Intent{Zone: z.Name, ID: fmt.Sprintf("storm-%d", i), Files: []intent.File{
			{URL: fmt.Sprintf("https://www.%s/a/%d", z.Name, i%17)},
			{URL: fmt.Sprintf("https://www.%s/b/%d", z.Name, i)},
		}}
		if i%10 == 0 {
			in.Tags = []string{fmt.Sprintf("t%d", i)}
		}
		if i%20 == 5 {
			h.cf.FailNext(1, 429)
		}
		published = append(published, time.Now())
		h.publish(in)
		intents = append(intents, in)
		if i%15 == 14 {
			time.Sleep(150 * time.Millisecond) // spread arrivals over several windows
		}
	}
	h.waitDrained(120 * time.Second)
	h.cf.FailRatio(0, 500)

	h.coveredAfter(intents, published)
	if n := h.refusedForRate(); n != 0 {
		t.Errorf("%d calls refused for rate, want 0 (injected 429s are not counted)", n)
	}
	ci, err := h.consumerInfo()
	if err != nil {
		t.Fatal(err)
	}
	// NumRedelivered only counts redelivered messages not yet acked;
	// consumer deliveries beyond the stream sequences are the cumulative count.
	if n := ci.Delivered.Consumer - ci.Delivered.Stream; n != 0 {
		t.Errorf("%d messages redelivered while held, want 0", n)
	}
	if n := len(h.dlq()); n != 0 {
		t.Errorf("%d messages dead-lettered, want none", n)
	}
	injected := 0
	for _, c := range h.cf.Calls() {
		if c.Outcome == "injected" {
			injected++
		}
	}
	if injected == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	t.Logf("calls: %d accepted, %d injected faults", len(h.accepted()), injected)
}
