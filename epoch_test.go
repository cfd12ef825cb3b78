package bellwether_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// current returns the heartbeat of a bellwether leader.
func current(id string, epoch uint64, value string) bellwether.Event {
	e := ev(bellwether.ActionCurrent, id)
	e.Epoch, e.Value = epoch, value
	return e
}

// broadcasts returns the events a step broadcasts.
func broadcasts(out bellwether.Output) []bellwether.Event {
	var evs []bellwether.Event
	for _, e := range out.Effects {
		if e.Kind == bellwether.EffectBroadcast {
			evs = append(evs, e.Event)
		}
	}
	return evs
}

// leaderReports returns the EffectLeader effects of a step.
func leaderReports(out bellwether.Output) []bellwether.Effect {
	var fx []bellwether.Effect
	for _, e := range out.Effects {
		if e.Kind == bellwether.EffectLeader {
			fx = append(fx, e)
		}
	}
	return fx
}

func micros(t time.Time) uint64 { return uint64(t.UnixMicro()) }

// residues is the number of epoch classes (machine.go's epochResidues):
// a member takes the first epoch of its own class at or after the one the
// rules give.
const residues = 4096

// inClassAfter reports whether got is the first epoch of its class at or
// after lo, the class being class (got itself when class is unknown).
func inClassAfter(got, lo uint64) bool { return got >= lo && got < lo+residues }

// leadAlone starts a leasing machine of mode and runs it, acknowledging
// every broadcast, until it leads; it returns the machine and the time.
func leadAlone(t *testing.T, id string, mode bellwether.ElectionMode) (*bellwether.Machine, time.Time) {
	t.Helper()
	m := leaseMachine(t, id, mode)
	now := t0
	out := m.Start(now)
	for i := 0; i < 100 && !m.IsLeader(); i++ {
		ackAll(m, now, out)
		now = now.Add(100 * time.Millisecond)
		out = m.Tick(now)
	}
	if !m.IsLeader() {
		t.Fatalf("%s does not lead alone", id)
	}
	return m, now
}

func TestEpochOfAFirstLeadershipIsTheWallClock(t *testing.T) {
	m, won := leaseLeader(t, "a")
	wall := micros(at(7500 * time.Millisecond))
	evs := broadcasts(won)
	if len(evs) != 1 || !inClassAfter(evs[0].Epoch, wall) {
		t.Fatalf("winning current = %+v, want an epoch from %d (the wall clock in microseconds), in its class", evs, wall)
	}
	want := evs[0].Epoch
	if m.Epoch() != 0 {
		t.Fatalf("Epoch before the lease = %d, want 0: it does not lead yet", m.Epoch())
	}
	out := bellwether.Output{Effects: nil}
	for _, e := range won.Effects {
		out.Effects = append(out.Effects, m.Acked(at(7600*time.Millisecond), e.Seq).Effects...)
	}
	if r := leaderReports(out); len(r) != 1 || r[0].Leader != "a" || r[0].Epoch != want {
		t.Fatalf("leader reports on taking the lease = %+v, want a at epoch %d", r, want)
	}
	if m.Epoch() != want {
		t.Fatalf("Epoch = %d, want %d", m.Epoch(), want)
	}
	// Its heartbeats carry the epoch.
	if evs := broadcasts(m.Tick(at(9500 * time.Millisecond))); len(evs) != 1 || evs[0].Epoch != want {
		t.Fatalf("heartbeat = %+v, want epoch %d", evs, want)
	}
}

func TestEpochExceedsEveryEpochHeard(t *testing.T) {
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeReference, bellwether.ModeQuiet} {
		t.Run(mode.String(), func(t *testing.T) {
			m := leaseMachine(t, "a", mode)
			ackAll(m, t0, m.Start(t0))
			// A leader whose clock runs far ahead leads at a high epoch.
			high := micros(at(time.Hour))
			m.Receive(at(100*time.Millisecond), current("b", high, "b:80"))
			if m.Epoch() != high || m.Value() != "b:80" {
				t.Fatalf("follower's Epoch, Value = %d, %q; want %d, b:80", m.Epoch(), m.Value(), high)
			}
			// It withdraws; a wins, above it.
			out := m.Receive(at(time.Second), ev(bellwether.ActionWithdraw, "b"))
			if m.Epoch() != 0 || m.Value() != "" {
				t.Fatalf("with no leader, Epoch, Value = %d, %q; want 0, \"\"", m.Epoch(), m.Value())
			}
			now := at(time.Second)
			var epoch uint64
			for i := 0; i < 40 && epoch == 0; i++ {
				ackAll(m, now, out)
				for _, e := range broadcasts(out) {
					if e.Action == bellwether.ActionCurrent {
						epoch = e.Epoch
					}
				}
				now = now.Add(250 * time.Millisecond)
				out = m.Tick(now)
			}
			if !inClassAfter(epoch, high+1) {
				t.Fatalf("new leadership's epoch = %d, want the first of its class above the %d heard", epoch, high)
			}
		})
	}
}

// TestEpochRisesAboveBothWhenLeadersMeet: the leader that stays after
// meeting another moves above both epochs and says so; the one that
// defers learns the stayer's epoch.
func TestEpochRisesAboveBothWhenLeadersMeet(t *testing.T) {
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeReference, bellwether.ModeQuiet} {
		t.Run(mode.String(), func(t *testing.T) {
			a, now := leadAlone(t, "a", mode)
			mine := a.Epoch()
			theirs := mine + 1000
			out := a.Receive(now, current("b", theirs, ""))
			e1 := a.Epoch()
			// Its class is its own: the same step of residues from mine.
			if !a.IsLeader() || e1 <= theirs || e1 > theirs+residues || (e1-mine)%residues != 0 {
				t.Fatalf("after meeting b: leading %v at epoch %d, want leading above %d in its class", a.IsLeader(), e1, theirs)
			}
			if r := leaderReports(out); len(r) != 1 || r[0].Leader != "a" || r[0].Epoch != e1 {
				t.Fatalf("leader reports = %+v, want a at the new epoch", r)
			}
			if evs := broadcasts(a.Tick(now.Add(2 * time.Second))); len(evs) == 0 || evs[len(evs)-1].Epoch != e1 {
				t.Fatalf("next heartbeat = %+v, want epoch %d", evs, e1)
			}
			// A smaller epoch from the other leader: it still moves above
			// both, its own included.
			a.Receive(now.Add(2*time.Second), current("b", 5, ""))
			e2 := a.Epoch()
			if e2 != e1+residues {
				t.Fatalf("after meeting b at a smaller epoch: epoch %d, want %d", e2, e1+residues)
			}
			// A leader that deferred to it tells its epoch in a request:
			// it moves above both and answers at once.
			ask := ev(bellwether.ActionRequest, "b")
			ask.Epoch = 7
			out = a.Receive(now.Add(3*time.Second), ask)
			if evs := broadcasts(out); a.Epoch() != e2+residues || len(evs) != 1 || evs[0].Action != bellwether.ActionCurrent || evs[0].Epoch != e2+residues {
				t.Fatalf("after a deferring leader's request: epoch %d, answer %+v; want %d", a.Epoch(), evs, e2+residues)
			}

			// The one that defers tells its epoch with a request, whatever
			// the other's.
			for _, c := range []struct{ name string }{{"equal epochs"}, {"higher epoch"}, {"lower epoch"}} {
				b, now := leadAlone(t, "b", mode)
				mine := b.Epoch()
				other := mine
				switch c.name {
				case "higher epoch":
					other--
				case "lower epoch":
					other++
				}
				out := b.Receive(now, current("a", other, "a:1"))
				if b.IsLeader() {
					t.Fatalf("%s: b still leads after meeting a, which has the smaller id", c.name)
				}
				if mode == bellwether.ModeQuiet && (b.Epoch() != other || b.Value() != "a:1") {
					t.Fatalf("%s: b follows a at epoch %d, value %q; want %d, a:1", c.name, b.Epoch(), b.Value(), other)
				}
				var told uint64
				for _, e := range broadcasts(out) {
					if e.Action == bellwether.ActionRequest {
						told = e.Epoch
					}
				}
				if told != mine {
					t.Fatalf("%s: deferring, b's request carries epoch %d, want %d", c.name, told, mine)
				}
			}
		})
	}
}

func TestValueIsAnnouncedWhileLeading(t *testing.T) {
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "a", Settings: testSettings, Mode: bellwether.ModeReference, Lease: true, Value: "10.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	ackAll(m, t0, m.Start(t0))
	m.Tick(at(time.Second))
	won := m.Tick(at(7500 * time.Millisecond))
	if evs := broadcasts(won); len(evs) != 1 || evs[0].Value != "10.0.0.1:8080" {
		t.Fatalf("winning current = %+v, want the value", evs)
	}
	ackAll(m, at(7500*time.Millisecond), won)
	if m.Value() != "10.0.0.1:8080" {
		t.Fatalf("Value = %q", m.Value())
	}
	// Requests and withdrawals carry nothing but the reference's fields.
	if evs := broadcasts(m.Resign(at(8 * time.Second))); len(evs) != 1 || evs[0] != ev(bellwether.ActionWithdraw, "a") {
		t.Fatalf("withdrawal = %+v, want the reference's", evs)
	}
	if _, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "a", Lease: true, Value: strings.Repeat("x", bellwether.MaxValueLength+1)}); err == nil || !strings.Contains(err.Error(), "Value") {
		t.Fatalf("a value over the limit: err = %v, want one naming Value", err)
	}
}

// TestWithoutLeaseNoEpochs: the reference's port (no lease) sends exactly
// the reference's messages and ignores epochs.
func TestWithoutLeaseNoEpochs(t *testing.T) {
	m := leaderMachine(t, "a")
	for _, e := range broadcasts(m.Tick(at(3 * time.Second))) {
		if e != ev(e.Action, "a") {
			t.Fatalf("broadcast %+v has more than the reference's fields", e)
		}
	}
	f := followerMachine(t, "b", "a")
	f.Receive(at(2*time.Second), current("a", 7, "v"))
	if f.Epoch() != 0 || f.Value() != "" {
		t.Fatalf("a machine without a lease tracks epoch %d, value %q", f.Epoch(), f.Value())
	}
}

func preemptMachine(t *testing.T, id string) *bellwether.Machine {
	t.Helper()
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: testSettings, Lease: true, Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	ackAll(m, t0, m.Start(t0))
	return m
}

func takeovers(out bellwether.Output) []string {
	var to []string
	for _, e := range broadcasts(out) {
		if e.Action == bellwether.ActionRequest && e.Takeover != "" {
			to = append(to, e.Takeover)
		}
	}
	return to
}

func TestPreemptAsksALargerBellwetherLeader(t *testing.T) {
	m := preemptMachine(t, "a")
	if to := takeovers(m.Receive(at(100*time.Millisecond), current("b", 9, ""))); len(to) != 1 || to[0] != "b" {
		t.Fatalf("takeover requests = %q, want one to b", to)
	}
	// Not again within HeartbeatTimeout, whatever it hears.
	for d := 2 * time.Second; d < 8100*time.Millisecond; d += 2 * time.Second {
		if to := takeovers(m.Receive(at(d), current("b", 9, ""))); len(to) != 0 {
			t.Fatalf("at %v: asked again: %q", d, to)
		}
	}
	if to := takeovers(m.Receive(at(8200*time.Millisecond), current("b", 9, ""))); len(to) != 1 {
		t.Fatalf("after HeartbeatTimeout: takeover requests = %q, want one (the first may have been lost)", to)
	}

	// A reference leader (no epoch) cannot be asked; a smaller leader is
	// not preempted.
	r := preemptMachine(t, "a")
	if to := takeovers(r.Receive(at(time.Second), ev(bellwether.ActionCurrent, "b"))); len(to) != 0 {
		t.Fatalf("asked a reference leader: %q", to)
	}
	s := preemptMachine(t, "c")
	if to := takeovers(s.Receive(at(time.Second), current("b", 9, ""))); len(to) != 0 {
		t.Fatalf("asked a smaller leader: %q", to)
	}
	// Without Preempt nobody asks.
	n := leaseMachine(t, "a", bellwether.ModeQuiet)
	ackAll(n, t0, n.Start(t0))
	if to := takeovers(n.Receive(at(time.Second), current("b", 9, ""))); len(to) != 0 {
		t.Fatalf("asked without Preempt: %q", to)
	}
}

func TestLeaderReportsHandoverOncePerTerm(t *testing.T) {
	b, won := leaseLeader(t, "b")
	ackAll(b, at(7500*time.Millisecond), won)
	ask := ev(bellwether.ActionRequest, "a")
	ask.Takeover = "b"
	handovers := func(out bellwether.Output) (n int) {
		for _, e := range out.Effects {
			if e.Kind == bellwether.EffectHandover && e.Leader == "a" {
				n++
			}
		}
		return n
	}
	out := b.Receive(at(8*time.Second), ask)
	if handovers(out) != 1 || len(broadcasts(out)) != 0 {
		t.Fatalf("takeover request: effects %+v, want one handover and no broadcast", out.Effects)
	}
	if !b.IsLeader() {
		t.Fatal("the Machine stopped leading at once; the driver resigns once the work has stopped")
	}
	if handovers(b.Receive(at(9*time.Second), ask)) != 0 {
		t.Fatal("handover reported twice in one term")
	}
	// A larger member's takeover request is an ordinary request.
	big := ev(bellwether.ActionRequest, "c")
	big.Takeover = "b"
	if out := b.Receive(at(10*time.Second), big); handovers(out) != 0 || len(broadcasts(out)) != 1 {
		t.Fatalf("takeover from a larger id: %+v, want an ordinary answer", out.Effects)
	}
}

func TestResignedMemberDoesNotPreempt(t *testing.T) {
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "a", Settings: testSettings, Mode: bellwether.ModeReference, Lease: true, Preempt: true})
	if err != nil {
		t.Fatal(err)
	}
	ackAll(m, t0, m.Start(t0))
	m.Tick(at(time.Second))
	ackAll(m, at(7500*time.Millisecond), m.Tick(at(7500*time.Millisecond)))
	if !m.IsLeader() {
		t.Fatal("not leading")
	}
	m.Resign(at(8 * time.Second))
	if to := takeovers(m.Receive(at(9*time.Second), current("b", m.Epoch()+1, ""))); len(to) != 0 {
		t.Fatalf("a member that resigned asked for the office back: %q", to)
	}
}

func TestParseEventExtraFields(t *testing.T) {
	e, err := bellwether.ParseEvent([]byte(`{"type":"leader","action":"current","clientId":"a","epoch":9007199254740991,"value":"h\u00e9:1","takeover":"z","other":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := bellwether.Event{Type: "leader", Action: bellwether.ActionCurrent, ClientID: "a", Epoch: bellwether.MaxEpoch, Value: "hé:1", Takeover: "z"}
	if e != want {
		t.Fatalf("ParseEvent = %+v, want %+v", e, want)
	}
	if got := e.String(); got != `{"type":"leader","action":"current","clientId":"a","epoch":9007199254740991,"value":"hé:1","takeover":"z"}` {
		t.Fatalf("String = %s", got)
	}
	if got := ev(bellwether.ActionCurrent, "a").String(); got != `{"type":"leader","action":"current","clientId":"a"}` {
		t.Fatalf("without extra fields: %s, want the reference's bytes", got)
	}
	for _, c := range []struct{ msg, reason string }{
		{`"epoch":-1`, bellwether.ReasonEpoch},
		{`"epoch":1.5`, bellwether.ReasonEpoch},
		{`"epoch":1e3`, bellwether.ReasonEpoch},
		{`"epoch":9007199254740992`, bellwether.ReasonEpoch},
		{`"epoch":99999999999999999999`, bellwether.ReasonEpoch},
		{`"epoch":"1"`, bellwether.ReasonEpoch},
		{`"epoch":null`, bellwether.ReasonEpoch},
		{`"value":1`, bellwether.ReasonValue},
		{`"value":"` + strings.Repeat("v", bellwether.MaxValueLength+1) + `"`, bellwether.ReasonValue},
		{`"takeover":{}`, bellwether.ReasonTakeover},
		{`"takeover":"` + strings.Repeat("t", bellwether.MaxIDLength+1) + `"`, bellwether.ReasonTakeover},
	} {
		_, err := bellwether.ParseEvent([]byte(`{"type":"leader","action":"current","clientId":"a",` + c.msg + `}`))
		var ee *bellwether.EventError
		if !errors.As(err, &ee) || ee.Reason != c.reason {
			t.Errorf("%s: err = %v, want reason %s", c.msg, err, c.reason)
		}
	}
	bad := want
	bad.Epoch = bellwether.MaxEpoch + 1
	if _, err := bad.MarshalJSON(); err == nil {
		t.Error("MarshalJSON accepted an epoch over MaxEpoch")
	}
}

// TestEpochsOfTwoMembersDiffer: two members that heard the same epoch,
// their clocks behind it, each win on a side of a partition: their epochs
// differ, so a fenced store refuses one of them.
func TestEpochsOfTwoMembersDiffer(t *testing.T) {
	high := micros(at(time.Hour))
	var epochs []uint64
	for _, id := range []string{"a", "b", "c", "d"} {
		m := leaseMachine(t, id, bellwether.ModeReference)
		ackAll(m, t0, m.Start(t0))
		m.Receive(at(100*time.Millisecond), current("z", high, ""))
		m.Receive(at(200*time.Millisecond), ev(bellwether.ActionWithdraw, "z"))
		now := at(200 * time.Millisecond)
		for i := 0; i < 100 && !m.IsLeader(); i++ {
			ackAll(m, now, m.Tick(now))
			now = now.Add(100 * time.Millisecond)
			ackAll(m, now, m.Tick(now))
		}
		if !m.IsLeader() || !inClassAfter(m.Epoch(), high+1) {
			t.Fatalf("%s: leading %v at %d, want the first epoch of its class above %d", id, m.IsLeader(), m.Epoch(), high)
		}
		for _, e := range epochs {
			if e == m.Epoch() {
				t.Fatalf("%s took epoch %d, as another member did", id, e)
			}
		}
		epochs = append(epochs, m.Epoch())
	}
}

// TestBugsFuzzingFound: each case is a minimal form of an input the fuzz
// targets found (testdata/fuzz holds the originals).
func TestBugsFuzzingFound(t *testing.T) {
	// A value with an escaped lone surrogate is not text: rejected.
	_, err := bellwether.ParseEvent([]byte(`{"type":"leader","action":"current","clientId":"a","value":"\ud800"}`))
	var ee *bellwether.EventError
	if !errors.As(err, &ee) || ee.Reason != bellwether.ReasonValue {
		t.Errorf("value with a lone surrogate: %v, want a value error", err)
	}
	// Invalid events are ignored, as Receive says.
	m := leaseMachine(t, "b", bellwether.ModeQuiet)
	ackAll(m, t0, m.Start(t0))
	for _, e := range []bellwether.Event{
		{Type: "other", Action: bellwether.ActionCurrent, ClientID: "a"},
		{Type: "leader", Action: "nominate", ClientID: "a"},
		current("a", bellwether.MaxEpoch+1, ""),
		current("a", 1, strings.Repeat("v", bellwether.MaxValueLength+1)),
		current("a", 1, "\xff"),
		ev(bellwether.ActionCurrent, strings.Repeat("a", bellwether.MaxIDLength+1)),
	} {
		if e.Validate() == nil {
			t.Errorf("Validate accepts %+v", e)
		}
		if out := m.Receive(at(time.Second), e); len(out.Effects) != 0 || m.Epoch() != 0 {
			t.Errorf("invalid event %+v: effects %v, epoch %d", e, fx(out), m.Epoch())
		}
		if l, ok := m.Leader(); ok {
			t.Errorf("invalid event %+v made %q leader", e, l)
		}
	}
	// An observer never leads, even on a current with its own id.
	o, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "o", Settings: testSettings, Observer: true, Mode: bellwether.ModeReference})
	if err != nil {
		t.Fatal(err)
	}
	o.Start(t0)
	o.Receive(at(time.Second), ev(bellwether.ActionCurrent, "o"))
	if o.IsLeader() {
		t.Error("an observer leads on a current with its own id")
	}
	// A member that never started has nothing to withdraw from; one
	// without a lease has no epoch or value.
	n := newMachine(t, "n")
	if out := n.Shutdown(t0, true); len(out.Effects) != 0 {
		t.Errorf("Shutdown before Start: effects %v", fx(out))
	}
	v, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "v", Settings: testSettings, Mode: bellwether.ModeReference, Value: "x"})
	if err != nil {
		t.Fatal(err)
	}
	v.Start(t0)
	v.Tick(at(time.Second))
	if !v.IsLeader() || v.Value() != "" || v.Epoch() != 0 {
		t.Errorf("without a lease: leading %v, value %q, epoch %d; want no value or epoch", v.IsLeader(), v.Value(), v.Epoch())
	}
	// A step after Shutdown does nothing, even past the end of a lease.
	l, won := leaseLeader(t, "a")
	ackAll(l, at(7500*time.Millisecond), won)
	l.Shutdown(at(8*time.Second), false)
	if out := l.Tick(at(time.Minute)); len(out.Effects) != 0 || !out.Next.IsZero() {
		t.Errorf("a step after Shutdown: effects %v, next %v", fx(out), out.Next)
	}
}

// TestHandoverWaitsForTheLease: a takeover request that comes before the
// leader holds its lease is ignored, not lost: the one after is reported.
func TestHandoverWaitsForTheLease(t *testing.T) {
	b, won := leaseLeader(t, "b")
	ask := ev(bellwether.ActionRequest, "a")
	ask.Takeover = "b"
	reported := func(out bellwether.Output) bool {
		for _, e := range out.Effects {
			if e.Kind == bellwether.EffectHandover {
				return true
			}
		}
		return false
	}
	if reported(b.Receive(at(7600*time.Millisecond), ask)) {
		t.Fatal("handover reported before the lease")
	}
	ackAll(b, at(7700*time.Millisecond), won)
	if !b.IsLeader() {
		t.Fatal("no lease")
	}
	if !reported(b.Receive(at(8*time.Second), ask)) {
		t.Fatal("the request after the lease was not reported")
	}
}
