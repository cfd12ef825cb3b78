package bellwether_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var testSettings = bellwether.Settings{
	ElectionTimeout:   time.Second,
	HeartbeatInterval: 2 * time.Second,
	HeartbeatTimeout:  8 * time.Second,
}

func newMachine(t *testing.T, id string) *bellwether.Machine {
	t.Helper()
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: testSettings, Mode: bellwether.ModeReference})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fx renders effects compactly: "send:request", "leading:true",
// "leader:a", "warn:leader timeout".
func fx(out bellwether.Output) []string {
	var s []string
	for _, e := range out.Effects {
		switch e.Kind {
		case bellwether.EffectBroadcast:
			s = append(s, "send:"+string(e.Event.Action))
		case bellwether.EffectLeading:
			if e.Leading {
				s = append(s, "leading:true")
			} else {
				s = append(s, "leading:false")
			}
		case bellwether.EffectLeader:
			s = append(s, "leader:"+e.Leader)
		case bellwether.EffectWarning:
			s = append(s, "warn:"+e.Warning.String())
		}
	}
	return s
}

func ev(a bellwether.Action, id string) bellwether.Event { return bellwether.NewEvent(a, id) }

func at(d time.Duration) time.Time { return t0.Add(d) }

func wantFx(t *testing.T, step string, out bellwether.Output, want ...string) {
	t.Helper()
	if got := fx(out); !slices.Equal(got, want) {
		t.Fatalf("%s: effects = %q, want %q", step, got, want)
	}
}

// wantLeader fails the test unless m knows leader as the leader.
func wantLeader(t *testing.T, m *bellwether.Machine, leader string) {
	t.Helper()
	if id, _ := m.Leader(); id != leader {
		t.Fatalf("leader = %q, want %q", id, leader)
	}
}

// leaderMachine returns "b" as an elected leader at t0+1s.
func leaderMachine(t *testing.T, id string) *bellwether.Machine {
	m := newMachine(t, id)
	m.Start(t0)
	wantFx(t, "elected", m.Tick(at(time.Second)), "leader:"+id, "leading:true", "send:current")
	return m
}

// followerMachine returns a machine that follows leader.
// wantFollowerIgnores checks that id, following leader, does nothing
// when a message with action a comes from from, and still follows leader.
func wantFollowerIgnores(t *testing.T, id, leader string, a bellwether.Action, from string) {
	t.Helper()
	m := followerMachine(t, id, leader)
	wantFx(t, string(a), m.Receive(at(time.Second), ev(a, from)))
	wantLeader(t, m, leader)
}

func followerMachine(t *testing.T, id, leader string) *bellwether.Machine {
	m := newMachine(t, id)
	m.Start(t0)
	wantFx(t, "follow", m.Receive(at(time.Millisecond), ev(bellwether.ActionCurrent, leader)), "leader:"+leader)
	return m
}

func TestRuleStart(t *testing.T) {
	m := newMachine(t, "b")
	out := m.Start(t0)
	wantFx(t, "start", out, "send:request")
	if !out.Next.Equal(at(time.Second)) {
		t.Fatalf("next = %v, want election timeout at +1s", out.Next)
	}
	if !m.Electing() {
		t.Fatal("not electing after start")
	}
	m.Receive(at(100*time.Millisecond), ev(bellwether.ActionAccept, "c"))
	m.Receive(at(200*time.Millisecond), ev(bellwether.ActionAccept, "a"))
	m.Receive(at(300*time.Millisecond), ev(bellwether.ActionAccept, "d"))
	wantFx(t, "before timeout", m.Tick(at(999*time.Millisecond)))
	out = m.Tick(at(time.Second))
	wantFx(t, "election end", out, "leader:a")
	if id, ok := m.Leader(); !ok || id != "a" || m.IsLeader() {
		t.Fatalf("Leader() = %q, %v; IsLeader %v", id, ok, m.IsLeader())
	}
	if !out.Next.Equal(at(9 * time.Second)) {
		t.Fatalf("next = %v, want heartbeat timeout at +9s", out.Next)
	}
	// Alone, a member elects itself.
	m2 := newMachine(t, "z")
	m2.Start(t0)
	wantFx(t, "alone", m2.Tick(at(time.Second)), "leader:z", "leading:true", "send:current")
	// Start is once only.
	wantFx(t, "restart", m2.Start(at(2*time.Second)))
}

func TestRuleRequestWithoutLeader(t *testing.T) {
	t.Run("joins the running election", func(t *testing.T) {
		m := newMachine(t, "b")
		m.Start(t0)
		wantFx(t, "request", m.Receive(at(10*time.Millisecond), ev(bellwether.ActionRequest, "a")), "send:accept")
		wantFx(t, "end", m.Tick(at(time.Second)), "leader:a")
	})
	t.Run("after deferring, a request joins the new election", func(t *testing.T) {
		m := newMachine(t, "b")
		m.Start(t0)
		m.Receive(at(time.Millisecond), ev(bellwether.ActionCurrent, "a"))
		wantFx(t, "withdraw", m.Receive(at(2*time.Millisecond), ev(bellwether.ActionWithdraw, "a")), "leader:", "send:request")
		m.Receive(at(3*time.Millisecond), ev(bellwether.ActionAccept, "c"))
		wantFx(t, "end", m.Tick(at(time.Second+2*time.Millisecond)), "leader:b", "leading:true", "send:current")
		wantFx(t, "deferring", m.Receive(at(1100*time.Millisecond), ev(bellwether.ActionCurrent, "a")),
			"warn:multiple leaders detected, deferring", "leader:", "leading:false", "send:request")
		// An election is running now; a request joins it: accept only.
		wantFx(t, "request joins", m.Receive(at(1200*time.Millisecond), ev(bellwether.ActionRequest, "c")), "send:accept")
		wantFx(t, "end2", m.Tick(at(2100*time.Millisecond)), "leader:b", "leading:true", "send:current")
	})
}

func TestRuleRequestWhileLeader(t *testing.T) {
	m := leaderMachine(t, "b")
	wantFx(t, "request", m.Receive(at(1500*time.Millisecond), ev(bellwether.ActionRequest, "a")), "send:current")
	if !m.IsLeader() {
		t.Fatal("a request must not unseat the leader")
	}
}

func TestRuleRequestWithOtherLeader(t *testing.T) {
	wantFollowerIgnores(t, "b", "c", bellwether.ActionRequest, "a")
}

func TestRuleCurrentWhileLeader(t *testing.T) {
	t.Run("deferring to a smaller id", func(t *testing.T) {
		m := leaderMachine(t, "b")
		out := m.Receive(at(1500*time.Millisecond), ev(bellwether.ActionCurrent, "a"))
		wantFx(t, "current", out, "warn:multiple leaders detected, deferring", "leader:", "leading:false", "send:request")
		if m.IsLeader() {
			t.Fatal("still leader")
		}
		if _, ok := m.Leader(); ok {
			t.Fatal("a leader is known after deferring")
		}
		if !m.Electing() {
			t.Fatal("no election after deferring")
		}
	})
	t.Run("staying against a larger id", func(t *testing.T) {
		m := leaderMachine(t, "b")
		out := m.Receive(at(1500*time.Millisecond), ev(bellwether.ActionCurrent, "c"))
		wantFx(t, "current", out, "warn:multiple leaders detected, staying", "send:request")
		if !m.IsLeader() || !m.Electing() {
			t.Fatalf("IsLeader %v Electing %v, want both", m.IsLeader(), m.Electing())
		}
		// The election ends with b, still leader: no new announcement.
		wantFx(t, "end", m.Tick(at(2500*time.Millisecond)))
		// Unless c accepted and is smaller... c is larger, so nothing;
		// an accept from a smaller id hands over.
		m.Receive(at(2600*time.Millisecond), ev(bellwether.ActionCurrent, "c"))
		m.Receive(at(2700*time.Millisecond), ev(bellwether.ActionAccept, "a"))
		// The heartbeat at 3s comes first, then the election ends.
		wantFx(t, "handover", m.Tick(at(3600*time.Millisecond)), "send:current", "leader:a", "leading:false")
	})
}

func TestRuleCurrentOtherwise(t *testing.T) {
	m := newMachine(t, "b")
	m.Start(t0)
	out := m.Receive(at(100*time.Millisecond), ev(bellwether.ActionCurrent, "c"))
	wantFx(t, "current", out, "leader:c")
	if m.Electing() {
		t.Fatal("election not cancelled")
	}
	if !out.Next.Equal(at(8100 * time.Millisecond)) {
		t.Fatalf("next = %v, want heartbeat timeout 8s after", out.Next)
	}
	// Each heartbeat restarts the timeout.
	out = m.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, "c"))
	wantFx(t, "heartbeat", out)
	if !out.Next.Equal(at(10 * time.Second)) {
		t.Fatalf("next = %v, want 10s", out.Next)
	}
	wantFx(t, "no timeout yet", m.Tick(at(9*time.Second)))
	// A different leader's current is simply followed.
	wantFx(t, "other leader", m.Receive(at(9500*time.Millisecond), ev(bellwether.ActionCurrent, "d")), "leader:d")
}

func TestRuleAccept(t *testing.T) {
	m := newMachine(t, "c")
	m.Start(t0)
	wantFx(t, "accept", m.Receive(at(time.Millisecond), ev(bellwether.ActionAccept, "b")))
	wantFx(t, "accept dup", m.Receive(at(2*time.Millisecond), ev(bellwether.ActionAccept, "b")))
	wantFx(t, "end", m.Tick(at(time.Second)), "leader:b")
}

func TestRuleWithdraw(t *testing.T) {
	t.Run("from the known leader", func(t *testing.T) {
		m := followerMachine(t, "b", "a")
		out := m.Receive(at(time.Second), ev(bellwether.ActionWithdraw, "a"))
		wantFx(t, "withdraw", out, "leader:", "send:request")
		wantFx(t, "end", m.Tick(at(2*time.Second)), "leader:b", "leading:true", "send:current")
	})
	t.Run("from a candidate", func(t *testing.T) {
		m := newMachine(t, "c")
		m.Start(t0)
		m.Receive(at(time.Millisecond), ev(bellwether.ActionAccept, "a"))
		m.Receive(at(2*time.Millisecond), ev(bellwether.ActionAccept, "b"))
		wantFx(t, "withdraw", m.Receive(at(3*time.Millisecond), ev(bellwether.ActionWithdraw, "a")))
		wantFx(t, "end", m.Tick(at(time.Second)), "leader:b")
	})
	t.Run("from a stranger", func(t *testing.T) {
		wantFollowerIgnores(t, "b", "a", bellwether.ActionWithdraw, "z")
	})
}

func TestRuleHeartbeat(t *testing.T) {
	t.Run("leader beats every interval", func(t *testing.T) {
		m := leaderMachine(t, "a")
		for i := 1; i <= 5; i++ {
			now := at(time.Second + time.Duration(i)*2*time.Second)
			wantFx(t, "just before", m.Tick(now.Add(-time.Nanosecond)))
			out := m.Tick(now)
			wantFx(t, "beat", out, "send:current")
			if !out.Next.Equal(now.Add(2 * time.Second)) {
				t.Fatalf("next = %v", out.Next)
			}
		}
	})
	t.Run("late tick does not replay beats", func(t *testing.T) {
		m := leaderMachine(t, "a")
		wantFx(t, "late", m.Tick(at(time.Minute)), "send:current")
	})
	t.Run("follower times out and elects", func(t *testing.T) {
		m := followerMachine(t, "b", "a")
		wantFx(t, "before", m.Tick(at(8*time.Second)))
		out := m.Tick(at(8*time.Second + time.Millisecond))
		wantFx(t, "timeout", out, "warn:leader timeout", "send:request")
		wantLeader(t, m, "a") // kept during this election, as in the reference
		wantFx(t, "end", m.Tick(at(9*time.Second+time.Millisecond)), "leader:b", "leading:true", "send:current")
	})
}

func TestRuleLeaderChangeOnce(t *testing.T) {
	m := leaderMachine(t, "a")
	// Repeated elections that keep a as leader do not report again.
	for i := 0; i < 3; i++ {
		base := at(time.Duration(10+i*5) * time.Second)
		m.Receive(base, ev(bellwether.ActionCurrent, "z"))
		out := m.Tick(base.Add(time.Second))
		for _, e := range out.Effects {
			if e.Kind == bellwether.EffectLeading {
				t.Fatal("leadership reported again without a change")
			}
		}
	}
	out := m.Receive(at(time.Minute), ev(bellwether.ActionCurrent, "0"))
	n := 0
	for _, e := range out.Effects {
		if e.Kind == bellwether.EffectLeading {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d leadership changes reported, want 1", n)
	}
}

func TestRuleIDOrder(t *testing.T) {
	// JavaScript compares UTF-16 code units: U+1F600 (D83D DE00) sorts
	// before U+FFFF, though its UTF-8 sorts after.
	m := newMachine(t, "\uffff")
	m.Start(t0)
	m.Receive(at(time.Millisecond), ev(bellwether.ActionAccept, "\U0001F600"))
	wantFx(t, "end", m.Tick(at(time.Second)), "leader:\U0001F600")

	l := leaderMachine(t, "\U0001F600")
	wantFx(t, "staying", l.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, "\uffff")),
		"warn:multiple leaders detected, staying", "send:request")
	l2 := leaderMachine(t, "\uffff")
	wantFx(t, "deferring", l2.Receive(at(2*time.Second), ev(bellwether.ActionCurrent, "\U0001F600")),
		"warn:multiple leaders detected, deferring", "leader:", "leading:false", "send:request")
}

func TestTimersAtOneInstantFireInCreationOrder(t *testing.T) {
	// Election timeout equal to heartbeat timeout: a withdrawal arms the
	// heartbeat timeout, then the election, both due at once. JavaScript
	// fires the heartbeat timeout first (created first): it warns and,
	// the election already running, elect() does nothing; then the
	// election ends.
	s := bellwether.Settings{ElectionTimeout: 3 * time.Second, HeartbeatInterval: time.Second, HeartbeatTimeout: 3 * time.Second}
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "b", Settings: s, Mode: bellwether.ModeReference})
	if err != nil {
		t.Fatal(err)
	}
	m.Start(t0)
	m.Receive(at(time.Millisecond), ev(bellwether.ActionCurrent, "a"))
	m.Receive(at(2*time.Millisecond), ev(bellwether.ActionWithdraw, "a"))
	wantFx(t, "both due", m.Tick(at(3*time.Second+2*time.Millisecond)),
		"warn:leader timeout", "leader:b", "leading:true", "send:current")
}

func TestObserver(t *testing.T) {
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "obs", Settings: testSettings, Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, "start", m.Start(t0))
	wantFx(t, "request", m.Receive(at(time.Millisecond), ev(bellwether.ActionRequest, "b")))
	wantFx(t, "current", m.Receive(at(2*time.Millisecond), ev(bellwether.ActionCurrent, "b")), "leader:b")
	wantFx(t, "timeout", m.Tick(at(9*time.Second)), "warn:leader timeout", "leader:")
	if out := m.Tick(at(time.Hour)); len(out.Effects) != 0 || !out.Next.IsZero() {
		t.Fatalf("idle observer: %q next %v", fx(out), out.Next)
	}
	m.Receive(at(time.Hour), ev(bellwether.ActionCurrent, "a"))
	wantFx(t, "withdraw", m.Receive(at(time.Hour+time.Second), ev(bellwether.ActionWithdraw, "a")), "leader:")
	wantFx(t, "shutdown", m.Shutdown(at(2*time.Hour), true))
}

func TestResign(t *testing.T) {
	m := leaderMachine(t, "a")
	out := m.Resign(at(5 * time.Second))
	wantFx(t, "resign", out, "send:withdraw", "leader:", "leading:false")
	// While abstaining it does not answer requests.
	wantFx(t, "request", m.Receive(at(5100*time.Millisecond), ev(bellwether.ActionRequest, "b")))
	// A new leader ends the abstention.
	wantFx(t, "new leader", m.Receive(at(6*time.Second), ev(bellwether.ActionCurrent, "b")), "leader:b")
	m.Receive(at(7*time.Second), ev(bellwether.ActionWithdraw, "b"))
	if !m.Electing() {
		t.Fatal("should elect again after the new leader withdrew")
	}
	// Alone, a resigned leader takes over again after the heartbeat timeout.
	m2 := leaderMachine(t, "a")
	m2.Resign(at(5 * time.Second))
	wantFx(t, "timeout", m2.Tick(at(13*time.Second)), "warn:leader timeout", "send:request")
	wantFx(t, "re-elected", m2.Tick(at(14*time.Second)), "leader:a", "leading:true", "send:current")
	// Resign of a non-leader does nothing.
	f := followerMachine(t, "b", "a")
	wantFx(t, "follower", f.Resign(at(time.Second)))
}

func TestShutdown(t *testing.T) {
	m := leaderMachine(t, "a")
	out := m.Shutdown(at(2*time.Second), true)
	wantFx(t, "clean", out, "send:withdraw")
	if !out.Next.IsZero() {
		t.Fatal("timers left after shutdown")
	}
	wantFx(t, "again", m.Shutdown(at(3*time.Second), true))
	wantFx(t, "receive", m.Receive(at(4*time.Second), ev(bellwether.ActionRequest, "b")))
	wantFx(t, "tick", m.Tick(at(time.Hour)))
	if !m.Closed() {
		t.Fatal("not closed")
	}
	m2 := leaderMachine(t, "a")
	wantFx(t, "unclean", m2.Shutdown(at(2*time.Second), false))
	// Before Start, Receive is ignored.
	m3 := newMachine(t, "c")
	wantFx(t, "before start", m3.Receive(t0, ev(bellwether.ActionRequest, "a")))
}

func TestNewMachineErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  bellwether.MachineConfig
		want string
	}{
		{bellwether.MachineConfig{}, "client id is empty"},
		{bellwether.MachineConfig{ID: "a", Settings: bellwether.Settings{ElectionTimeout: -1}}, "ElectionTimeout -1ns is negative"},
		{bellwether.MachineConfig{ID: "a", Mode: 9}, "invalid election mode"},
		{bellwether.MachineConfig{ID: "\xff"}, "not valid UTF-8"},
		{bellwether.MachineConfig{ID: strings.Repeat("x", 2000)}, "the limit is 1024"},
	} {
		_, err := bellwether.NewMachine(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewMachine(%+v) error = %v, want it to say %q", c.cfg.Settings, err, c.want)
		}
	}
}

func TestEffectStrings(t *testing.T) {
	for k, want := range map[bellwether.EffectKind]string{
		bellwether.EffectBroadcast: "broadcast", bellwether.EffectLeading: "leading",
		bellwether.EffectLeader: "leader", bellwether.EffectWarning: "warning", 0: "unknown",
	} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
	if bellwether.Warning(0).String() != "unknown warning" {
		t.Error("unknown warning string")
	}
}
