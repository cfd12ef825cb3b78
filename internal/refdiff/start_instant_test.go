package refdiff

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// Fixed schedules in which clients are paused, partitioned or shut down at
// the instant they start, or at the instant another client starts. The
// reference's constructor broadcasts its request before it returns, so the
// request goes out before the pause, partition or shutdown. Each runs
// through the reference, the Machine simulation and the Manager simulation.

// startInstant is the settings of every fixed schedule: an election
// timeout of 10ms, heartbeats every 20ms, a heartbeat timeout of 100ms, a
// latency of 1 to 3ms and no loss.
func startInstant(name string, seed uint32, ids string, horizon int64, events string) *schedule {
	s := &schedule{
		Seed: seed, Name: name, ElectionTimeout: 10, HeartbeatInterval: 20, HeartbeatTimeout: 100,
		MaxLatency: 3, Horizon: horizon, IDs: strings.Fields(ids), Events: []extEvent{}, Manager: true,
	}
	for _, ev := range strings.Split(events, ",") {
		f := strings.Fields(ev)
		t, err := strconv.ParseInt(f[0], 10, 64)
		slot := slices.Index(s.IDs, f[1])
		if len(f) != 3 || err != nil || slot < 0 {
			panic(fmt.Sprintf("schedule %s: bad event %q", name, ev))
		}
		s.Events = append(s.Events, extEvent{t, slot, f[2]})
	}
	slices.SortStableFunc(s.Events, func(a, b extEvent) int {
		if a.T != b.T {
			return cmp.Compare(a.T, b.T)
		}
		return a.Slot - b.Slot
	})
	return s
}

// startInstantSchedules are the fixed schedules, three or four of each kind.
func startInstantSchedules() []*schedule {
	return []*schedule{
		// Paused at its start: its request is out before the pause (b, the
		// leader, answers it at once), what it hears waits for the resume.
		startInstant("pause-late-joiner", 1, "a b c", 400,
			"0 b start, 0 c start, 50 a start, 50 a pause, 150 a resume"),
		startInstant("pause-all-start", 2, "a b c", 400,
			"0 a start, 0 b start, 0 c start, 0 a pause, 40 a resume"),
		startInstant("pause-with-other-start", 3, "a b c d", 500,
			"0 b start, 0 c start, 60 a start, 60 a pause, 60 d start, 60 c pause, 133 a resume, 147 c resume"),

		// Partitioned at its start: its request is out before the link is
		// cut; nothing it says or hears afterwards gets through until the
		// heal.
		startInstant("partition-late-joiner", 4, "a b c", 400,
			"0 b start, 0 c start, 50 a start, 50 a partition, 150 a heal"),
		startInstant("partition-all-start", 5, "a b c", 400,
			"0 a start, 0 b start, 0 c start, 0 a partition, 40 a heal"),
		startInstant("partition-with-other-start", 6, "a b c", 600,
			"0 b start, 0 c start, 60 a start, 60 a partition, 60 b partition, 203 a heal, 257 b heal"),

		// Shut down at its start: the request, then (clean) the
		// withdrawal; the others hear both.
		startInstant("stop-at-start", 7, "a b c", 400,
			"0 b start, 0 c start, 50 a start, 50 a stop, 200 a start"),
		startInstant("kill-at-start", 8, "a b c", 400,
			"0 b start, 0 c start, 50 a start, 50 a kill, 200 a start"),
		startInstant("shutdown-all-start", 9, "a b c", 400,
			"0 a start, 0 b start, 0 c start, 0 a kill, 0 b stop, 100 a start"),
		startInstant("shutdown-with-other-start", 10, "a b c", 500,
			"0 a start, 0 b start, 80 c start, 80 c kill, 80 a stop, 200 c start"),
	}
}

// TestDifferentialStartInstant runs the fixed schedules through the
// reference, bellwether.Machine and bellwether.Manager and requires
// identical traces.
func TestDifferentialStartInstant(t *testing.T) {
	scheds := startInstantSchedules()
	runReference(t, scheds, func(i int, js *result) {
		s := scheds[i]
		t.Run(s.Name, func(t *testing.T) {
			if tie, err := firstTie(s); err != nil || tie >= 0 {
				t.Fatalf("the schedule cannot run through the Manager (event %d at a timer's instant, %v)", tie, err)
			}
			ours, err := simulate(s, bellwether.ModeReference)
			if err != nil {
				t.Fatal(err)
			}
			if d := compareResults(s, js, ours); d != nil {
				t.Error(d)
			}
			mgrs, err := simulateManagers(t, s, ours.ticks)
			if err != nil {
				t.Fatal(err)
			}
			if d := compareResults(s, js, mgrs); d != nil {
				t.Error(d)
			}
		})
	})
}

// TestManagerSimDetectsLateRequest shows that the fixed schedules catch a
// Manager whose first request is handed to broadcast only after NewManager
// has returned: the Manager simulation emulating that (lateFirst) must
// diverge from the reference on every one of them.
func TestManagerSimDetectsLateRequest(t *testing.T) {
	scheds := startInstantSchedules()
	runReference(t, scheds, func(i int, js *result) {
		s := scheds[i]
		ours, err := simulate(s, bellwether.ModeReference)
		if err != nil {
			t.Fatal(err)
		}
		late, err := (&msim{s: s, lateFirst: true}).simulate(t, ours.ticks)
		if err != nil {
			t.Fatal(err)
		}
		if compareResults(s, js, late) == nil {
			t.Errorf("%s: a late first request went unnoticed", s.Name)
		}
	})
}

// startInstantKinds counts the external events of s that happen at the
// instant their own client starts ("own <op>") and, of the others, those at
// the instant another client starts ("other <op>").
func startInstantKinds(s *schedule, counts map[string]int) {
	for i, e := range s.Events {
		if e.Op == "start" {
			continue
		}
		own, other := false, false
		for j, f := range s.Events {
			if f.T != e.T || f.Op != "start" {
				continue
			}
			if f.Slot == e.Slot && j < i {
				own = true
			} else if f.Slot != e.Slot {
				other = true
			}
		}
		switch {
		case own:
			counts["own "+e.Op]++
		case other:
			counts["other "+e.Op]++
		}
	}
}
