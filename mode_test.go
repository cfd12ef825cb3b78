package bellwether_test

import (
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

func newQuiet(t *testing.T, id string, seed uint64) *bellwether.Machine {
	t.Helper()
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: testSettings, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode() != bellwether.ModeQuiet {
		t.Fatal("the zero Mode must be ModeQuiet")
	}
	return m
}

// quietLeader returns a quiet member that leads, alone.
func quietLeader(t *testing.T, id string) *bellwether.Machine {
	m := newQuiet(t, id, 1)
	m.Start(t0)
	// The jittered request, then the election's end.
	out := m.Tick(m.Next())
	wantFx(t, "request", out, "send:request")
	wantFx(t, "elected", m.Tick(at(time.Second)), "leader:"+id, "leading:true", "send:current")
	return m
}

func TestQuietStartWaitsAJitteredDelay(t *testing.T) {
	m := newQuiet(t, "b", 7)
	out := m.Start(t0)
	wantFx(t, "start", out) // silent at first
	if d := out.Next.Sub(t0); d < 0 || d >= testSettings.ElectionTimeout/4 {
		t.Fatalf("request delayed by %v, want [0, %v)", d, testSettings.ElectionTimeout/4)
	}
	// A smaller candidate speaks first: b stays silent and follows the
	// election's result.
	m.Receive(t0, ev(bellwether.ActionRequest, "a"))
	wantFx(t, "suppressed", m.Tick(out.Next))
	wantFx(t, "end", m.Tick(at(time.Second)), "leader:a")
}

func TestQuietAnswersOnlyAsSmallestCandidate(t *testing.T) {
	m := newQuiet(t, "m", 3)
	m.Start(t0)
	// A larger requester: m is the smallest it knows, so it answers (after
	// a jitter), with accept since a request was heard.
	wantFx(t, "request from z", m.Receive(t0, ev(bellwether.ActionRequest, "z")))
	var out bellwether.Output
	for i := 0; i < 3 && len(out.Effects) == 0; i++ {
		out = m.Tick(m.Next())
	}
	wantFx(t, "answer", out, "send:accept")
	// A smaller candidate is known: later requests get no answer.
	m2 := newQuiet(t, "m", 4)
	m2.Start(t0)
	m2.Receive(t0, ev(bellwether.ActionAccept, "a"))
	m2.Receive(t0, ev(bellwether.ActionRequest, "z"))
	for !m2.Next().IsZero() && m2.Next().Before(at(time.Second)) {
		wantFx(t, "silent", m2.Tick(m2.Next()))
	}
	wantFx(t, "end", m2.Tick(at(time.Second)), "leader:a")
}

func TestQuietTimeoutForgetsTheLeader(t *testing.T) {
	m := newQuiet(t, "b", 5)
	m.Start(t0)
	m.Receive(at(time.Millisecond), ev(bellwether.ActionCurrent, "a"))
	out := m.Tick(at(8*time.Second + time.Millisecond))
	wantFx(t, "timeout", out, "warn:leader timeout", "leader:")
	// Now it answers requests like a member with no leader.
	m.Receive(at(8*time.Second+2*time.Millisecond), ev(bellwether.ActionRequest, "c"))
	if !m.Electing() {
		t.Fatal("not electing after the timeout")
	}
}

func TestQuietTwoLeadersSettleWithoutAnElection(t *testing.T) {
	big := quietLeader(t, "b")
	wantFx(t, "deferring", big.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, "a")),
		"warn:multiple leaders detected, deferring", "leader:a", "leading:false")
	if big.Electing() {
		t.Fatal("the deferring leader elects")
	}
	small := quietLeader(t, "a")
	// The smaller carries on; its next heartbeat tells the other.
	wantFx(t, "staying", small.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, "b")),
		"warn:multiple leaders detected, staying")
	for _, id := range []string{"c", "d", "e"} { // many leaders at once cost nothing
		wantFx(t, "more", small.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, id)),
			"warn:multiple leaders detected, staying")
	}
	if small.Electing() || !small.IsLeader() {
		t.Fatal("the staying leader must keep leading without an election")
	}
}
