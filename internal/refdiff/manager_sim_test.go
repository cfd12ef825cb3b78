package refdiff

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
)

// The Manager simulation runs a schedule against bellwether.Manager, the
// public class that stands for the reference's LeaderManager: one Manager
// per client instance, their goroutines and timers in a synctest bubble
// whose virtual clock is the schedule's, by the rules of harness.js. Unlike
// the Machine simulation it goes through NewManager, the Manager's
// goroutine and timers, Receive and Shutdown.
//
// At each instant the driver (the test goroutine) lets the bubble settle
// (synctest.Wait), so that the timers due then have fired and their
// callbacks have run; then it runs the instant's external events, letting
// the bubble settle after each, then the deliveries, letting it settle
// before it looks at a receiver's known leader. The one exception is the
// point of the simulation: after NewManager the driver goes straight on to
// the next event, since the reference's constructor has broadcast its
// request by the time it returns; a pause, partition or shutdown of the new
// client at the same instant must come after that request.
//
// The driver cannot run a client's external event before that client's
// timers due at the same instant; avoidTimerTies keeps such ties out of the
// schedules run here. It looks at a client's known leader after each of
// its external events and deliveries and at each instant at which the
// Machine simulation of the same schedule fired that client's timers
// (Manager.Leader then shows a change that no callback announces, such as
// an election won by another client, at the right time); it also wakes
// whenever a callback broadcasts.

// mslot is the Manager simulation's state of one slot.
type mslot struct {
	mgr     *bellwether.Manager
	running bool
	link
	sent   int
	leader string
}

type msim struct {
	s *schedule
	// lateFirst emulates the bug this simulation is for: what a Manager
	// broadcasts while NewManager runs is handed on only after the next
	// external event. TestManagerSimDetectsLateRequest uses it.
	lateFirst bool
	base      time.Time     // virtual time 0
	wake      chan struct{} // a callback broadcast: the driver recomputes its next instant

	// mu guards the fields below. It is never held while calling a Manager,
	// whose callbacks take it.
	mu         sync.Mutex
	slots      []mslot
	traces     [][]entry
	deliveries deliveryQueue
	over       bool // past the horizon: callbacks record nothing
	err        error

	constructing bool     // NewManager is running (for lateFirst)
	held         []func() // broadcasts held back by lateFirst
}

// simulateManagers runs s against bellwether.Manager in ModeReference.
// ticks are the timers steps of the Machine simulation of s.
func simulateManagers(t *testing.T, s *schedule, ticks []tick) (*result, error) {
	return (&msim{s: s}).simulate(t, ticks)
}

func (x *msim) simulate(t *testing.T, ticks []tick) (*result, error) {
	s := x.s
	n := len(s.IDs)
	x.slots, x.traces = make([]mslot, n), make([][]entry, n)
	for i := range x.traces {
		x.traces[i] = []entry{}
	}
	synctest.Test(t, func(t *testing.T) {
		x.base = time.Now()
		x.wake = make(chan struct{}, 1)
		x.run(ticks)
	})
	if x.err != nil {
		return nil, x.err
	}
	order := slices.Clone(s.IDs)
	slices.SortFunc(order, bellwether.CompareIDs)
	return &result{Seed: s.Seed, Order: order, Traces: x.traces, sim: "Manager"}, nil
}

func (x *msim) run(ticks []tick) {
	s := x.s
	defer func() {
		x.mu.Lock()
		x.over = true
		var live []*bellwether.Manager
		for _, st := range x.slots {
			if st.running && st.mgr != nil {
				live = append(live, st.mgr)
			}
		}
		x.mu.Unlock()
		for _, m := range live {
			m.Shutdown(false)
		}
	}()
	ext := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		synctest.Wait()
		now := x.now()
		// The timers due now have fired.
		for len(ticks) > 0 && ticks[0].T <= now {
			if ticks[0].T == now {
				x.checkLeader(ticks[0].Slot, false)
			}
			ticks = ticks[1:]
		}
		for ext < len(s.Events) && s.Events[ext].T == now && x.failed() == nil {
			e := s.Events[ext]
			ext++
			x.external(e)
		}
		x.release()
		// The deliveries, by receiver. The known leader is looked at after
		// each, once its effects have been carried out; a receiver's trace
		// is its own, so the bubble needs to settle only between deliveries
		// to the same receiver and once at the end.
		var received []int
		for x.failed() == nil {
			x.mu.Lock()
			if len(x.deliveries) == 0 || x.deliveries[0].key[0] != now {
				x.mu.Unlock()
				break
			}
			d := x.deliveries.Pop()
			slot := int(d.key[2])
			st := &x.slots[slot]
			switch {
			case !st.running, st.cut:
				x.mu.Unlock()
				continue
			case st.paused:
				st.inQ = append(st.inQ, d.event)
				x.mu.Unlock()
				continue
			}
			m := st.mgr
			x.mu.Unlock()
			if len(received) > 0 && received[len(received)-1] == slot {
				synctest.Wait()
				x.checkLeader(slot, false)
				received = received[:len(received)-1]
			}
			m.Receive(d.event)
			received = append(received, slot)
		}
		if len(received) > 0 {
			synctest.Wait()
			for _, slot := range received {
				x.checkLeader(slot, false)
			}
		}
		if x.failed() != nil || now >= s.Horizon {
			return
		}
		// What was broadcast at this instant is scheduled.
		select {
		case <-x.wake:
		default:
		}

		// The next instant: the next external event, delivery or tick, or a
		// callback's broadcast before that.
		next := s.Horizon
		if ext < len(s.Events) {
			next = min(next, s.Events[ext].T)
		}
		x.mu.Lock()
		if len(x.deliveries) > 0 {
			next = min(next, x.deliveries[0].key[0])
		}
		x.mu.Unlock()
		if len(ticks) > 0 {
			next = min(next, ticks[0].T)
		}
		if next < now {
			x.fail(fmt.Errorf("t=%d: the simulation missed the instant %d", now, next))
			return
		}
		timer.Reset(time.Duration(next-now) * time.Millisecond)
		select {
		case <-timer.C:
		case <-x.wake:
			timer.Stop()
		}
	}
}

// external runs one external event of the schedule.
func (x *msim) external(e extEvent) {
	slot := e.Slot
	x.mu.Lock()
	now := x.nowLocked()
	x.record(slot, now, e.Op, "", "")
	st := &x.slots[slot]
	m := st.mgr
	switch e.Op {
	case "start":
		if st.running {
			x.mu.Unlock()
			x.fail(fmt.Errorf("slot %d at t=%d: the schedule starts a running client", slot, now))
			return
		}
		st.running, st.leader, st.mgr = true, "", nil
		x.constructing = true
		x.mu.Unlock()
		m, err := x.newManager(slot)
		x.mu.Lock()
		x.constructing = false
		x.mu.Unlock()
		if err != nil {
			x.fail(err)
			return
		}
		x.mu.Lock()
		x.slots[slot].mgr = m
		x.mu.Unlock()
		// No synctest.Wait: the reference's constructor has broadcast by now.
		x.checkLeader(slot, true)
		return
	case "stop", "kill":
		x.mu.Unlock()
		if m != nil {
			m.Shutdown(e.Op == "stop")
		}
		x.mu.Lock()
		st.running = false
		st.inQ = nil
		x.mu.Unlock()
	case "pause", "partition", "heal":
		st.set(e.Op)
		x.mu.Unlock()
	case "resume":
		out, in := st.resume()
		for _, q := range out {
			x.send(slot, q.index, q.event, now)
		}
		x.mu.Unlock()
		for _, ev := range in {
			m.Receive(ev)
		}
	default:
		x.mu.Unlock()
		x.fail(fmt.Errorf("unknown op %q", e.Op))
		return
	}
	x.release()
	synctest.Wait()
	x.checkLeader(slot, true)
}

// newManager starts a Manager for slot whose callbacks record into the
// slot's trace.
func (x *msim) newManager(slot int) (*bellwether.Manager, error) {
	s := x.s
	onLeaderChange := func(leading bool) {
		x.mu.Lock()
		defer x.mu.Unlock()
		if !x.over {
			x.record(slot, x.nowLocked(), "leading", strconv.FormatBool(leading), "")
		}
	}
	broadcast := func(e bellwether.Event) {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.lateFirst && x.constructing {
			x.held = append(x.held, func() { x.broadcast(slot, e) })
			return
		}
		x.broadcastLocked(slot, e)
	}
	logger := slog.New(&warnHandler{x: x, slot: slot})
	return bellwether.NewManager(bellwether.ManagerConfig{
		ID:             s.IDs[slot],
		OnLeaderChange: onLeaderChange,
		Broadcast:      broadcast,
		Settings: bellwether.Settings{
			ElectionTimeout:   time.Duration(s.ElectionTimeout) * time.Millisecond,
			HeartbeatInterval: time.Duration(s.HeartbeatInterval) * time.Millisecond,
			HeartbeatTimeout:  time.Duration(s.HeartbeatTimeout) * time.Millisecond,
		},
		Mode:   bellwether.ModeReference, // the differential test compares with the reference
		Logger: logger,
	})
}

func (x *msim) broadcast(slot int, e bellwether.Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.broadcastLocked(slot, e)
}

// broadcastLocked records and sends what slot's Manager broadcasts; x.mu is
// held.
func (x *msim) broadcastLocked(slot int, e bellwether.Event) {
	if x.over {
		return
	}
	now := x.nowLocked()
	st := &x.slots[slot]
	index := st.sent
	st.sent++
	x.record(slot, now, "bcast", string(e.Action), string(e.AppendJSON(nil)))
	if st.paused {
		st.outQ = append(st.outQ, queued{index, e})
	} else {
		x.send(slot, index, e, now)
	}
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// release hands on the broadcasts held back by lateFirst.
func (x *msim) release() {
	x.mu.Lock()
	held := x.held
	x.held = nil
	x.mu.Unlock()
	for _, f := range held {
		f()
	}
}

// checkLeader records the slot's known leader if it changed. Only running
// slots are looked at, and a slot just stopped when stepped is true, as the
// reference is looked at after each of its steps.
func (x *msim) checkLeader(slot int, stepped bool) {
	x.mu.Lock()
	st := &x.slots[slot]
	m := st.mgr
	look := m != nil && (st.running || stepped)
	x.mu.Unlock()
	if !look {
		return
	}
	id, _ := m.Leader()
	x.mu.Lock()
	defer x.mu.Unlock()
	if st.leader != id {
		st.leader = id
		x.record(slot, x.nowLocked(), "leader", id, "")
	}
}

// send schedules the deliveries of a broadcast; x.mu is held.
func (x *msim) send(from, index int, e bellwether.Event, now int64) {
	if x.slots[from].cut {
		return
	}
	schedDeliveries(x.s, &x.deliveries, now, from, index, e)
}

// record appends to a slot's trace; x.mu is held.
func (x *msim) record(slot int, now int64, k, v, j string) {
	x.traces[slot] = append(x.traces[slot], entry{T: now, K: k, V: v, J: j})
}

func (x *msim) now() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.nowLocked()
}

// nowLocked is the virtual time in milliseconds; x.mu is held. Everything
// happens at whole milliseconds.
func (x *msim) nowLocked() int64 {
	d := time.Since(x.base)
	if d%time.Millisecond != 0 && x.err == nil {
		x.err = fmt.Errorf("virtual time %v is not a whole millisecond", d)
	}
	return d.Milliseconds()
}

func (x *msim) fail(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err == nil {
		x.err = err
	}
}

func (x *msim) failed() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// warnHandler records the Manager's warnings (Warn records) in the trace.
type warnHandler struct {
	x    *msim
	slot int
}

func (h *warnHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *warnHandler) Handle(_ context.Context, r slog.Record) error {
	x := h.x
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.over {
		return nil
	}
	v := r.Message
	if r.Level != slog.LevelWarn {
		v = r.Level.String() + ": " + v
	}
	x.record(h.slot, x.nowLocked(), "warn", v, "")
	return nil
}

func (h *warnHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *warnHandler) WithGroup(string) slog.Handler      { return h }
