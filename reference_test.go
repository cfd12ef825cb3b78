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
	id     string
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
	m := &refMember{bus: b, id: id, index: len(b.all)}
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

// member is the member of that id that joined last.
func (b *refBus) member(id string) *refMember {
	for _, m := range slices.Backward(b.all) {
		if m.id == id {
			return m
		}
	}
	b.t.Fatalf("no member %q", id)
	return nil
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

// A refStep is one line of a ported scenario: members are named by id.
type refStep func(b *refBus)

// join starts members in order (the reference's makeLeaderManager).
func makeLeaders(ids ...string) refStep {
	return func(b *refBus) {
		for _, id := range ids {
			b.join(id)
		}
	}
}

// closeAll closes members in order: cleanly (the reference's close()) or
// not (close(false)).
func closing(clean bool, ids ...string) refStep {
	return func(b *refBus) {
		for _, id := range ids {
			b.member(id).close(clean)
		}
	}
}

// paused pauses or resumes members in order (the reference's setPaused).
func pausing(p bool, ids ...string) refStep {
	return func(b *refBus) {
		for _, id := range ids {
			b.member(id).setPaused(p)
		}
	}
}

// awaitTimeout is the reference's `await timeout()`.
func awaitTimeout(*refBus) { tick() }

// after waits longer.
func after(d time.Duration) refStep {
	return func(*refBus) { wait(d) }
}

// expect checks every event so far, like the reference's expect(events).
func expect(want ...string) refStep {
	return func(b *refBus) {
		b.t.Helper()
		b.expect(want...)
	}
}

// The reference's scenarios, in its order, step by step.
var refScenarios = []struct {
	name  string
	steps []refStep
}{
	{"MakesLeaderOf1", []refStep{
		makeLeaders("a"), awaitTimeout, expect(aLeads), closing(true, "a"), expect(aLeads)}},
	{"AllowsDoubleClose", []refStep{
		makeLeaders("a", "b"), closing(true, "a", "a" /* twice */), expect(bLeads), closing(true, "b")}},
	{"MakesLeaderWith2TransfersAfterClose", []refStep{
		makeLeaders("a", "b"), awaitTimeout, expect(aLeads),
		closing(true, "a"), expect(aLeads, bLeads), closing(true, "b"), expect(aLeads, bLeads)}},
	{"MakesLeaderWith2Then1", []refStep{
		makeLeaders("a", "b"), awaitTimeout, expect(aLeads),
		makeLeaders("0"), awaitTimeout, expect(aLeads), closing(true, "a", "b", "0")}},
	{"HandlesCloseWhileElecting", []refStep{
		makeLeaders("a", "b"), closing(true, "a"), expect(bLeads), closing(true, "b"), expect(bLeads)}},
	{"MakesLeaderWith2TransfersAfterUncleanShutdown", []refStep{
		makeLeaders("a", "b"), awaitTimeout, expect(aLeads),
		closing(false, "a"), after(200 * time.Millisecond), expect(aLeads, bLeads),
		closing(true, "b"), expect(aLeads, bLeads)}},
	{"MakesLeaderWith2HandlesNetworkSplit", []refStep{
		makeLeaders("a", "b"), awaitTimeout, expect(aLeads),
		pausing(true, "a"), after(100 * time.Millisecond), expect(aLeads, bLeads), // both sides lead
		pausing(false, "a"), after(100 * time.Millisecond), expect(aLeads, bLeads, "b is demoted")}},
	{"MakesLeaderWith3HandlesNetworkSplit", []refStep{
		makeLeaders("a", "b", "c"), awaitTimeout, expect(aLeads),
		pausing(true, "a", "b", "c"), after(100 * time.Millisecond), expect(aLeads, bLeads, cLeads),
		pausing(false, "a", "b", "c"), after(100 * time.Millisecond),
		expect(aLeads, bLeads, cLeads, "b is demoted", "c is demoted")}},
	{"MakesLeaderWith2HandlesNetworkSplitReverse", []refStep{
		makeLeaders("a", "b"), awaitTimeout, expect(aLeads),
		pausing(true, "b"), after(150 * time.Millisecond), expect(aLeads),
		pausing(false, "b"), after(100 * time.Millisecond), expect(aLeads)}},
	{"FirstLeaderClosesBeforeSecondStarts", []refStep{
		makeLeaders("a"), awaitTimeout, expect(aLeads), closing(true, "a"),
		makeLeaders("b"), awaitTimeout, closing(true, "b"), expect(aLeads, bLeads)}},
	{"SecondJoinsAfterInitialLeaderElection", []refStep{
		makeLeaders("a"), awaitTimeout, expect(aLeads), makeLeaders("b"), awaitTimeout, expect(aLeads),
		closing(true, "b", "a"), expect(aLeads)}},
	{"SecondJoinsAfterInitialLeaderElectionReverse", []refStep{
		makeLeaders("b"), awaitTimeout, expect(bLeads), makeLeaders("a"), awaitTimeout, expect(bLeads),
		closing(true, "b", "a")}},
	{"Handles3Leaders", []refStep{
		makeLeaders("a", "b", "c"), awaitTimeout, expect(aLeads),
		closing(true, "a"), expect(aLeads, bLeads), closing(true, "c"), expect(aLeads, bLeads),
		closing(true, "b"), expect(aLeads, bLeads)}},
	{"Handles3ClosingThenA4th", []refStep{
		makeLeaders("a", "b", "c"), awaitTimeout, expect(aLeads),
		closing(true, "a"), expect(aLeads, bLeads), closing(true, "c"), expect(aLeads, bLeads),
		closing(true, "b"), expect(aLeads, bLeads),
		makeLeaders("d"), awaitTimeout, expect(aLeads, bLeads, "d is promoted to leader")}},
}

// The events most scenarios expect.
const (
	aLeads = "a is promoted to leader"
	bLeads = "b is promoted to leader"
	cLeads = "c is promoted to leader"
)

func TestReference(t *testing.T) {
	for _, sc := range refScenarios {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newRefBus(t)
				for _, step := range sc.steps {
					step(b)
				}
			})
		})
	}
}

var quietLogger = slog.New(slog.DiscardHandler)
