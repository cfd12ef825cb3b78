package refdiff

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/minheap"
)

// entry is one line of a client's trace. K is the kind: an external event
// (start, stop, kill, pause, resume), bcast (V the action, J the event's
// JSON), leading (V "true" or "false"), warn (V the warning) or leader (V
// the known leader after a step, when it changed).
type entry struct {
	T int64  `json:"t"`
	K string `json:"k"`
	V string `json:"v"`
	J string `json:"j,omitempty"`
}

func (e entry) String() string {
	s := fmt.Sprintf("t=%d %s %q", e.T, e.K, e.V)
	if e.J != "" {
		s += " " + e.J
	}
	return s
}

// result is what one run of a schedule produced, on either side.
type result struct {
	Seed   uint32    `json:"seed"`
	Order  []string  `json:"order"`  // the ids, sorted (harness: with JavaScript's <)
	Traces [][]entry `json:"traces"` // per slot

	// Filled in by the Go simulators only.
	sim   string // which: "Machine" or "Manager"
	ticks []tick // Machine: the timers steps, in order
	tie   int    // Machine: the first external event (not a start) at an instant when its slot had a timer due, or -1
}

// mix32 and hash32 must equal mix32 and hash in harness.js.
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

func hash32(seed, salt, sender, index, receiver uint32) uint32 {
	h := mix32(seed ^ salt*0x9e3779b9)
	h = mix32(h ^ sender)
	h = mix32(h ^ index)
	return mix32(h ^ receiver)
}

// Salts of hash32.
const (
	saltLatency = 1
	saltLoss    = 2
)

// Classes of simulation steps due at the same time, in the order they run.
const (
	classExternal = iota
	classTimers
	classDelivery
)

// stepKey orders simulation steps: time, class, slot, then tie-breakers
// (external: index in the schedule; delivery: sender, sender's broadcast
// index).
type stepKey [5]int64

func (a stepKey) compare(b stepKey) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// tick is a timers step of the Machine simulation: at T, slot's timers
// fired.
type tick struct {
	T    int64
	Slot int
}

type delivery struct {
	key   stepKey
	event bellwether.Event
}

type queued struct {
	index int
	event bellwether.Event
}

// link is a slot's standing on the simulated network, the same in the
// Machine's simulation and the Manager's.
type link struct {
	paused bool
	cut    bool               // partitioned: what it sends and what is sent to it is lost
	outQ   []queued           // broadcasts held while paused
	inQ    []bellwether.Event // deliveries held while paused
}

// set carries out op if it is pause, partition or heal, and reports
// whether it was.
func (l *link) set(op string) bool {
	switch op {
	case "pause":
		l.paused = true
	case "partition":
		l.cut = true
	case "heal":
		l.cut = false
	default:
		return false
	}
	return true
}

// resume ends a pause and hands over what it held: the broadcasts to send
// now and the deliveries to make, in order.
func (l *link) resume() (out []queued, in []bellwether.Event) {
	out, in = l.outQ, l.inQ
	l.paused, l.outQ, l.inQ = false, nil, nil
	return out, in
}

type slotState struct {
	m       *bellwether.Machine
	running bool
	link
	sent   int    // broadcasts so far, over all instances
	next   int64  // the machine's next deadline, -1 for none
	leader string // known leader last recorded

	// For the consistency check of EffectLeader within a step.
	stepLeader  string
	effLeader   string
	sawEffected bool
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int64) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

// sim runs a schedule against bellwether.Machine, by the same rules as
// harness.js.
type sim struct {
	s          *schedule
	mode       bellwether.ElectionMode
	now        int64
	slots      []slotState
	traces     [][]entry
	deliveries deliveryQueue
	ticks      []tick
	tie        int
	stopAtTie  bool
	err        error
}

// simulate runs s with machines in mode and returns their traces.
func simulate(s *schedule, mode bellwether.ElectionMode) (*result, error) {
	return simulateUntil(s, mode, false)
}

// firstTie returns the index of the first external event of s (not a
// start) at an instant when its slot has a timer due, or -1.
func firstTie(s *schedule) (int, error) {
	res, err := simulateUntil(s, bellwether.ModeReference, true)
	if err != nil {
		return -1, err
	}
	return res.tie, nil
}

func simulateUntil(s *schedule, mode bellwether.ElectionMode, stopAtTie bool) (*result, error) {
	n := len(s.IDs)
	x := &sim{s: s, mode: mode, slots: make([]slotState, n), traces: make([][]entry, n), tie: -1, stopAtTie: stopAtTie}
	for i := range x.slots {
		x.slots[i].next = -1
		x.traces[i] = []entry{}
	}
	ext := 0
loop:
	for x.err == nil {
		var best stepKey
		class := -1
		if ext < len(s.Events) {
			e := s.Events[ext]
			best, class = stepKey{e.T, classExternal, int64(e.Slot), int64(ext)}, classExternal
		}
		for i, st := range x.slots {
			if st.next < 0 {
				continue
			}
			if k := (stepKey{st.next, classTimers, int64(i)}); class < 0 || k.compare(best) < 0 {
				best, class = k, classTimers
			}
		}
		if len(x.deliveries) > 0 && (class < 0 || x.deliveries[0].key.compare(best) < 0) {
			best, class = x.deliveries[0].key, classDelivery
		}
		if class < 0 || best[0] > s.Horizon {
			break
		}
		x.now = best[0]
		slot := int(best[2])
		switch class {
		case classExternal:
			e := s.Events[ext]
			if st := &x.slots[slot]; x.tie < 0 && e.Op != "start" && st.running && st.next == x.now {
				x.tie = ext
				if x.stopAtTie {
					break loop
				}
			}
			ext++
			x.record(slot, e.Op, "", "")
			x.step(slot, func(st *slotState) { x.external(slot, st, e.Op) })
		case classTimers:
			x.ticks = append(x.ticks, tick{x.now, slot})
			x.step(slot, func(st *slotState) { x.apply(slot, st.m.Tick(at(x.now))) })
		case classDelivery:
			d := x.deliveries.Pop()
			st := &x.slots[slot]
			switch {
			case !st.running, st.cut:
			case st.paused:
				st.inQ = append(st.inQ, d.event)
			default:
				x.step(slot, func(st *slotState) { x.apply(slot, st.m.Receive(at(x.now), d.event)) })
			}
		}
	}
	if x.err != nil {
		return nil, x.err
	}
	order := slices.Clone(s.IDs)
	slices.SortFunc(order, bellwether.CompareIDs)
	return &result{Seed: s.Seed, Order: order, Traces: x.traces, sim: "Machine", ticks: x.ticks, tie: x.tie}, nil
}

func (x *sim) external(slot int, st *slotState, op string) {
	switch op {
	case "start":
		if st.running {
			x.err = fmt.Errorf("slot %d at t=%d: the schedule starts a running client", slot, x.now)
			return
		}
		m, err := bellwether.NewMachine(bellwether.MachineConfig{
			ID: x.s.IDs[slot],
			Settings: bellwether.Settings{
				ElectionTimeout:   time.Duration(x.s.ElectionTimeout) * time.Millisecond,
				HeartbeatInterval: time.Duration(x.s.HeartbeatInterval) * time.Millisecond,
				HeartbeatTimeout:  time.Duration(x.s.HeartbeatTimeout) * time.Millisecond,
			},
			Mode: x.mode,
			Seed: uint64(x.s.Seed)<<8 | uint64(slot),
		})
		if err != nil {
			x.err = err
			return
		}
		st.m, st.running, st.leader, st.stepLeader = m, true, "", ""
		x.apply(slot, m.Start(at(x.now)))
	case "stop", "kill":
		x.apply(slot, st.m.Shutdown(at(x.now), op == "stop"))
		st.running = false
		st.inQ = nil
	case "pause", "partition", "heal":
		st.set(op)
	case "resume":
		out, in := st.resume()
		for _, q := range out {
			x.send(slot, q.index, q.event)
		}
		for _, e := range in {
			x.apply(slot, st.m.Receive(at(x.now), e))
		}
	default:
		x.err = fmt.Errorf("unknown op %q", op)
	}
}

// step runs f as one step of slot and then records the known leader if it
// changed. It also checks that the machine's EffectLeader effects agree with
// Machine.Leader.
func (x *sim) step(slot int, f func(st *slotState)) {
	st := &x.slots[slot]
	st.sawEffected = false
	if st.m != nil {
		st.stepLeader, _ = st.m.Leader()
	}
	f(st)
	if st.m == nil || x.err != nil {
		return
	}
	leader, _ := st.m.Leader()
	switch {
	case st.sawEffected && st.effLeader != leader:
		x.err = fmt.Errorf("slot %d at t=%d: last EffectLeader is %q but Leader() is %q", slot, x.now, st.effLeader, leader)
	case !st.sawEffected && leader != st.stepLeader:
		x.err = fmt.Errorf("slot %d at t=%d: Leader() changed from %q to %q without an EffectLeader", slot, x.now, st.stepLeader, leader)
	}
	if leader != st.leader {
		st.leader = leader
		x.record(slot, "leader", leader, "")
	}
}

// apply carries out the effects of one machine call in order.
func (x *sim) apply(slot int, out bellwether.Output) {
	st := &x.slots[slot]
	for _, e := range out.Effects {
		switch e.Kind {
		case bellwether.EffectBroadcast:
			index := st.sent
			st.sent++
			x.record(slot, "bcast", string(e.Event.Action), string(e.Event.AppendJSON(nil)))
			if st.paused {
				st.outQ = append(st.outQ, queued{index, e.Event})
			} else {
				x.send(slot, index, e.Event)
			}
		case bellwether.EffectLeading:
			x.record(slot, "leading", strconv.FormatBool(e.Leading), "")
		case bellwether.EffectLeader:
			st.sawEffected, st.effLeader = true, e.Leader
		case bellwether.EffectWarning:
			x.record(slot, "warn", e.Warning.String(), "")
		default:
			x.err = fmt.Errorf("slot %d at t=%d: unknown effect %v", slot, x.now, e.Kind)
		}
	}
	st.next = -1
	if !out.Next.IsZero() {
		d := out.Next.Sub(epoch)
		if d%time.Millisecond != 0 {
			if x.mode == bellwether.ModeReference {
				x.err = fmt.Errorf("slot %d at t=%d: Next %v is not a whole millisecond", slot, x.now, d)
			}
			// ModeQuiet's jitter is finer: tick at the next millisecond.
			d = d.Truncate(time.Millisecond) + time.Millisecond
		}
		if d < time.Duration(x.now)*time.Millisecond {
			x.err = fmt.Errorf("slot %d at t=%d: Next %v is in the past", slot, x.now, d)
		}
		st.next = d.Milliseconds()
	}
}

// send schedules the deliveries of a broadcast to every other slot, unless
// the sender is partitioned.
func (x *sim) send(from, index int, e bellwether.Event) {
	if x.slots[from].cut {
		return
	}
	schedDeliveries(x.s, &x.deliveries, x.now, from, index, e)
}

// schedDeliveries adds to q the copies of the broadcast index of slot from,
// sent at now, that are not lost.
func schedDeliveries(s *schedule, q *deliveryQueue, now int64, from, index int, e bellwether.Event) {
	for r := range s.IDs {
		if r == from {
			continue
		}
		if hash32(s.Seed, saltLoss, uint32(from), uint32(index), uint32(r))%1000 < s.LossPermille {
			continue
		}
		t := now + 1 + int64(hash32(s.Seed, saltLatency, uint32(from), uint32(index), uint32(r))%uint32(s.MaxLatency))
		q.Push(delivery{key: stepKey{t, classDelivery, int64(r), int64(from), int64(index)}, event: e})
	}
}

// deliveryQueue is a binary min-heap of deliveries by key (keys are
// unique); the next delivery is at index 0.
type deliveryQueue = minheap.Heap[delivery]

func (d delivery) Less(e delivery) bool { return d.key.compare(e.key) < 0 }

func (x *sim) record(slot int, k, v, j string) {
	x.traces[slot] = append(x.traces[slot], entry{T: x.now, K: k, V: v, J: j})
}
