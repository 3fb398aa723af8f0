package batcher

import (
	"slices"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/intent"
)

func TestSpacesReportsEachZoneAndMode(t *testing.T) {
	b := newBatcher(3)
	if s := b.Spaces(Filter{}); len(s) != 0 {
		t.Fatalf("Spaces of an empty batcher = %+v", s)
	}
	mustAdd(t, b, 1, t0, part(zoneA, tag("t"), file("https://h.com/a")))
	mustAdd(t, b, 2, t0.Add(100*time.Millisecond), part(zoneA, file("https://h.com/a"), file("https://h.com/b")))
	// Held under the host, still pending.
	mustAdd(t, b, 3, t0.Add(200*time.Millisecond), inval(zoneB, host("h.com"), file("https://h.com/c")))
	// Full: due at its window like the rest, at once for a capped worker.
	mustAdd(t, b, 4, t0.Add(300*time.Millisecond), part(zoneB, file("https://h.com/1"), file("https://h.com/2"), file("https://h.com/3")))

	want := []SpaceStats{
		{ZoneID: zoneA, Mode: intent.ModePurge, PendingKeys: 3, Oldest: t0, Due: t0.Add(time.Second)},
		{ZoneID: zoneB, Mode: intent.ModeInvalidate, PendingKeys: 2, Oldest: t0.Add(200 * time.Millisecond), Due: t0.Add(1200 * time.Millisecond)},
		{ZoneID: zoneB, Mode: intent.ModePurge, PendingKeys: 3, Oldest: t0.Add(300 * time.Millisecond), Due: t0.Add(1300 * time.Millisecond)},
	}
	if got := b.Spaces(Filter{}); !slices.Equal(got, want) {
		t.Fatalf("Spaces =\n%+v\nwant\n%+v", got, want)
	}
	capped := Filter{Flex: true, Files: true, Capped: true}
	want[2].Due = t0.Add(300 * time.Millisecond)
	if got := b.Spaces(capped); !slices.Equal(got, want) {
		t.Fatalf("Spaces of a capped worker =\n%+v\nwant\n%+v", got, want)
	}

	// Keys in flight are no longer pending.
	mustNext(t, b, t0.Add(300*time.Millisecond), capped)
	got := b.Spaces(Filter{})
	if len(got) != 2 || got[0].ZoneID != zoneA || got[1].Mode != intent.ModeInvalidate {
		t.Errorf("Spaces after zone B's full chunk left = %+v, want zone A purge and zone B invalidate", got)
	}
}
