package refdiff

import (
	"flag"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
)

var (
	flagN    = flag.Int("refdiff.n", defaultN(), "number of schedules TestDifferential runs (default from $REFDIFF_N, else 500)")
	flagSeed = flag.Uint("refdiff.seed", 1, "seed of the first schedule; the others follow")
)

func defaultN() int {
	if n, err := strconv.Atoi(os.Getenv("REFDIFF_N")); err == nil && n > 0 {
		return n
	}
	return 500
}

func schedules(first uint32, n int) []*schedule {
	scheds := make([]*schedule, n)
	for i := range scheds {
		scheds[i] = newSchedule(first + uint32(i))
	}
	return scheds
}

// TestDifferential runs the reference LeaderManager and bellwether's Machine
// in ModeReference on the same random schedules and requires identical
// traces: broadcasts (and their JSON bytes), leadership changes, warnings
// and the known leader, at the same virtual times. About 40% of the
// schedules also run through bellwether.Manager, with the same requirement.
func TestDifferential(t *testing.T) {
	var (
		failures int
		counts   = map[string]int{}
	)
	// In chunks, each through one node process: a schedule run through the
	// Manager keeps its Machine result until it is compared.
	const chunk = 500
	for first := 0; first < *flagN; first += chunk {
		scheds := schedules(uint32(*flagSeed)+uint32(first), min(chunk, *flagN-first))
		if first == 0 {
			scheds = append([]*schedule{orderSchedule()}, scheds...)
		}
		differential(t, scheds, &failures, counts)
	}
	if failures > 0 {
		t.Fatalf("%d of %d schedules diverge from the reference", failures, *flagN)
	}
	t.Logf("%d schedules agree; coverage: %d broadcasts (%d request, %d accept, %d current, %d withdraw), %d leadership changes, warnings: %d timeout, %d deferring, %d staying; %d restarts or late starts",
		*flagN, counts["bcast"], counts["bcast request"], counts["bcast accept"], counts["bcast current"], counts["bcast withdraw"],
		counts["leading"], counts["warn leader timeout"], counts["warn multiple leaders detected, deferring"],
		counts["warn multiple leaders detected, staying"], counts["start"])
	t.Logf("%d schedules also through bellwether.Manager; in them, at a client's own start: %d pause, %d partition, %d stop, %d kill; at another client's start: %d pause, %d partition, %d stop, %d kill",
		counts["manager"], counts["own pause"], counts["own partition"], counts["own stop"], counts["own kill"],
		counts["other pause"], counts["other partition"], counts["other stop"], counts["other kill"])
	if *flagN >= 200 {
		// The schedules must reach every branch of the protocol.
		for _, k := range []string{
			"bcast request", "bcast accept", "bcast current", "bcast withdraw", "leading true", "leading false",
			"warn leader timeout", "warn multiple leaders detected, deferring", "warn multiple leaders detected, staying",
			"stop", "kill", "pause", "resume", "partition", "heal",
			"own pause", "own partition", "own stop", "own kill",
			"other pause", "other partition", "other stop", "other kill",
		} {
			if counts[k] == 0 {
				t.Errorf("no schedule produced %q: the generator no longer covers it", k)
			}
		}
	}
}

// differential runs scheds through the reference, the Machine and (those
// marked) the Manager, counting failures and what the traces cover.
func differential(t *testing.T, scheds []*schedule, failures *int, counts map[string]int) {
	t.Helper()
	runReference(t, scheds, func(i int, js *result) {
		s := scheds[i]
		// agrees compares one of ours with the reference, counting and
		// showing (the first three) failures.
		agrees := func(ours *result, err error) bool {
			if err != nil {
				t.Fatalf("seed %d: %v", s.Seed, err)
			}
			if d := compareResults(s, js, ours); d != nil {
				*failures++
				if *failures <= 3 {
					t.Error(d)
				}
				return false
			}
			return true
		}
		ours, err := s.machine, error(nil)
		if ours == nil {
			ours, err = simulate(s, bellwether.ModeReference)
		}
		s.machine = nil
		if !agrees(ours, err) {
			return
		}
		if s.Manager {
			if !agrees(simulateManagers(t, s, ours.ticks)) {
				return
			}
			counts["manager"]++
			startInstantKinds(s, counts)
		}
		for _, tr := range js.Traces {
			for _, e := range tr {
				counts[e.K+" "+e.V]++
				counts[e.K]++
			}
		}
	})
}

// TestHarnessDetectsDivergence shows that the comparison can fail: machines
// in ModeQuiet, which elects differently on purpose, must diverge from the
// reference, and so must mutated traces.
func TestHarnessDetectsDivergence(t *testing.T) {
	scheds := schedules(1_000_000, 40)
	var quietDiffs, checked int
	runReference(t, scheds, func(i int, js *result) {
		s := scheds[i]
		quiet, err := simulate(s, bellwether.ModeQuiet)
		if err != nil {
			t.Fatal(err)
		}
		if compareResults(s, js, quiet) != nil {
			quietDiffs++
		}

		ours, err := simulate(s, bellwether.ModeReference)
		if err != nil {
			t.Fatal(err)
		}
		if d := compareResults(s, js, ours); d != nil {
			t.Fatalf("unmutated traces differ:\n%v", d)
		}
		slot, idx := -1, -1
		for sl, tr := range ours.Traces {
			for k, e := range tr {
				if e.K == "bcast" {
					slot, idx = sl, k
				}
			}
		}
		if slot < 0 {
			return
		}
		checked++
		mutate := func(name string, want string, f func(tr []entry) []entry) {
			t.Helper()
			m := *ours
			m.Traces = append([][]entry(nil), ours.Traces...)
			m.Traces[slot] = f(append([]entry(nil), ours.Traces[slot]...))
			d := compareResults(s, js, &m)
			switch {
			case d == nil:
				t.Errorf("seed %d: %s went unnoticed", s.Seed, name)
			case d.slot != slot || !strings.Contains(d.String(), want):
				t.Errorf("seed %d: %s reported as\n%v", s.Seed, name, d)
			}
		}
		mutate("a changed action", "behaviour", func(tr []entry) []entry {
			tr[idx].V = "withdraw-ish"
			return tr
		})
		mutate("changed JSON bytes", "encoding", func(tr []entry) []entry {
			tr[idx].J = strings.Replace(tr[idx].J, `"type"`, `"type" `, 1)
			return tr
		})
		mutate("a lost entry", "(end of trace)", func(tr []entry) []entry { return tr[:idx] })
		mutate("a late entry", "behaviour", func(tr []entry) []entry {
			tr[idx].T++
			return tr
		})
	})
	if quietDiffs == 0 {
		t.Errorf("ModeQuiet matched the reference on all %d schedules; the comparison is blind", len(scheds))
	}
	if checked == 0 {
		t.Errorf("no schedule broadcast anything")
	}
	t.Logf("ModeQuiet diverged on %d of %d schedules; %d mutated traces caught", quietDiffs, len(scheds), 4*checked)
}

// TestScheduleDeterministic: a seed always gives the same schedule, and the
// Go side, Manager simulation included, is deterministic.
func TestScheduleDeterministic(t *testing.T) {
	managers := 0
	for seed := uint32(1); seed <= 20; seed++ {
		a, b := newSchedule(seed), newSchedule(seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d gives two schedules", seed)
		}
		ra, err := simulate(a, bellwether.ModeReference)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := simulate(b, bellwether.ModeReference)
		if d := compareResults(a, ra, rb); d != nil {
			t.Fatalf("nondeterministic:\n%v", d)
		}
		if !a.Manager {
			continue
		}
		managers++
		ma, err := simulateManagers(t, a, ra.ticks)
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := simulateManagers(t, b, rb.ticks)
		if d := compareResults(a, ma, mb); d != nil {
			t.Fatalf("Manager simulation nondeterministic:\n%v", d)
		}
	}
	if managers == 0 {
		t.Error("no schedule runs through the Manager")
	}
}
