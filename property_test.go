package bellwether_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/sim"
)

// The property: after any schedule of joins, leaves, crashes, restarts,
// message loss and partitions, once the network is connected and quiet,
// within convergeBound exactly one live member leads and every live member
// knows it; and from then on, with the network connected and quiet, no
// leadership changes at all.
//
// convergeBound, with the default timings and at most maxLatency per
// message: a follower of a dead leader times out within HeartbeatTimeout
// (8s) and elects (1s, plus up to 250ms of jitter in quiet mode); the
// reference's followers may all win their own elections then, and leaders
// meet within a HeartbeatInterval (2s); the larger defers and elects again
// (1s); a member the winner answered may need one more heartbeat interval
// to hear it. That chain is HT + 2·HI + 3·E ≈ 15s plus a few latencies. The
// test allows 20s. docs/guarantees.md explains the bound.
//
// The schedule runs in the simulator (package sim), which also checks its
// own invariants as it goes (docs/simulator.md), with convergeBound as the
// bound B of its invariant (b).
const (
	maxLatency    = 50 * time.Millisecond
	convergeBound = 20 * time.Second
	stableFor     = 2 * time.Minute
)

// schedule builds a scenario's faults while tracking which members are up
// and on which side of the partition they are, since every fault it adds
// is aimed at a member by index.
type schedule struct {
	s              *sim.Scenario
	at             time.Duration
	alive, started []bool
	side           []int
}

func (sc *schedule) add(f sim.Fault) {
	f.At = sc.at
	sc.s.Faults = append(sc.s.Faults, f)
}

// start joins member i, or restarts it if it ran before.
func (sc *schedule) start(i int) {
	kind := sim.Join
	if sc.started[i] {
		kind = sim.Restart
	}
	sc.add(sim.Fault{Kind: kind, Member: i})
	sc.alive[i], sc.started[i] = true, true
}

// partition sets the network to the sides in sc.side: a partition of the
// members on side 1 from the others, or a heal when all are on one side.
func (sc *schedule) partition() {
	var one []int
	for i, s := range sc.side {
		if s == 1 {
			one = append(one, i)
		}
	}
	if len(one) == 0 || len(one) == len(sc.side) {
		sc.add(sim.Fault{Kind: sim.Heal})
		return
	}
	sc.add(sim.Fault{Kind: sim.Partition, Groups: [][]int{one}})
}

func (sc *schedule) heal() {
	clear(sc.side)
	sc.add(sim.Fault{Kind: sim.Heal})
	sc.add(sim.Fault{Kind: sim.Loss, Loss: 0})
}

func propertyCheck(t *rapid.T, modes []bellwether.ElectionMode) {
	count := rapid.IntRange(2, 7).Draw(t, "members")
	s := sim.Scenario{
		Members: count,
		Modes:   modes,
		Latency: sim.Latency{Dist: sim.Uniform, Min: time.Millisecond, Max: maxLatency},
		Bound:   convergeBound,
		Seed:    rapid.Uint64().Draw(t, "seed"),
	}
	used := map[string]bool{}
	for i := 0; i < count; i++ {
		id := rapid.StringMatching(`[a-c0-9]{1,3}|[éa😀\x{ffff}]{1,2}`).Filter(func(s string) bool { return !used[s] }).Draw(t, "id")
		used[id] = true
		s.IDs = append(s.IDs, id)
		s.Late = append(s.Late, i) // every start is a fault of the schedule
	}
	sc := &schedule{s: &s, alive: make([]bool, count), started: make([]bool, count), side: make([]int, count)}
	// Chaos: a random schedule of faults over up to a minute.
	steps := rapid.IntRange(0, 25).Draw(t, "faults")
	for _, i := range rapid.Permutation(intsUpTo(count)).Draw(t, "startorder")[:rapid.IntRange(1, count).Draw(t, "initial")] {
		sc.start(i)
	}
	for range steps {
		sc.at += time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "gap"))
		i := rapid.IntRange(0, count-1).Draw(t, "who")
		switch rapid.IntRange(0, 5).Draw(t, "fault") {
		case 0: // join or restart
			if !sc.alive[i] {
				sc.start(i)
			}
		case 1: // leave cleanly
			if sc.alive[i] {
				sc.add(sim.Fault{Kind: sim.Withdraw, Member: i})
				sc.alive[i] = false
			}
		case 2:
			if sc.alive[i] {
				sc.add(sim.Fault{Kind: sim.Crash, Member: i})
				sc.alive[i] = false
			}
		case 3: // partition: move a member to side 0 or 1
			sc.side[i] = rapid.IntRange(0, 1).Draw(t, "side")
			sc.partition()
		case 4:
			sc.add(sim.Fault{Kind: sim.Loss, Loss: rapid.Float64Range(0, 0.5).Draw(t, "loss")})
		case 5:
			sc.heal()
		}
	}
	// Quiet from here: connected, lossless, at least one member up.
	sc.heal()
	alive := false
	for _, a := range sc.alive {
		alive = alive || a
	}
	if !alive {
		sc.start(0)
	}
	quiet := sc.at
	converged, end := quiet+convergeBound, quiet+convergeBound+stableFor
	s.Duration = end
	s.Probes = []time.Duration{converged, end}
	var trace bytes.Buffer
	s.Trace = &trace

	r, err := sim.Run(s)
	if err != nil {
		t.Fatalf("%v\nscenario:\n%s", err, scenarioText(s))
	}
	if len(r.Probes) != 2 {
		t.Fatalf("%d probes, want 2", len(r.Probes))
	}
	leader, err := agreed(r.Probes[0])
	if err != nil {
		t.Fatalf("not converged %v after the network became quiet: %v\n%s\nscenario:\n%s", convergeBound, err, traceUntil(trace.String(), converged, 60), scenarioText(s))
	}
	if n := r.Probes[1].Changes; n != 0 {
		t.Fatalf("%d leadership changes in a connected quiet network after convergence on %q\n%s\nscenario:\n%s", n, leader, traceUntil(trace.String(), end, 60), scenarioText(s))
	}
	if l2, err := agreed(r.Probes[1]); err != nil || l2 != leader {
		t.Fatalf("leader changed from %q: %q %v", leader, l2, err)
	}
}

// agreed returns the single leader every live member agrees on, or an error.
func agreed(p sim.Probe) (string, error) {
	var leaders []string
	for _, m := range p.Members {
		if m.Alive && m.Leading {
			leaders = append(leaders, m.ID)
		}
	}
	if len(leaders) != 1 {
		return "", fmt.Errorf("%d leaders: %q", len(leaders), leaders)
	}
	for _, m := range p.Members {
		if m.Alive && m.Leader != leaders[0] {
			return "", fmt.Errorf("%s follows %q, not %q", m.ID, m.Leader, leaders[0])
		}
	}
	return leaders[0], nil
}

func scenarioText(s sim.Scenario) string {
	txt, err := s.MarshalText()
	if err != nil {
		return fmt.Sprintf("%+v", s)
	}
	return string(txt)
}

// traceUntil returns the last n lines of a simulator trace up to time t;
// each line starts with its time in seconds ("12.345000000s ...").
func traceUntil(trace string, t time.Duration, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(trace), "\n") {
		f, _, _ := strings.Cut(l, "s ")
		if secs, err := strconv.ParseFloat(f, 64); err == nil && time.Duration(secs*float64(time.Second)) > t {
			break
		}
		lines = append(lines, l)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func intsUpTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestPropertyConvergesOnceQuietReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		propertyCheck(t, []bellwether.ElectionMode{bellwether.ModeReference})
	})
}

func TestPropertyConvergesOnceQuietQuietMode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		propertyCheck(t, []bellwether.ElectionMode{bellwether.ModeQuiet})
	})
}

func TestPropertyConvergesOnceQuietMixed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Even members run ModeQuiet, odd ones the reference.
		propertyCheck(t, []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference})
	})
}
