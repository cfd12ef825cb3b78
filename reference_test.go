package bellwether_test

// The reference implementation's own test suite (trimerge-sync 0.20.0,
// src/lib/LeaderManager.test.ts), ported scenario by scenario with the same
// expectations, in virtual time.
//
// The reference's test channel (MemoryBroadcastChannel) queues a paused
// member's outgoing messages and flushes them on resume; the test replaces
// its onMessage, so a paused member still hears the others. refBus models
// exactly that. The reference uses an election timeout of 0; zero means the
// default here, so the port uses 1ms, and each `await timeout()` becomes a
// step of 5ms of virtual time. JavaScript orders events at one instant by
// timer creation, that is by member creation here, so events are sorted by
// (time, member) before they are compared.

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
)

var refSettings = bellwether.Settings{
	ElectionTimeout:   time.Millisecond,
	HeartbeatInterval: 10 * time.Millisecond,
	HeartbeatTimeout:  50 * time.Millisecond,
}

type refEvent struct {
	at    time.Time
	index int
	text  string
}

type refBus struct {
	t       *testing.T
	mu      sync.Mutex
	members []*refMember
	events  []refEvent
	all     []*refMember
}

type refMember struct {
	bus    *refBus
	index  int
	mgr    *bellwether.Manager
	early  []bellwether.Event // heard before NewManager returned
	paused bool
	queue  []bellwether.Event
	closed bool
}

func newRefBus(t *testing.T) *refBus {
	b := &refBus{t: t}
	t.Cleanup(func() {
		for _, m := range b.all {
			m.close(true)
		}
	})
	return b
}

// join is the reference's makeLeaderManager.
func (b *refBus) join(id string) *refMember {
	// Like the reference's channel, the member is on the bus before its
	// manager starts, so that it hears answers to its first request.
	b.mu.Lock()
	m := &refMember{bus: b, index: len(b.all)}
	b.all = append(b.all, m)
	b.members = append(b.members, m)
	b.mu.Unlock()
	mgr, err := bellwether.NewManager(bellwether.ManagerConfig{ID: id, OnLeaderChange: func(leading bool) {
		text := id + " is demoted"
		if leading {
			text = id + " is promoted to leader"
		}
		b.mu.Lock()
		b.events = append(b.events, refEvent{time.Now(), m.index, text})
		b.mu.Unlock()
	}, Broadcast: m.post, Settings: refSettings, Mode: bellwether.ModeReference, Logger: quietLogger})

	if err != nil {
		b.t.Fatal(err)
	}
	b.mu.Lock()
	m.mgr = mgr
	for _, e := range m.early {
		mgr.Receive(e) // never blocks, so it may run under the lock
	}
	m.early = nil
	b.mu.Unlock()
	return m
}

func (m *refMember) post(e bellwether.Event) {
	b := m.bus
	b.mu.Lock()
	if m.closed {
		b.mu.Unlock()
		return
	}
	if m.paused {
		m.queue = append(m.queue, e)
		b.mu.Unlock()
		return
	}
	var to []*bellwether.Manager
	for _, o := range b.members {
		switch {
		case o == m:
		case o.mgr == nil:
			o.early = append(o.early, e)
		default:
			to = append(to, o.mgr)
		}
	}
	b.mu.Unlock()
	for _, mgr := range to {
		mgr.Receive(e)
	}
}

func (m *refMember) setPaused(p bool) {
	b := m.bus
	b.mu.Lock()
	m.paused = p
	var flush []bellwether.Event
	if !p && !m.closed {
		flush, m.queue = m.queue, nil
	}
	b.mu.Unlock()
	for _, e := range flush {
		m.post(e)
	}
}

// close is the reference helper's close: shut down, leave the channel, and
// let in-flight messages land.
func (m *refMember) close(clean bool) {
	m.mgr.Shutdown(clean)
	b := m.bus
	b.mu.Lock()
	if !m.closed {
		m.closed = true
		b.members = slices.DeleteFunc(b.members, func(o *refMember) bool { return o == m })
	}
	b.mu.Unlock()
	tick()
	tick()
}

// tick is the reference's `await timeout()`.
func tick() { wait(5 * time.Millisecond) }

func wait(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func (b *refBus) expect(want ...string) {
	b.t.Helper()
	synctest.Wait()
	b.mu.Lock()
	ev := slices.Clone(b.events)
	b.mu.Unlock()
	slices.SortStableFunc(ev, func(x, y refEvent) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.index - y.index
	})
	var got []string
	for _, e := range ev {
		got = append(got, e.text)
	}
	if !slices.Equal(got, want) {
		b.t.Fatalf("events:\n got  %q\n want %q", got, want)
	}
}

func refTest(t *testing.T, f func(t *testing.T, b *refBus)) {
	synctest.Test(t, func(t *testing.T) { f(t, newRefBus(t)) })
}

func TestReference_MakesLeaderOf1(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		b.expect("a is promoted to leader")
	})
}

func TestReference_IgnoresEventsAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []bellwether.Event
		lm, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "test", OnLeaderChange: func(bool) { t.Error("unexpected leader change") }, Broadcast: func(e bellwether.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }, Mode: bellwether.ModeReference})

		if err != nil {
			t.Fatal(err)
		}
		lm.Shutdown(true)
		tick()
		lm.Receive(bellwether.NewEvent(bellwether.ActionRequest, "foo"))
		synctest.Wait()
		want := []bellwether.Event{
			bellwether.NewEvent(bellwether.ActionRequest, "test"),
			bellwether.NewEvent(bellwether.ActionWithdraw, "test"),
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(events, want) {
			t.Fatalf("broadcasts = %v, want %v", events, want)
		}
	})
}

func TestReference_AllowsDoubleClose(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		lm1.close(true)
		lm1.close(true)
		b.expect("b is promoted to leader")
		lm2.close(true)
	})
}

func TestReference_MakesLeaderWith2TransfersAfterClose(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm2.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
	})
}

func TestReference_MakesLeaderWith2Then1(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm3 := b.join("0")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		lm2.close(true)
		lm3.close(true)
	})
}

func TestReference_HandlesCloseWhileElecting(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		lm1.close(true)
		b.expect("b is promoted to leader")
		lm2.close(true)
		b.expect("b is promoted to leader")
	})
}

func TestReference_MakesLeaderWith2TransfersAfterUncleanShutdown(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(false)
		wait(200 * time.Millisecond)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm2.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
	})
}

func TestReference_MakesLeaderWith2HandlesNetworkSplit(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm1.setPaused(true)
		wait(100 * time.Millisecond)
		// Now both sides are leaders.
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm1.setPaused(false)
		wait(100 * time.Millisecond)
		b.expect("a is promoted to leader", "b is promoted to leader", "b is demoted")
	})
}

func TestReference_MakesLeaderWith3HandlesNetworkSplit(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		lm3 := b.join("c")
		tick()
		b.expect("a is promoted to leader")
		lm1.setPaused(true)
		lm2.setPaused(true)
		lm3.setPaused(true)
		wait(100 * time.Millisecond)
		b.expect("a is promoted to leader", "b is promoted to leader", "c is promoted to leader")
		lm1.setPaused(false)
		lm2.setPaused(false)
		lm3.setPaused(false)
		wait(100 * time.Millisecond)
		b.expect("a is promoted to leader", "b is promoted to leader", "c is promoted to leader",
			"b is demoted", "c is demoted")
	})
}

func TestReference_MakesLeaderWith2HandlesNetworkSplitReverse(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		b.join("a")
		lm2 := b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm2.setPaused(true)
		wait(150 * time.Millisecond)
		b.expect("a is promoted to leader")
		lm2.setPaused(false)
		wait(100 * time.Millisecond)
		b.expect("a is promoted to leader")
	})
}

func TestReference_FirstLeaderClosesBeforeSecondStarts(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		lm2 := b.join("b")
		tick()
		lm2.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
	})
}

func TestReference_SecondJoinsAfterInitialLeaderElection(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		tick()
		b.expect("a is promoted to leader")
		lm2 := b.join("b")
		tick()
		b.expect("a is promoted to leader")
		lm2.close(true)
		lm1.close(true)
		b.expect("a is promoted to leader")
	})
}

func TestReference_SecondJoinsAfterInitialLeaderElectionReverse(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm2 := b.join("b")
		tick()
		b.expect("b is promoted to leader")
		lm1 := b.join("a")
		tick()
		b.expect("b is promoted to leader")
		lm2.close(true)
		lm1.close(true)
	})
}

func TestReference_Handles3Leaders(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		lm3 := b.join("c")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm3.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm2.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
	})
}

func TestReference_Handles3ClosingThenA4th(t *testing.T) {
	refTest(t, func(t *testing.T, b *refBus) {
		lm1 := b.join("a")
		lm2 := b.join("b")
		lm3 := b.join("c")
		tick()
		b.expect("a is promoted to leader")
		lm1.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm3.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		lm2.close(true)
		b.expect("a is promoted to leader", "b is promoted to leader")
		b.join("d")
		tick()
		b.expect("a is promoted to leader", "b is promoted to leader", "d is promoted to leader")
	})
}

var quietLogger = slog.New(slog.DiscardHandler)
