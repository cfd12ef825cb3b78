package sim

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLeaseIsolatedLeader: a leasing leader cut off from the bus is
// reported deaf by its driver after HeartbeatInterval and steps down; cut
// off silently, it gets no heartbeat acknowledged, so its lease runs out
// and it steps down without a word. Either way before the others can
// elect; without a lease it leads on beside the new leader (TestIsolate).
func TestLeaseIsolatedLeader(t *testing.T) {
	for _, silent := range []bool{false, true} {
		s := Scenario{Members: 5, Modes: quiet, Latency: lan, Duration: 80 * time.Second, Seed: 4, Lease: true, SilentIsolation: silent,
			Faults: []Fault{{At: 20 * time.Second, Kind: Isolate, Member: TheLeader, For: 20 * time.Second}},
			Probes: []time.Duration{39 * time.Second, 80 * time.Second}}
		var trace bytes.Buffer
		s.Trace, s.TraceDeliveries = &trace, true
		r := mustRun(t, s)
		if r.Checked != "a, b, c; d" {
			t.Errorf("checked %q", r.Checked)
		}
		tr := trace.String()
		cut := between(tr, "isolate m0 (leader)", "reconnect m0")
		lapse, elect := strings.Index(cut, "m0 not leading"), strings.Index(cut, "m1 leading")
		why := "22.000000000s m0 reported deaf\n" // 20s + HeartbeatInterval
		if silent {
			why = "m0 warning: leadership lease expired"
		}
		if lapse < 0 || elect < lapse || !strings.Contains(cut[:lapse], why) {
			t.Errorf("silent=%v: m0's lease did not end (%q) before m1 took one:\n%s", silent, why, cut)
		}
		testIsolatedLeader(t, r, cut)
	}
}

func testIsolatedLeader(t *testing.T, r *Report, cut string) {
	t.Helper()
	if strings.Contains(cut, "m0 acked") {
		t.Errorf("a member cut off from the bus got an acknowledgement")
	}
	if r.MultiLeader != 0 {
		t.Errorf("two leaders for %v", r.MultiLeader)
	}
	if p := r.Probes[0]; p.Members[0].Leading || !p.Members[1].Leading {
		t.Errorf("while m0 is cut off: %+v", p.Members)
	}
	if _, ok := r.Probes[1].leader(); !ok {
		t.Errorf("no agreement after the reconnection: %+v", r.Probes[1].Members)
	}
}

// leader returns the one member that leads and that every alive member
// knows, if any.
func (p Probe) leader() (string, bool) {
	l, n := "", 0
	for _, m := range p.Members {
		if m.Alive && m.Leading {
			l, n = m.ID, n+1
		}
	}
	for _, m := range p.Members {
		if m.Alive && m.Leader != l {
			return "", false
		}
	}
	return l, n == 1
}

// TestLeaseFrozenLeader: a leasing leader frozen for longer than its lease
// finds the lease over at the thaw and steps down without a word (no stale
// heartbeat), and its lease ended before anyone else took one.
func TestLeaseFrozenLeader(t *testing.T) {
	s := Scenario{Members: 4, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: 2, Lease: true,
		Faults: []Fault{{At: 20 * time.Second, Kind: Freeze, Member: TheLeader, For: 15 * time.Second}}}
	var trace bytes.Buffer
	s.Trace = &trace
	mustRun(t, s)
	tr := trace.String()
	if !strings.Contains(tr, "35.000000000s thaw m0 (leader)\n35.000000000s m0 warning: leadership lease expired: no heartbeat was acknowledged in time\n35.000000000s m0 leader none\n35.000000000s m0 not leading\n") {
		t.Errorf("no silent step-down at the thaw:\n%s", between(tr, "freeze m0", "40.000000000s"))
	}
	if strings.Contains(between(tr, "thaw m0", "36.000000000s"), "m0 send current") {
		t.Errorf("the thawed leader sent a stale heartbeat")
	}
	if !strings.Contains(between(tr, "freeze m0", "thaw m0"), "m1 leading") {
		t.Errorf("no new leader while m0 was frozen")
	}
	// A freeze shorter than the lease's remainder changes nothing.
	s.Faults[0].For = time.Second
	trace.Reset()
	r := mustRun(t, s)
	if r.LeadershipChanges != 1 {
		t.Errorf("%d leadership changes after a short freeze, want 1:\n%s", r.LeadershipChanges, trace.String())
	}
}

// TestInvariantDCanFail shows that (d) fires: with the lease off (forced
// by a hook), with a bus that acknowledges what it does not deliver, and
// with a partition, which keeps what the bus accepted from the other side.
func TestInvariantDCanFail(t *testing.T) {
	isolate := Scenario{Members: 5, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: 4,
		Faults: []Fault{{At: 20 * time.Second, Kind: Isolate, Member: TheLeader, For: 20 * time.Second}}}
	wantD := func(what string, s Scenario) {
		t.Helper()
		_, err := Run(s)
		var v *Violation
		if !errors.As(err, &v) || v.Invariant != "d" || !strings.Contains(v.Detail, "two leases at once") {
			t.Errorf("%s: want a violation of (d), got %v", what, err)
		}
	}
	mustRun(t, isolate) // (d) is not checked without a lease
	testHooks = &hooks{checkLeases: true}
	wantD("lease off", isolate)
	testHooks = &hooks{ackIsolated: true}
	isolate.Lease, isolate.SilentIsolation = true, true
	wantD("acknowledged but not delivered", isolate)
	testHooks = nil
	mustRun(t, isolate)

	part := Scenario{Members: 6, Modes: mixed, Latency: lan, Duration: time.Minute, Seed: 9, Lease: true,
		Faults: []Fault{{At: 10 * time.Second, Kind: Partition, Groups: [][]int{{0, 1, 2}}}}}
	r := mustRun(t, part)
	if !strings.Contains(r.Checked, "d not guaranteed: partitions") {
		t.Errorf("checked %q", r.Checked)
	}
	part.Check = CheckForce
	wantD("partition, forced", part)
}

// randomLeaseScenario turns a random campaign scenario into one for
// leasing members on a bus that delivers what it accepted: no loss, a
// member cut off from the bus instead of each partition, and isolations
// and freezes of the leader and of random members besides.
func randomLeaseScenario(seed uint64, maxN int) Scenario {
	s := withBusFaults(randomScenario(seed, maxN), seed)
	s.Lease = true
	if s.Validate() != nil {
		// Timings too tight for a lease (1s/2s/2.4s): the defaults, which
		// allow the same latencies.
		s.Settings = Scenario{}.Settings
	}
	r := rand.New(rand.NewPCG(seed, 11))
	for i, f := range s.Faults {
		if f.Kind == Partition {
			s.Faults[i] = Fault{At: f.At, Kind: Isolate, Member: f.Groups[0][r.IntN(len(f.Groups[0]))]}
		}
	}
	return s
}

// leaseCause says what preceded a violation of (d): one of the two
// members (the one that took a second lease or the one that held the
// first) was frozen or cut off from the bus within a lease's length; or
// neither, and two elections ended with two winners.
func leaseCause(e *engine, v *Violation) string {
	f := strings.Fields(v.Detail) // "<starter> started leading while <holder> leads ..."
	ld := int64(e.sc.Settings.HeartbeatTimeout - e.sc.Settings.ElectionTimeout/2)
	var froze, cut bool
	for _, id := range []string{f[0], f[4]} {
		m := &e.mem[e.ids[id]]
		froze = froze || m.frozen || m.thawedAt >= 0 && e.now-m.thawedAt < ld
		cut = cut || m.isolated || m.reconnectedAt > 0 && e.now-m.reconnectedAt < ld
	}
	switch {
	case froze:
		return "after a freeze"
	case cut:
		return "after an isolation"
	}
	return "concurrent elections"
}

// TestLeaseCampaign runs random fault-heavy scenarios of leasing members
// with every invariant, (d) included, checked, and reports the violations
// by mode, invariant and cause. SIM_CAMPAIGN=n runs n scenarios instead of
// the default few.
func TestLeaseCampaign(t *testing.T) {
	count, maxN := campaignSize(300)
	found := map[string]int{}
	first := map[string]uint64{}
	var faults, changes int
	for seed := uint64(1); seed <= uint64(count); seed++ {
		s := randomLeaseScenario(seed, maxN)
		e := runEngine(s)
		faults += len(s.Faults)
		changes += int(e.changes)
		v := e.violation
		if v == nil {
			continue
		}
		mode := modesString(s.Modes)
		key := mode + " " + v.Invariant
		if v.Invariant == "d" {
			key += " " + leaseCause(e, v)
		}
		if found[key]++; found[key] == 1 {
			first[key] = seed
		}
		if v.Invariant == "a" || v.Invariant == "e" {
			txt, _ := s.MarshalText()
			t.Fatalf("scenario:\n%s\n%v", txt, v)
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Logf("%d lease scenarios, %d faults, %d leaderships", count, faults, changes)
	for _, k := range keys {
		t.Logf("  violations of %s: %d (first: seed %d)", k, found[k], first[k])
	}
}

// leaderOutageScenario narrows a random lease scenario to what the lease
// is built for, ModeQuiet members whose leader's bus fails: every
// isolation and freeze hits the leader and there are no resignations.
func leaderOutageScenario(seed uint64, maxN int) Scenario {
	s := randomLeaseScenario(seed, maxN)
	s.Modes = quiet
	var fs []Fault
	for _, f := range s.Faults {
		if f.Kind == Isolate || f.Kind == Freeze {
			f.Member = TheLeader
		}
		if f.Kind != Resign {
			fs = append(fs, f)
		}
	}
	s.Faults = fs
	return s
}

// TestLeaseLeaderOutages: in ModeQuiet, whatever happens to the leader's
// connection to the bus or to its process (isolations, freezes), among
// crashes, withdrawals, restarts and joins, no member takes a lease while
// a frozen or cut-off leader's lease runs. Two elections that end with two
// winners (members that never heard each other) can still give two leases
// at once; they are counted. Invariants (b) and (c) are left to
// TestLeaseCampaign, which reports what they find in lease mode, so that
// (d) is checked to the end of every run. SIM_CAMPAIGN=n runs n scenarios.
func TestLeaseLeaderOutages(t *testing.T) {
	testHooks = &hooks{skipBC: true}
	defer func() { testHooks = nil }()
	count, maxN := campaignSize(300)
	var outages, concurrent int
	for seed := uint64(1); seed <= uint64(count); seed++ {
		s := leaderOutageScenario(seed, maxN)
		e := runEngine(s)
		if v := e.violation; v != nil {
			if v.Invariant == "d" && leaseCause(e, v) == "concurrent elections" {
				concurrent++
			} else {
				txt, _ := s.MarshalText()
				t.Fatalf("scenario:\n%s\n%v", txt, v)
			}
		}
		for _, w := range e.windows {
			if strings.HasPrefix(w.label, "isolate-leader") || strings.HasPrefix(w.label, "freeze-leader") {
				outages++
			}
		}
	}
	t.Logf("%d scenarios, %d isolations or freezes of the leader: no lease taken during one; %d scenarios with two leases from concurrent elections",
		count, outages, concurrent)
}

// TestEpochInvariant: across partitions that heal, leaders' epochs never
// decrease and a leader that met another leads on at a greater epoch
// (invariant (e)); and (e) fires when the machines do not hear epochs, so
// that the stayer cannot move above the epoch it met.
func TestEpochInvariant(t *testing.T) {
	fired := 0
	for seed := uint64(1); seed <= 20; seed++ {
		s := Scenario{Members: 4, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: seed, Lease: true,
			Faults: []Fault{{At: 10 * time.Second, Kind: Partition, Groups: [][]int{{0, 1}}}, {At: 30 * time.Second, Kind: Heal}}}
		if seed%2 == 0 {
			s.Modes = mixed
		}
		if _, err := Run(s); err != nil {
			var v *Violation
			if !errors.As(err, &v) {
				t.Fatal(err)
			}
			if v.Invariant == "e" {
				t.Fatalf("seed %d: %v", seed, v)
			}
		}
		testHooks = &hooks{hideEpochs: true}
		_, err := Run(s)
		testHooks = nil
		var v *Violation
		if errors.As(err, &v) && v.Invariant == "e" {
			fired++
		}
	}
	if fired == 0 {
		t.Fatal("(e) never fired with epochs hidden from the machines")
	}
	t.Logf("(e) fired in %d of 20 scenarios with epochs hidden", fired)
}
