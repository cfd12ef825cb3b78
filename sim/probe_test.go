package sim

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestIDs: ids given by the scenario name the members, and the smallest
// in UTF-16 order wins, whatever its index.
func TestIDs(t *testing.T) {
	// "\uffff" sorts after "😀" in UTF-16 (a surrogate pair starts with
	// 0xD83D) but before it in UTF-8; "b" is smaller than both.
	s := Scenario{Members: 3, IDs: []string{"\uffff", "😀", "b"}, Modes: quiet, Latency: lan, Duration: 30 * time.Second,
		Seed: 1, Probes: []time.Duration{20 * time.Second}}
	var trace bytes.Buffer
	s.Trace = &trace
	r := mustRun(t, s)
	if len(r.Probes) != 1 {
		t.Fatalf("probes %+v", r.Probes)
	}
	p := r.Probes[0]
	for i, m := range p.Members {
		if m.ID != s.IDs[i] || !m.Alive || m.Leader != "b" || m.Leading != (i == 2) {
			t.Errorf("member %d: %+v, want %q alive following b", i, m, s.IDs[i])
		}
	}
	if !strings.Contains(trace.String(), "b leading") {
		t.Errorf("trace does not name the ids:\n%s", trace.String())
	}
	s.IDs[1] = ""
	if _, err := Run(s); err == nil || !strings.Contains(err.Error(), "client id is empty") {
		t.Errorf("empty id: %v", err)
	}
}

// TestProbes: a probe sees the events at its own instant, not later ones,
// and counts the leadership effects since the previous probe.
func TestProbes(t *testing.T) {
	fixed := Latency{Dist: Fixed, Min: 10 * time.Millisecond}
	st := Scenario{Members: 3, Modes: quiet, Latency: fixed}.Settings.WithDefaults()
	s := Scenario{Members: 3, Modes: quiet, Latency: fixed, Duration: time.Minute, Seed: 1, Repetitions: 2,
		Faults: []Fault{{At: 20 * time.Second, Kind: Crash, Member: 0}},
		// With fixed latency and no start spread, m0 wins at the end of the
		// first election, ElectionTimeout after the start.
		Probes: []time.Duration{st.ElectionTimeout - 1, 15 * time.Second, 20 * time.Second, time.Minute}}
	r := mustRun(t, s)
	if len(r.Probes) != 8 {
		t.Fatalf("%d probes, want 4 in each of 2 repetitions", len(r.Probes))
	}
	for k, p := range r.Probes {
		if p.Repetition != k/4 || p.At != s.Probes[k%4] {
			t.Errorf("probe %d: repetition %d at %v", k, p.Repetition, p.At)
		}
	}
	p := r.Probes[:4]
	if p[0].Members[0].Leading || p[0].Changes != 0 {
		t.Errorf("before the first election ends: %+v", p[0])
	}
	// m0 leads (1 effect), everyone knows it (3).
	if !p[1].Members[0].Leading || p[1].Members[1].Leader != "m0" || p[1].Changes != 4 {
		t.Errorf("after the election: %+v", p[1])
	}
	if p[2].Members[0].Alive || p[2].Members[0].Leading || p[2].Changes != 0 {
		t.Errorf("at the crash: %+v", p[2])
	}
	if !p[3].Members[1].Leading || p[3].Members[2].Leader != "m1" {
		t.Errorf("after the failover: %+v", p[3])
	}
}

// TestLossFault: a Loss fault makes deliveries lost from then on, and
// under CheckOn invariants (b) and (c) are checked only while the loss is
// zero.
func TestLossFault(t *testing.T) {
	s := Scenario{Members: 10, Modes: quiet, Latency: lan, Duration: 4 * time.Minute, Seed: 3,
		Faults: []Fault{{At: 30 * time.Second, Kind: Loss, Loss: 0.3}, {At: 3 * time.Minute, Kind: Loss}}}
	var trace bytes.Buffer
	s.Trace, s.TraceDeliveries = &trace, true
	r := mustRun(t, s)
	if r.Lost == 0 || r.Checked != "a, b, c" {
		t.Errorf("lost %d, checked %q", r.Lost, r.Checked)
	}
	tr := trace.String()
	on, off := strings.Index(tr, "30.000000000s loss 0.3\n"), strings.Index(tr, "180.000000000s loss 0\n")
	if on < 0 || off < 0 {
		t.Fatalf("loss faults not traced")
	}
	if strings.Contains(tr[:on], " lost ") || strings.Contains(tr[off:], " lost ") || !strings.Contains(tr[on:off], " lost ") {
		t.Error("deliveries lost outside the lossy period, or none inside it")
	}
	// A bound shorter than a failover, and the leader crashing as the
	// loss ends: (b) is checked from then on and fails B later.
	s.Trace, s.Bound = nil, 2*time.Second
	s.Faults = append(s.Faults, Fault{At: 3 * time.Minute, Kind: Crash, Member: TheLeader})
	_, err := Run(s)
	var v *Violation
	if !errors.As(err, &v) || v.Invariant != "b" || v.At != 3*time.Minute+2*time.Second {
		t.Fatalf("want (b) violated at 3m2s, got %v", err)
	}
	// With the loss never reset, (b) and (c) are not checked after it.
	s.Faults = []Fault{s.Faults[0], s.Faults[2]}
	mustRun(t, s)
}
