package bellwether_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

func leaseMachine(t *testing.T, id string, mode bellwether.ElectionMode) *bellwether.Machine {
	t.Helper()
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: testSettings, Mode: mode, Lease: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ackAll acknowledges every broadcast of out at now and returns the
// effects of the acknowledgements.
func ackAll(m *bellwether.Machine, now time.Time, out bellwether.Output) []string {
	var seqs []uint64
	for _, e := range out.Effects {
		if e.Kind == bellwether.EffectBroadcast {
			seqs = append(seqs, e.Seq)
		}
	}
	var got []string
	for _, s := range seqs {
		got = append(got, fx(m.Acked(now, s))...)
	}
	return got
}

// leaseLeader returns a reference-mode leasing machine that has won its
// election, unacknowledged, and the Output of the winning step.
func leaseLeader(t *testing.T, id string) (*bellwether.Machine, bellwether.Output) {
	t.Helper()
	m := leaseMachine(t, id, bellwether.ModeReference)
	start := m.Start(t0)
	wantFx(t, "start", start, "send:request")
	ackAll(m, t0, start)
	// The election's timeout passes, but a new member waits until it has
	// listened for the lease's length (7.5s) before it wins.
	wantFx(t, "election timeout", m.Tick(at(time.Second)))
	if !m.Electing() {
		t.Fatal("not electing while it has not listened long enough")
	}
	won := m.Tick(at(7500 * time.Millisecond))
	wantFx(t, "won", won, "send:current")
	if m.IsLeader() {
		t.Fatal("leading before the first current was acknowledged")
	}
	return m, won
}

func TestLeaseStartsWhenTheFirstCurrentIsAcknowledged(t *testing.T) {
	m, won := leaseLeader(t, "a")
	if got := ackAll(m, at(7600*time.Millisecond), won); !slices.Equal(got, []string{"leader:a", "leading:true"}) {
		t.Fatalf("acknowledging the first current = %q", got)
	}
	end, ok := m.LeaseEnd()
	if !ok || !end.Equal(at(7500*time.Millisecond).Add(m.LeaseDuration())) {
		t.Fatalf("lease ends %v, %v; want 7.5s after the emission of the current", end, ok)
	}
}

// TestLeaseEndsAfterTheLastAcknowledgedHeartbeat runs a leader whose bus
// stops acknowledging at several phases of its heartbeat: the lease always
// ends LeaseDuration after the emission of the last acknowledged heartbeat,
// which is before any follower can start an election (HeartbeatTimeout
// after it heard that heartbeat) plus the election itself.
func TestLeaseEndsAfterTheLastAcknowledgedHeartbeat(t *testing.T) {
	for _, phase := range []time.Duration{0, 500 * time.Millisecond, time.Second, 1999 * time.Millisecond} {
		m, won := leaseLeader(t, "a")
		now := at(7500 * time.Millisecond)
		ackAll(m, now, won)
		lastAcked := now
		// Two heartbeats acknowledged, then the bus breaks phase after one.
		for i := 0; i < 2; i++ {
			now = now.Add(2 * time.Second)
			hb := m.Tick(now)
			wantFx(t, "heartbeat", hb, "send:current")
			ackAll(m, now, hb)
			lastAcked = now
		}
		brokeAt := lastAcked.Add(phase)
		// Heartbeats go out but are never acknowledged.
		for now = now.Add(2 * time.Second); now.Before(lastAcked.Add(m.LeaseDuration())); now = now.Add(2 * time.Second) {
			if !now.After(brokeAt) {
				continue
			}
			wantFx(t, "unacknowledged heartbeat", m.Tick(now), "send:current")
		}
		if !m.IsLeader() {
			t.Fatalf("phase %v: lease lost before it ran out", phase)
		}
		end := lastAcked.Add(m.LeaseDuration())
		if next := m.Next(); next.After(end) {
			t.Fatalf("phase %v: next tick %v is after the lease's end %v", phase, next, end)
		}
		wantFx(t, "lease end", m.Tick(end), "warn:leadership lease expired: no heartbeat was acknowledged in time", "leader:", "leading:false")
		// A follower that heard the last heartbeat elects no earlier than
		// HeartbeatTimeout later, and wins an ElectionTimeout after that.
		if earliest := lastAcked.Add(testSettings.HeartbeatTimeout + testSettings.ElectionTimeout); !end.Before(earliest) {
			t.Fatalf("phase %v: lease ends %v, not before the earliest rival %v", phase, end, earliest)
		}
	}
}

func TestLeaseFrozenLeaderStepsDownWithoutAStaleHeartbeat(t *testing.T) {
	m, won := leaseLeader(t, "a")
	ackAll(m, at(7500*time.Millisecond), won)
	// Frozen for 20s: every timer is overdue when it wakes.
	out := m.Tick(at(27500 * time.Millisecond))
	for _, e := range out.Effects {
		if e.Kind == bellwether.EffectBroadcast {
			t.Fatalf("a thawed leader broadcast %s: %q", e.Event.Action, fx(out))
		}
	}
	if m.IsLeader() {
		t.Fatal("still leading after the lease ran out")
	}
	// The same when the first thing it does on waking is hear a request.
	m2, won2 := leaseLeader(t, "a")
	ackAll(m2, at(7500*time.Millisecond), won2)
	out = m2.Receive(at(27500*time.Millisecond), ev(bellwether.ActionRequest, "b"))
	if got := fx(out); slices.Contains(got, "send:current") || !slices.Contains(got, "leading:false") {
		t.Fatalf("thawed leader hearing a request: %q", got)
	}
}

func TestLeaseElectionCountsOnlyWithAnAcknowledgedBroadcast(t *testing.T) {
	m := leaseMachine(t, "a", bellwether.ModeReference)
	wantFx(t, "start", m.Start(t0), "send:request") // never acknowledged
	// The election ends without an acknowledged broadcast of its own: it
	// runs again rather than win what nobody may have heard.
	wantFx(t, "rerun", m.Tick(at(time.Second)), "send:request")
	wantFx(t, "rerun", m.Tick(at(2*time.Second)), "send:request")
	if _, ok := m.Leader(); ok || m.IsLeader() {
		t.Fatal("won an election the bus never confirmed")
	}
}

func TestLeaseLostClaimWithoutAcknowledgement(t *testing.T) {
	m, _ := leaseLeader(t, "a")
	// The current that would start the lease is never acknowledged: the
	// claim is given up when a lease would have run out.
	out := m.Tick(at(7500 * time.Millisecond).Add(m.LeaseDuration()))
	if m.IsLeader() || slices.Contains(fx(out), "leading:true") {
		t.Fatalf("leading without an acknowledged heartbeat: %q", fx(out))
	}
	// A late acknowledgement of that current starts nothing.
	if got := fx(m.Acked(at(20*time.Second), 2)); slices.Contains(got, "leading:true") {
		t.Fatalf("a late acknowledgement started a lease: %q", got)
	}
}

func TestLeaseOwnIDStandsAside(t *testing.T) {
	m, won := leaseLeader(t, "a")
	ackAll(m, at(7500*time.Millisecond), won)
	out := m.Receive(at(8*time.Second), ev(bellwether.ActionCurrent, "a"))
	wantFx(t, "own id", out, "warn:another member uses this member's id; give every member a unique id", "leader:", "leading:false")
	if !m.Conflict() {
		t.Fatal("Conflict() = false")
	}
	// Requests are not answered and no election is stood for while the
	// conflict lasts.
	wantFx(t, "request during conflict", m.Receive(at(9*time.Second), ev(bellwether.ActionRequest, "b")))
	m.Receive(at(10*time.Second), ev(bellwether.ActionCurrent, "a"))
	// HeartbeatTimeout after the last message with its id, it stands again.
	out = m.Tick(at(18 * time.Second))
	if m.Conflict() || !slices.Contains(fx(out), "send:request") {
		t.Fatalf("after the conflict: %q, conflict %v", fx(out), m.Conflict())
	}
}

func TestLeaseDeafMemberStandsAside(t *testing.T) {
	m, won := leaseLeader(t, "a")
	ackAll(m, at(7500*time.Millisecond), won)
	wantFx(t, "deaf", m.Deaf(at(8*time.Second), true), "leader:", "leading:false")
	wantFx(t, "deaf, request", m.Receive(at(9*time.Second), ev(bellwether.ActionRequest, "b")))
	if got := fx(m.Tick(at(30 * time.Second))); slices.Contains(got, "send:request") {
		t.Fatalf("a deaf member elected: %q", got)
	}
	// Hearing again, it elects, but listens for the lease's length first.
	heard := m.Deaf(at(31*time.Second), false)
	wantFx(t, "hearing again", heard, "send:request")
	ackAll(m, at(31*time.Second), heard)
	if got := fx(m.Tick(at(32 * time.Second))); len(got) != 0 {
		t.Fatalf("won before listening long enough: %q", got)
	}
	if got := fx(m.Tick(at(31*time.Second + 7500*time.Millisecond))); !slices.Equal(got, []string{"send:current"}) {
		t.Fatalf("after listening: %q", got)
	}
}

func TestLeaseSettingsMustOutliveTheHeartbeat(t *testing.T) {
	_, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "a", Lease: true, Settings: bellwether.Settings{
		ElectionTimeout: time.Second, HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 2400 * time.Millisecond}})
	var se *bellwether.SettingsError
	if !errors.As(err, &se) || se.Field != "HeartbeatTimeout" {
		t.Fatalf("err = %v, want a SettingsError naming HeartbeatTimeout", err)
	}
}

// TestCandidatesAreBounded floods an election with accepts: the Machine
// keeps MaxCandidates of them, the smallest, so the winner is the one the
// reference would pick.
func TestCandidatesAreBounded(t *testing.T) {
	m := newMachine(t, "m")
	m.Start(t0)
	for i := 0; i < 3*bellwether.MaxCandidates; i++ {
		id := string(rune('n'+i%10)) + string(rune('a'+i/10%26)) + string(rune('a'+i/260))
		m.Receive(at(time.Millisecond), ev(bellwether.ActionAccept, id))
	}
	m.Receive(at(2*time.Millisecond), ev(bellwether.ActionAccept, "b"))
	if got := fx(m.Tick(at(time.Second))); !slices.Contains(got, "leader:b") {
		t.Fatalf("winner: %q, want b", got)
	}
}
