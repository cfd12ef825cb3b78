package bellwether

import (
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
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	off := func() {
		for _, tm := range m.timers() {
			tm.on = false
		}
	}
	for i, tm := range m.timers() {
		off()
		m.arm(tm, t0.Add(time.Duration(i)*time.Second))
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
			m.arm(a, t0.Add(time.Second))
			m.arm(b, t0)
			if got := m.nextTimer(); got != b {
				t.Fatalf("timers %d at 1s and %d at 0s: nextTimer found %p, want the second, %p", i, j, got, b)
			}
			m.arm(b, t0.Add(time.Second)) // the same instant, armed later
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
