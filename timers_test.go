package bellwether

import (
	"math"
	"testing"
	"time"
)

// nextTimer finds each timer when that one alone is on, and of two the
// earliest, then the first armed, whatever their places in timers' list.
func TestNextTimerSeesEveryTimer(t *testing.T) {
	m, err := NewMachine(MachineConfig{ID: "a", Mode: ModeReference, Lease: true})
	if err != nil {
		t.Fatal(err)
	}
	const t0, second = instant(0), instant(time.Second)
	off := func() {
		for _, tm := range m.timers() {
			tm.on = false
		}
	}
	for i, tm := range m.timers() {
		off()
		m.arm(tm, t0+instant(i)*second)
		if got := m.nextTimer(); got != tm {
			t.Fatalf("timer %d alone is on, nextTimer found %p, want %p", i, got, tm)
		}
	}
	for i := range m.timers() {
		for j := range m.timers() {
			if i == j {
				continue
			}
			off()
			a, b := m.timers()[i], m.timers()[j]
			m.arm(a, t0+second)
			m.arm(b, t0)
			if got := m.nextTimer(); got != b {
				t.Fatalf("timers %d at 1s and %d at 0s: nextTimer found %p, want the second, %p", i, j, got, b)
			}
			m.arm(b, t0+second) // the same instant, armed later
			if got := m.nextTimer(); got != a {
				t.Fatalf("timers %d and %d at 1s, %d armed first: nextTimer found %p, want %p", i, j, i, got, a)
			}
		}
	}
	off()
	if got := m.nextTimer(); got != nil || !m.Next().IsZero() {
		t.Fatalf("no timer on: nextTimer found %p, Next %v", got, m.Next())
	}
}

// A leasing member keeps the record of its broadcasts (for Acked) only
// while an acknowledgement can count: from its first broadcast until it
// follows a leader. A follower at rest holds none; acknowledgements that
// come after it let the record go are ignored; the next broadcast makes a
// new one whose acknowledgements count again.
func TestSentRecordOnlyWhileItCounts(t *testing.T) {
	m, err := NewMachine(MachineConfig{ID: "b", Lease: true, Mode: ModeReference})
	if err != nil {
		t.Fatal(err)
	}
	if m.sent != nil {
		t.Fatal("a new Machine holds a broadcast record")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := m.Start(now)
	if m.sent == nil || len(out.Effects) == 0 {
		t.Fatalf("after its request (%v) the member holds no record", out.Effects)
	}
	req := out.Effects[0].Seq
	now = now.Add(time.Second)
	m.Receive(now, NewEvent(ActionCurrent, "a"))
	if l, _ := m.Leader(); l != "a" || m.sent != nil {
		t.Fatalf("following %q, the member holds a record: %v", l, m.sent != nil)
	}
	if out := m.Acked(now, req); len(out.Effects) != 0 || m.sent != nil {
		t.Fatalf("a late acknowledgement did %v", out.Effects)
	}
	// a leaves; b elects, and its acknowledged request makes it win.
	now = now.Add(time.Second)
	out = m.Receive(now, NewEvent(ActionWithdraw, "a"))
	var seq uint64
	for _, e := range out.Effects {
		if e.Kind == EffectBroadcast && e.Event.Action == ActionRequest {
			seq = e.Seq
		}
	}
	if seq == 0 || m.sent == nil {
		t.Fatalf("electing again, effects %+v, record %v", out.Effects, m.sent != nil)
	}
	m.Acked(now, seq)
	if !m.electAcked {
		t.Fatal("the new election's acknowledged request does not count")
	}
}

// A leader whose heartbeats are acknowledged before the next keeps no
// broadcast record at rest, and at most a slot or two of memory for one;
// a record goes once acknowledged, and a repeated acknowledgement finds
// none. Of broadcasts never acknowledged, only the last sentRing are kept.
func TestSentRecordsAtRest(t *testing.T) {
	m, err := NewMachine(MachineConfig{ID: "a", Mode: ModeReference, Lease: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ack := func(out Output) {
		for _, e := range out.Effects {
			if e.Kind == EffectBroadcast {
				m.Acked(now, e.Seq)
			}
		}
	}
	ack(m.Start(now))
	beats := 0
	for step := 0; beats < 50; step++ {
		if step > 1000 {
			t.Fatalf("no 50 heartbeats in 1000 steps; leading %v", m.IsLeader())
		}
		now = m.Next()
		out := m.Tick(now)
		if m.IsLeader() {
			beats++
		}
		ack(out)
		if m.IsLeader() && (len(m.sent) != 0 || cap(m.sent) > 2) {
			t.Fatalf("heartbeat %d acknowledged, the leader holds %d records in room for %d", beats, len(m.sent), cap(m.sent))
		}
	}
	seq := m.bseq
	m.emitted(m.clock(now), ActionCurrent)
	m.Acked(now, seq+1)
	if len(m.sent) != 0 {
		t.Fatalf("an acknowledged broadcast is still recorded: %+v", m.sent)
	}
	for range 2 * sentRing {
		m.emitted(m.clock(now), ActionCurrent)
	}
	if len(m.sent) != sentRing || m.sent[0].seq != m.bseq-sentRing+1 {
		t.Fatalf("after %d broadcasts never acknowledged, %d records from %d; want the last %d", 2*sentRing, len(m.sent), m.sent[0].seq, sentRing)
	}
}

// A follower at rest holds neither a buffer for effects nor its
// election's candidates (heap, per member): the next election starts
// without them, and elects as before.
func TestFollowerHoldsNoBuffers(t *testing.T) {
	for _, lease := range []bool{false, true} {
		m, err := NewMachine(MachineConfig{ID: "b", Mode: ModeReference, Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m.Start(now)
		m.Receive(now, NewEvent(ActionAccept, "c"))
		if m.candidates.Len() != 2 || cap(m.out) == 0 {
			t.Fatalf("lease %v: electing, %d candidates and room for %d effects", lease, m.candidates.Len(), cap(m.out))
		}
		m.Receive(now.Add(time.Second), NewEvent(ActionCurrent, "a"))
		m.Receive(now.Add(2*time.Second), NewEvent(ActionCurrent, "a"))
		if m.out != nil || m.candidates.slots != nil || m.candidates.Len() != 0 {
			t.Fatalf("lease %v: a follower at rest holds room for %d effects and %d candidate slots", lease, cap(m.out), len(m.candidates.slots))
		}
		// a leaves: b elects again, with itself as its only candidate,
		// and wins.
		now = now.Add(3 * time.Second)
		out := m.Receive(now, NewEvent(ActionWithdraw, "a"))
		if !m.Electing() || m.candidates.Len() != 1 || len(out.Effects) == 0 {
			t.Fatalf("lease %v: after the leader's withdrawal, electing %v with %d candidates, effects %+v", lease, m.Electing(), m.candidates.Len(), out.Effects)
		}
	}
}

// A Machine's instants saturate instead of wrapping (settings are not
// bounded), keep never below every instant clock returns, and turn back
// into the times they came from.
func TestInstantArithmetic(t *testing.T) {
	const top = instant(math.MaxInt64)
	if got := (top - 5).add(time.Hour); got != top {
		t.Errorf("add past the top gives %d, want %d", got, top)
	}
	if got := instant(7).add(-3); got != 4 {
		t.Errorf("7 add -3 = %d", got)
	}
	if got := (never + 1).sub(top); got != math.MinInt64 {
		t.Errorf("the smallest minus the largest gives %v, want the least Duration", got)
	}
	if got := top.sub(never + 1); got != math.MaxInt64 {
		t.Errorf("the largest minus the smallest gives %v, want the greatest Duration", got)
	}
	if got := instant(10).sub(3); got != 7 {
		t.Errorf("10 sub 3 = %v", got)
	}
	m, err := NewMachine(MachineConfig{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := m.clock(t0); got != 0 {
		t.Fatalf("the first step is instant %d, want 0", got)
	}
	for _, at := range []time.Time{t0.Add(time.Second), t0.Add(-time.Hour), {}} {
		c := m.clock(at)
		if c <= never {
			t.Errorf("clock(%v) = %d, not above never", at, c)
		}
		if at.IsZero() {
			continue // beyond a Duration from t0: saturated
		}
		if back := m.timeOf(c); !back.Equal(at) {
			t.Errorf("timeOf(clock(%v)) = %v", at, back)
		}
	}
}

// Timers armed across the end of the 32-bit count, due at the same
// instant, fire in the order they were armed: arm renumbers them first.
func TestTimerOrderAcrossRenumbering(t *testing.T) {
	m, err := NewMachine(MachineConfig{ID: "a", Mode: ModeReference, Lease: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := m.timers()
	for _, tm := range ts {
		tm.on = false
	}
	m.seq = math.MaxUint32 - 2
	at := instant(time.Second)
	order := []*timer{ts[5], ts[3], ts[0], ts[7], ts[1]} // armed in this order
	for _, tm := range order {
		m.arm(tm, at)
	}
	for i, want := range order {
		if got := m.nextTimer(); got != want {
			t.Fatalf("timer %d armed: nextTimer found %p, want %p", i, got, want)
		}
		want.on = false
	}
	if m.seq >= math.MaxUint32-2 {
		t.Errorf("after the count ran out, it is %d", m.seq)
	}
}
