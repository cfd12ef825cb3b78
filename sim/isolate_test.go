package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// between returns the trace from the first occurrence of from up to the
// first occurrence of to, or "" if either is missing.
func between(trace, from, to string) string {
	i, j := strings.Index(trace, from), strings.Index(trace, to)
	if i < 0 || j < i {
		return ""
	}
	return trace[i:j]
}

// TestIsolate: a leader cut off from the bus keeps leading (nothing tells
// it otherwise) while the others, hearing nothing, elect another; what it
// sends reaches nobody and it hears nothing; once reconnected the group
// agrees again.
func TestIsolate(t *testing.T) {
	s := Scenario{Members: 5, Modes: quiet, Latency: lan, Duration: 80 * time.Second, Seed: 4,
		Faults: []Fault{{At: 20 * time.Second, Kind: Isolate, Member: TheLeader, For: 20 * time.Second}},
		Probes: []time.Duration{39 * time.Second, 80 * time.Second},
	}
	var trace bytes.Buffer
	s.Trace, s.TraceDeliveries = &trace, true
	r := mustRun(t, s)
	tr := trace.String()
	if !strings.Contains(tr, "20.000000000s isolate m0 (leader)\n") || !strings.Contains(tr, "40.000000000s reconnect m0\n") {
		t.Fatalf("isolation not traced:\n%s", tr)
	}
	cut := between(tr, "isolate m0", "reconnect m0")
	if strings.Contains(cut, " from m0\n") || strings.Contains(cut, "m0 recv") {
		t.Errorf("m0 reached the others or heard them while cut off:\n%s", cut)
	}
	if !strings.Contains(cut, "m0 send current (heartbeat) (cut off from the bus)") || !strings.Contains(cut, "m0 cut current from m1") {
		t.Errorf("cut-off sends and deliveries not traced:\n%s", cut)
	}
	p := r.Probes[0]
	if !p.Members[0].Leading || !p.Members[1].Leading || p.Members[2].Leader != "m1" {
		t.Errorf("while m0 is cut off: %+v", p.Members)
	}
	if r.MultiLeader < 10*time.Second {
		t.Errorf("two leaders for only %v", r.MultiLeader)
	}
	for _, m := range r.Probes[1].Members {
		if m.Leader != "m0" || m.Leading != (m.ID == "m0") {
			t.Errorf("after the reconnection: %+v", r.Probes[1].Members)
			break
		}
	}
	if rc := recovery(t, r, "reconnect"); rc.Converged != 1 {
		t.Errorf("reconnect: %+v", rc)
	}
	// Until the next heal when no duration is given.
	s.Faults = []Fault{{At: 20 * time.Second, Kind: Isolate, Member: 3}, {At: 30 * time.Second, Kind: Heal}}
	trace.Reset()
	mustRun(t, s)
	if !strings.Contains(trace.String(), "30.000000000s heal\n30.000000000s reconnect m3\n") {
		t.Errorf("heal did not reconnect m3")
	}
}

// TestFreeze: a frozen member neither hears nor sends nor ticks; at the
// thaw it gets one late Tick, then what arrived meanwhile. A frozen leader is replaced by the others
// after HeartbeatTimeout + ElectionTimeout and, without a lease, announces
// itself again when it thaws.
func TestFreeze(t *testing.T) {
	st := Scenario{}.Settings.WithDefaults()
	s := Scenario{Members: 4, Modes: quiet, Latency: lan, Duration: time.Minute, Seed: 2,
		Faults: []Fault{{At: 20 * time.Second, Kind: Freeze, Member: TheLeader, For: 15 * time.Second},
			{At: 25 * time.Second, Kind: Withdraw, Member: 0}, // no-op: frozen
		},
		Probes: []time.Duration{34 * time.Second}}
	var trace bytes.Buffer
	s.Trace, s.TraceDeliveries = &trace, true
	r := mustRun(t, s)
	tr := trace.String()
	frozen := between(tr, "20.000000000s freeze m0 (leader)", "35.000000000s thaw m0 (leader)")
	if frozen == "" {
		t.Fatalf("freeze and thaw not traced:\n%s", tr)
	}
	if strings.Contains(frozen, "m0 send") || strings.Contains(frozen, "m0 recv") || !strings.Contains(frozen, "m0 frozen, holds current from m1") {
		t.Errorf("m0 was not frozen:\n%s", frozen)
	}
	if !strings.Contains(frozen, "no-op fault: at 25s withdraw 0") {
		t.Errorf("withdrawing a frozen member is not a no-op:\n%s", frozen)
	}
	// The others elect m1 HT + ET after the last heartbeat they heard.
	p := r.Probes[0]
	if !p.Members[0].Leading || !p.Members[1].Leading || p.Members[2].Leader != "m1" {
		t.Errorf("while m0 is frozen: %+v", p.Members)
	}
	if !strings.Contains(frozen, "m1 leading") {
		t.Errorf("no new leader by the thaw (due HT + ET = %v after the last heartbeat)", st.HeartbeatTimeout+st.ElectionTimeout)
	}
	// The late Tick: m0 sends its overdue heartbeat at the thaw itself.
	if !strings.Contains(tr, "35.000000000s thaw m0 (leader)\n35.000000000s m0 send current (heartbeat)\n") {
		t.Errorf("no late Tick at the thaw:\n%s", between(tr, "thaw m0", "40.000000000s"))
	}
	if rc := recovery(t, r, "thaw"); rc.Converged != 1 {
		t.Errorf("thaw: %+v", rc)
	}
	// A frozen member can crash; its thaw then does nothing.
	s.Faults[1].Kind = Crash
	trace.Reset()
	mustRun(t, s)
	if strings.Contains(trace.String(), "thaw m0") || !strings.Contains(trace.String(), "25.000000000s crash m0 (leader)") {
		t.Errorf("crash of a frozen member")
	}
}
