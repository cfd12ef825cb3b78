package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

var (
	quiet     = []bellwether.ElectionMode{bellwether.ModeQuiet}
	reference = []bellwether.ElectionMode{bellwether.ModeReference}
	mixed     = []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference}
	lan       = Latency{Dist: Uniform, Min: time.Millisecond, Max: 20 * time.Millisecond}
)

func mustRun(t *testing.T, s Scenario) *Report {
	t.Helper()
	r, err := Run(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func recovery(t *testing.T, r *Report, kind string) Recovery {
	t.Helper()
	rc, ok := r.Recovery(kind)
	if !ok {
		var kinds []string
		for _, rc := range r.Recoveries {
			kinds = append(kinds, rc.Kind)
		}
		t.Fatalf("no %q recovery in report; have %v", kind, kinds)
	}
	return rc
}

// busyScenario exercises every kind of fault, loss aside.
func busyScenario(seed uint64) Scenario {
	return Scenario{
		Name:        "busy",
		Members:     9,
		Late:        []int{8},
		Observers:   []int{7},
		Modes:       mixed,
		Latency:     Latency{Dist: LogNormal, Min: time.Millisecond, Median: 5 * time.Millisecond, Sigma: 0.8, Max: 100 * time.Millisecond},
		Dup:         0.02,
		StartSpread: 500 * time.Millisecond,
		Duration:    3 * time.Minute,
		Seed:        seed,
		Faults: []Fault{
			{At: 20 * time.Second, Every: 40 * time.Second, Kind: Crash, Member: TheLeader},
			{At: 25 * time.Second, Every: 40 * time.Second, Kind: Restart, Member: Auto},
			{At: 45 * time.Second, Kind: Withdraw, Member: TheLeader},
			{At: 50 * time.Second, Kind: Restart, Member: Auto},
			{At: 70 * time.Second, Kind: Partition, Groups: [][]int{{0, 1, 2}, {3, 4}}},
			{At: 90 * time.Second, Kind: Heal},
			{At: 110 * time.Second, Kind: Join, Member: Auto},
			{At: 130 * time.Second, Kind: Resign, Member: TheLeader},
			{At: 150 * time.Second, Kind: Crash, Member: 5},
		},
	}
}

func TestDeterministicTrace(t *testing.T) {
	digest := func(seed uint64) ([32]byte, int, []byte) {
		var trace bytes.Buffer
		s := busyScenario(seed)
		s.Trace = &trace
		s.TraceDeliveries = true
		r := mustRun(t, s)
		var js bytes.Buffer
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		trace.Write(js.Bytes())
		return sha256.Sum256(trace.Bytes()), trace.Len(), js.Bytes()
	}
	a, n, ja := digest(42)
	b, _, jb := digest(42)
	if a != b || !bytes.Equal(ja, jb) {
		t.Fatalf("same seed, different trace or report")
	}
	if n < 10000 {
		t.Fatalf("trace suspiciously short: %d bytes", n)
	}
	if c, _, _ := digest(43); c == a {
		t.Fatalf("different seeds gave the same trace")
	}
}

// TestRepetitionSeed checks that a repetition can be replayed alone with
// the seed it reports.
func TestRepetitionSeed(t *testing.T) {
	s := busyScenario(7)
	s.Repetitions = 3
	s.Check = CheckForce
	s.Loss = 0.2 // makes (b) or (c) fail sooner or later
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) {
		t.Fatalf("want a violation, got %v", err)
	}
	s.Seed, s.Repetitions = v.Seed, 1
	_, err2 := Run(s)
	var v2 *Violation
	if !errors.As(err2, &v2) || v2.At != v.At || v2.Invariant != v.Invariant || !slices.Equal(v2.Trace, v.Trace) {
		t.Fatalf("replaying repetition %d with seed %d: got %v, want %v", v.Repetition, v.Seed, err2, err)
	}
}

func TestBusyScenarioHoldsInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := mustRun(t, busyScenario(seed))
		if r.Checked != "a, b, c" {
			t.Fatalf("checked %q", r.Checked)
		}
	}
}

// TestInvariantACanFail breaks the simulator on purpose: a crashed leader
// is left counted as leading.
func TestInvariantACanFail(t *testing.T) {
	testHooks = &hooks{keepDeadLeader: true}
	defer func() { testHooks = nil }()
	s := Scenario{Members: 3, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: 5,
		Faults: []Fault{{At: 20 * time.Second, Kind: Crash, Member: TheLeader}}}
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) || v.Invariant != "a" || v.At != 20*time.Second {
		t.Fatalf("want violation of (a) at 20s, got %v", err)
	}
	s.Check = CheckOff
	if _, err := Run(s); err != nil {
		t.Fatalf("with checks off: %v", err)
	}
}

// TestInvariantBCanFail: a partition that never heals leaves a leader on
// each side; forcing the check of (b) must report it once B has passed.
func TestInvariantBCanFail(t *testing.T) {
	s := Scenario{Members: 6, Modes: mixed, Latency: lan, Duration: time.Minute, Seed: 9, Check: CheckForce,
		Faults: []Fault{{At: 10 * time.Second, Kind: Partition, Groups: [][]int{{0, 1, 2}}}}}
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) || v.Invariant != "b" {
		t.Fatalf("want violation of (b), got %v", err)
	}
	if want := 10*time.Second + s.StableBound(); v.At != want {
		t.Errorf("violation at %v, want at the partition plus B, %v", v.At, want)
	}
	msg := err.Error()
	for _, want := range []string{"seed 9", "invariant (b)", "partition 0-2", "leading [m0 m3]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(v.Trace) == 0 {
		t.Error("no trace lines in the violation")
	}
	// Unforced, the partition is not a connected network: nothing to check.
	s.Check = CheckOn
	mustRun(t, s)
}

// TestInvariantCCanFail: with message loss, a follower misses enough
// heartbeats to time out although its leader is alive and known by all.
func TestInvariantCCanFail(t *testing.T) {
	s := Scenario{Members: 10, Modes: quiet, Latency: lan, Loss: 0.3, Duration: 10 * time.Minute, Seed: 3}
	r := mustRun(t, s) // not guaranteed with loss, so not checked
	if !strings.Contains(r.Checked, "lost") {
		t.Errorf("checked %q", r.Checked)
	}
	s.Check = CheckForce
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) || v.Invariant != "c" {
		t.Fatalf("want violation of (c), got %v", err)
	}
	if !strings.Contains(err.Error(), "leader timeout") {
		t.Errorf("trace should show the timeout:\n%v", err)
	}
}

// TestInvariantBound: an explicit bound below the real recovery time of a
// leader crash (HeartbeatTimeout + ElectionTimeout) must be reported.
func TestInvariantBound(t *testing.T) {
	s := Scenario{Members: 5, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: 1, Bound: 5 * time.Second,
		Faults: []Fault{{At: 20 * time.Second, Kind: Crash, Member: TheLeader}}}
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) || v.Invariant != "b" || v.At != 25*time.Second {
		t.Fatalf("want violation of (b) at 25s, got %v", err)
	}
}

// electionCost runs n members of the given modes to a cold start, crashes
// the leader at 20s and returns the two recoveries.
func electionCost(t testing.TB, n int, modes []bellwether.ElectionMode, lat Latency, seed uint64, fault FaultKind) (cold, crash Recovery) {
	s := Scenario{Members: n, Modes: modes, Latency: lat, Duration: 40 * time.Second, Seed: seed,
		Faults: []Fault{{At: 20 * time.Second, Kind: fault, Member: TheLeader}}}
	r, err := Run(s)
	if err != nil {
		t.Fatal(err)
	}
	label := fault.String() + "-leader"
	cold, _ = r.Recovery("start")
	crash, _ = r.Recovery(label)
	if cold.Converged != 1 || crash.Converged != 1 {
		t.Fatalf("n=%d seed %d: did not converge: %+v %+v", n, seed, cold, crash)
	}
	return cold, crash
}

// TestQuietBudget: ModeQuiet must elect with at most 3N broadcasts, on a
// cold start (simultaneous, or spread over 5s so that most members join
// an existing leader) and after the leader crashes or withdraws.
func TestQuietBudget(t *testing.T) {
	lats := []Latency{lan, {Dist: Fixed, Min: 5 * time.Millisecond}, {Dist: LogNormal, Min: time.Millisecond, Median: 10 * time.Millisecond, Sigma: 1, Max: 200 * time.Millisecond}}
	sizes := []int{10, 100, 1000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	for _, n := range sizes {
		for seed := uint64(1); seed <= 4; seed++ {
			lat := lats[int(seed)%len(lats)]
			check := func(what string, rc Recovery) {
				t.Helper()
				if rc.Broadcasts.Max > int64(3*n) {
					t.Errorf("n=%d seed %d %v: %s cost %d broadcasts > 3N = %d", n, seed, lat, what, rc.Broadcasts.Max, 3*n)
				}
			}
			for _, fault := range []FaultKind{Crash, Withdraw} {
				cold, failover := electionCost(t, n, quiet, lat, seed, fault)
				check("cold start", cold)
				check(fault.String()+" of the leader", failover)
			}
			s := Scenario{Members: n, Modes: quiet, Latency: lat, StartSpread: 5 * time.Second, Duration: 20 * time.Second, Seed: seed}
			check("cold start spread over 5s", recovery(t, mustRun(t, s), "start"))
		}
	}
}

// TestMixedConverge: quiet and reference members in one group agree on one
// leader after a cold start and after every fault (invariant (b) is
// checked throughout), whichever mode the leader runs.
func TestMixedConverge(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		modes := mixed
		if seed%2 == 0 {
			modes = []bellwether.ElectionMode{bellwether.ModeReference, bellwether.ModeQuiet, bellwether.ModeQuiet}
		}
		s := Scenario{Members: 30, Modes: modes, Latency: lan, Duration: 135 * time.Second, Seed: seed,
			Faults: []Fault{
				{At: 20 * time.Second, Every: 30 * time.Second, Kind: Crash, Member: TheLeader},
				{At: 35 * time.Second, Every: 30 * time.Second, Kind: Restart, Member: Auto},
			}}
		r := mustRun(t, s)
		for _, rc := range r.Recoveries {
			if rc.Converged != rc.Windows {
				t.Errorf("seed %d: %s converged %d of %d", seed, rc.Kind, rc.Converged, rc.Windows)
			}
		}
		if r.MultiLeader > 2*time.Second {
			t.Errorf("seed %d: %v with several leaders", seed, r.MultiLeader)
		}
	}
}

// TestRecoveryTimes checks the report's figures against the protocol:
// a cold start takes one election, a crash a heartbeat timeout plus an
// election, a withdrawal one election.
func TestRecoveryTimes(t *testing.T) {
	fixed := Latency{Dist: Fixed, Min: 10 * time.Millisecond}
	s := Scenario{Members: 20, Modes: quiet, Latency: fixed, Duration: 80 * time.Second, Seed: 1, Repetitions: 5,
		Faults: []Fault{
			{At: 20 * time.Second, Kind: Crash, Member: TheLeader},
			{At: 50 * time.Second, Kind: Withdraw, Member: TheLeader},
		}}
	r := mustRun(t, s)
	st := bellwether.DefaultSettings()
	check := func(kind string, lo, hi time.Duration) {
		rc := recovery(t, r, kind)
		if rc.Windows != 5 || rc.Converged != 5 {
			t.Errorf("%s: %d windows, %d converged", kind, rc.Windows, rc.Converged)
		}
		if rc.Time.P50 < lo || rc.Time.Max > hi {
			t.Errorf("%s: times %+v outside [%v, %v]", kind, rc.Time, lo, hi)
		}
	}
	// The last heartbeat before the crash is up to HeartbeatInterval old.
	check("start", st.ElectionTimeout, st.ElectionTimeout+20*time.Millisecond)
	check("crash-leader", st.HeartbeatTimeout-st.HeartbeatInterval+st.ElectionTimeout, st.HeartbeatTimeout+st.ElectionTimeout+50*time.Millisecond)
	check("withdraw-leader", st.ElectionTimeout, st.ElectionTimeout+50*time.Millisecond)
	if r.LeadershipChanges != 15 {
		t.Errorf("leadership changes %d, want 3 a repetition", r.LeadershipChanges)
	}
	if r.MultiLeader != 0 {
		t.Errorf("more than one leader for %v", r.MultiLeader)
	}
	// Heartbeats: one broadcast every 2s to 19 others, for most of 80s.
	if r.BroadcastsPerHour < 1500 || r.DeliveriesPerHour < 19*1500 {
		t.Errorf("traffic %.0f/h broadcasts, %.0f/h deliveries", r.BroadcastsPerHour, r.DeliveriesPerHour)
	}
}

func TestLateJoinAndObservers(t *testing.T) {
	s := Scenario{Members: 6, Modes: reference, Latency: lan, Duration: time.Minute, Seed: 2,
		Late: []int{0, 1}, Observers: []int{5},
		Faults: []Fault{{At: 15 * time.Second, Kind: Join, Member: 0}, {At: 25 * time.Second, Kind: Join, Member: Auto}}}
	var trace bytes.Buffer
	s.Trace = &trace
	r := mustRun(t, s)
	rc := recovery(t, r, "join")
	if rc.Windows != 2 || rc.Converged != 2 || rc.Time.Max > 100*time.Millisecond {
		t.Errorf("joins: %+v", rc)
	}
	// The joiner with the smallest id does not take over.
	if !strings.Contains(trace.String(), "m0 leader m2") || strings.Contains(trace.String(), "m0 leading") {
		t.Errorf("unexpected leadership:\n%s", trace.String())
	}
	if strings.Contains(trace.String(), "m5 send") {
		t.Error("an observer broadcast")
	}
}

func TestNoAllocationPerDelivery(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; run without -race")
	}
	run := func(d time.Duration) (allocs float64, deliveries int64) {
		s := Scenario{Members: 300, Modes: quiet, Latency: lan, Duration: d, Seed: 1}
		var r *Report
		allocs = testing.AllocsPerRun(1, func() { r = mustRun(t, s) })
		return allocs, r.Deliveries
	}
	a1, d1 := run(time.Minute)
	a2, d2 := run(5 * time.Minute)
	if extra := a2 - a1; extra > float64(d2-d1)/1000 {
		t.Errorf("%.0f more allocations for %d more deliveries", extra, d2-d1)
	}
}

func TestSamplerOrderStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range []Latency{lan, {Dist: LogNormal, Min: time.Millisecond, Median: 5 * time.Millisecond, Sigma: 0.5, Max: 50 * time.Millisecond}} {
		s := newSampler(l)
		const n, rounds = 200, 200
		var lazy, iid []int64
		for k := 0; k < rounds; k++ {
			u, prev := 0.0, int64(-1)
			for i := int32(0); i < n; i++ {
				u = nextOrder(r, u, n-i)
				v := s.quantile(u)
				if v < prev {
					t.Fatalf("%v: latencies out of order", l)
				}
				prev = v
				lazy = append(lazy, v)
				iid = append(iid, s.sample(r))
			}
		}
		slices.Sort(lazy)
		slices.Sort(iid)
		lo, hi := l.Bounds()
		for _, q := range []float64{0.1, 0.5, 0.9} {
			a, b := lazy[int(q*float64(len(lazy)))], iid[int(q*float64(len(iid)))]
			if d := a - b; d < 0 && -d > int64(hi-lo)/50 || d > int64(hi-lo)/50 {
				t.Errorf("%v: quantile %.1f: lazy %v, iid %v", l, q, time.Duration(a), time.Duration(b))
			}
		}
		if time.Duration(lazy[0]) < lo || time.Duration(lazy[len(lazy)-1]) > hi {
			t.Errorf("%v: out of bounds", l)
		}
	}
}

func TestPermutation(t *testing.T) {
	for _, n := range []int32{1, 2, 3, 7, 64, 1000, 4097} {
		p := newPerm(n, uint64(n)*77)
		seen := make([]bool, n)
		fixed := 0
		for i := int32(0); i < n; i++ {
			j := p.at(i)
			if j < 0 || j >= n || seen[j] {
				t.Fatalf("n=%d: not a permutation at %d", n, i)
			}
			seen[j] = true
			if j == i {
				fixed++
			}
		}
		if n >= 64 && fixed > int(n)/8 {
			t.Errorf("n=%d: %d fixed points", n, fixed)
		}
	}
}

func TestParseScenario(t *testing.T) {
	text := `# a comment
name   two sides
members 12
late 10-11
observers 9
modes quiet reference
settings election=500ms interval=1s timeout=4s
latency lognormal min=1ms median=4ms sigma=0.7 max=80ms
loss 0.01   # lossy
dup 0.002
start-spread 250ms
duration 10m
seed 99
repetitions 3
check off
bound 20s
at 30s every 1m crash leader
at 40s every 1m restart
at 50s withdraw 3
at 55s restart 3
at 1m resign leader
at 2m partition 0-3,5 | 6-8
at 3m heal
at 4m join
at 5m join 11
at 6m loss 0.25
at 6m30s isolate leader for 5s
at 6m40s isolate 4
at 7m freeze 2 for 2s
ids a0 b1 c2 d3 e4 f5 g6 h7 i8 j9 é 😀
probe 7m 1m
`
	s, err := ParseScenario(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Scenario{
		Name: "two sides", Members: 12, Late: []int{10, 11}, Observers: []int{9}, Modes: mixed,
		Settings: bellwether.Settings{ElectionTimeout: 500 * time.Millisecond, HeartbeatInterval: time.Second, HeartbeatTimeout: 4 * time.Second},
		Latency:  Latency{Dist: LogNormal, Min: time.Millisecond, Median: 4 * time.Millisecond, Sigma: 0.7, Max: 80 * time.Millisecond},
		Loss:     0.01, Dup: 0.002, StartSpread: 250 * time.Millisecond, Duration: 10 * time.Minute, Seed: 99, Repetitions: 3,
		Check: CheckOff, Bound: 20 * time.Second,
		Faults: []Fault{
			{At: 30 * time.Second, Every: time.Minute, Kind: Crash, Member: TheLeader},
			{At: 40 * time.Second, Every: time.Minute, Kind: Restart, Member: Auto},
			{At: 50 * time.Second, Kind: Withdraw, Member: 3},
			{At: 55 * time.Second, Kind: Restart, Member: 3},
			{At: time.Minute, Kind: Resign, Member: TheLeader},
			{At: 2 * time.Minute, Kind: Partition, Groups: [][]int{{0, 1, 2, 3, 5}, {6, 7, 8}}},
			{At: 3 * time.Minute, Kind: Heal},
			{At: 4 * time.Minute, Kind: Join, Member: Auto},
			{At: 5 * time.Minute, Kind: Join, Member: 11},
			{At: 6 * time.Minute, Kind: Loss, Loss: 0.25},
			{At: 6*time.Minute + 30*time.Second, Kind: Isolate, Member: TheLeader, For: 5 * time.Second},
			{At: 6*time.Minute + 40*time.Second, Kind: Isolate, Member: 4},
			{At: 7 * time.Minute, Kind: Freeze, Member: 2, For: 2 * time.Second},
		},
		IDs:    []string{"a0", "b1", "c2", "d3", "e4", "f5", "g6", "h7", "i8", "j9", "é", "😀"},
		Probes: []time.Duration{7 * time.Minute, time.Minute},
	}
	if got, exp := fmt.Sprintf("%+v", s), fmt.Sprintf("%+v", want); got != exp {
		t.Fatalf("parsed\n%s\nwant\n%s", got, exp)
	}
	// Round trip.
	out, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseScenario(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if fmt.Sprintf("%+v", s2) != fmt.Sprintf("%+v", s) {
		t.Fatalf("round trip changed the scenario:\n%s", out)
	}
	if _, err := Run(s); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	for text, want := range map[string]string{
		"members 3\nduration 1m\nfoo 1":                 "line 3: unknown directive",
		"members x":                                     "line 1: members: bad count",
		"members 3\nduration 1m\nat 1s crash 5":         "crash member 5 out of range",
		"members 3\nduration 1m\nat 1s explode":         "unknown fault",
		"members 3\nduration 1m\nlatency uniform 5ms":   "takes 2 duration",
		"members 3\nduration 1m\nmodes loud":            "unknown election mode",
		"members 3\nduration 1m\nat 1s join 1":          "not in Late",
		"members 3\nduration 1m\nat 1s partition 0 | 0": "in two groups",
		"members 3\nduration 1m\nsettings interval=9s":  "HeartbeatTimeout",
		"members 3":                      "duration must be positive",
		"members 3\nduration 1m\nloss 1": "must be in [0, 1)",
		"members 3\nduration 1m\nat 1s every 0s crash 1": "period must be positive",
		"members 3\nduration 1m\nat 1s loss 1":           "loss must be in [0, 1)",
		"members 3\nduration 1m\nat 1s loss":             "loss takes one probability",
		"members 3\nduration 1m\nids a b":                "2 ids for 3 members",
		"members 2\nduration 1m\nids a a":                "given to two members",
		"members 2\nduration 1m\nprobe 2m":               "outside the run",
		"members 2\nduration 1m\nat 1s freeze 1":         "must be positive",
		"members 2\nduration 1m\nat 1s crash 1 for 2s":   "only isolate and freeze",
		"members 2\nduration 1m\nat 1s isolate 1 for x":  "for: time: invalid duration",
	} {
		_, err := ParseScenario(strings.NewReader(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

func TestReportRendering(t *testing.T) {
	r := mustRun(t, busyScenario(3))
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"busy: 9 members (quiet,reference)", "crash-leader", "withdraw-leader", "partition", "heal", "join", "leadership changes"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Broadcasts != r.Broadcasts || len(back.Recoveries) != len(r.Recoveries) || back.Recoveries[0].Time != r.Recoveries[0].Time {
		t.Errorf("JSON round trip lost data:\n%s", js.String())
	}
	svg := renderSVG(t, r)
	for _, want := range []string{"m0", "m8", "(obs)", "leads", "follows", "crash-leader", "partition"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func renderSVG(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Space + " " + se.Name.Local
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q", root)
	}
	return b.String()
}

func TestSVGSummarisesLargeGroups(t *testing.T) {
	s := Scenario{Members: 200, Modes: quiet, Latency: lan, Duration: 40 * time.Second, Seed: 1,
		Faults: []Fault{{At: 10 * time.Second, Every: 10 * time.Second, Kind: Crash, Member: TheLeader}}}
	svg := renderSVG(t, mustRun(t, s))
	if !strings.Contains(svg, "150 other members not shown") {
		t.Error("no summary of the members left out")
	}
	if rows := strings.Count(svg, `text-anchor="end">m`); rows != maxRows {
		t.Errorf("%d member rows, want %d", rows, maxRows)
	}
	var b bytes.Buffer
	r := mustRun(t, s)
	if err := r.WriteSVGWindow(&b, 9*time.Second, 21*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	ok := Scenario{Members: 2, Duration: time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Scenario{
		"no members":   {Duration: time.Second},
		"bad latency":  {Members: 2, Duration: time.Second, Latency: Latency{Dist: Uniform, Min: 2, Max: 1}},
		"bad lognorm":  {Members: 2, Duration: time.Second, Latency: Latency{Dist: LogNormal}},
		"bad observer": {Members: 2, Duration: time.Second, Observers: []int{2}},
		"bad mode":     {Members: 2, Duration: time.Second, Modes: []bellwether.ElectionMode{9}},
		"bad check":    {Members: 2, Duration: time.Second, Check: 7},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := Run(s); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
}

func TestStableBound(t *testing.T) {
	for _, c := range []struct {
		s    Scenario
		want time.Duration
	}{
		{Scenario{Latency: lan}, 8*time.Second + 2*time.Second + 2*time.Second + 100*time.Millisecond},
		{Scenario{Latency: lan, Dup: 0.1}, 12*time.Second + 200*time.Millisecond},
		{Scenario{Settings: bellwether.Settings{ElectionTimeout: 3 * time.Second, HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second}}, 5*time.Second + 6*time.Second + 3*time.Second},
	} {
		if got := c.s.StableBound(); got != c.want {
			t.Errorf("%+v: B = %v, want %v", c.s, got, c.want)
		}
	}
	lossy := Scenario{Latency: lan, Loss: 0.01}
	tight := Scenario{Latency: lan, Settings: bellwether.Settings{HeartbeatTimeout: 2010 * time.Millisecond}}
	slow := Scenario{Latency: Latency{Dist: Fixed, Min: 400 * time.Millisecond}}
	for _, s := range []Scenario{lossy, tight, slow} {
		if ok, _ := s.guaranteed(); ok {
			t.Errorf("%+v: (b) and (c) deemed guaranteed", s)
		}
	}
	if ok, why := (Scenario{Latency: lan}).guaranteed(); !ok {
		t.Error(why)
	}
}
