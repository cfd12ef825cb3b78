// This file holds the event loop: the engine, its members, and the
// stepping of their machines (start, shutdown, ticks, effects).

package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bellwether-go/bellwether"
)

// member is one member slot: the current incarnation's Machine and what
// its effects have told the simulator.
type member struct {
	id       string
	m        *bellwether.Machine
	mode     bellwether.ElectionMode
	observer bool
	late     bool
	started  bool // started at least once
	alive    bool
	since    int64  // start time of the current incarnation: it misses what was sent before
	inc      uint64 // incarnation
	tickGen  uint32
	queued   bool // a tick entry of generation tickGen is queued at tickAt
	tickAt   int64
	leading  bool  // from EffectLeading
	leader   int32 // from EffectLeader; -1 for none
	electing bool  // Machine.Electing after its last step
	// isolated: cut off from the bus (Isolate) since isoGen's fault, until
	// reconnected at reconnectedAt; frozen: stopped (Freeze) since
	// frozenGen's fault.
	isolated, frozen  bool
	isoGen, frozenGen uint32
	reconnectedAt     int64
	deaf              bool   // reported deaf (Machine.Deaf) while isolated
	held              []held // deliveries that arrived while frozen
	thawedAt          int64  // when it last thawed; -1 if never
	renewedGen        uint32 // quiet period in which its lease was last renewed
	// ledEpoch is the largest epoch the member (any incarnation) led at,
	// for (e).
	ledEpoch uint64
	// leaseEnd is when the lease of a leading member ends unless renewed,
	// as its machine said after its last step; without a lease, never.
	leaseEnd int64
	// fresh is the sender of the last "current" heard that was sent during
	// the quiet period freshGen, or -1.
	fresh    int32
	freshGen uint32
}

type engine struct {
	sc    *Scenario
	rep   int
	seed  uint64
	rng   *rand.Rand
	lat   sampler
	base  time.Time
	now   int64
	end   int64
	seq   uint64
	q     queue
	mem   []member
	ids   map[string]int32
	bc    []bcast
	free  []int32
	hooks hooks

	faults []faultAt
	groups [][]int32 // partition epochs: group of each member, nil when connected
	epoch  int32
	loss   float64 // probability that a delivery is lost
	lateQ  []int32 // late members in join order
	// isolated and frozen alive members
	isolated, frozen int32
	downQ            []int32 // crashed or withdrawn members, most recent last

	// Counts over alive members.
	aliveNonObs int32
	leading     int32
	leadSum     int64   // sum of the leading members' indices
	known       []int32 // known[i]: alive non-observers whose leader is i
	electing    int32
	freshCnt    []int32 // freshCnt[i]: alive non-observers with fresh == i (this period)
	curFlight   []int32 // "current" broadcasts in flight, by sender
	curTotal    int32
	wdFlight    int32 // withdrawals in flight
	deadLeading int32 // dead members still counted as leading (never, but for hooks)

	// Invariants.
	checkA, checkBC, force bool
	checkD                 bool
	starters               []int32 // members that started leading now, for (d)

	// Lease mode: acknowledgements on their way, and free records.
	acks                []ack
	freeAcks            []int32
	bound               int64
	quietSince, resetAt int64
	quietGen            uint32
	armed, latched      bool
	latchedL            int32
	violation           *Violation
	agreeMax            int64 // longest time from a quiet start to the final agreement

	// Statistics.
	agreed         bool
	agreedL        int32
	agreedSince    int64
	lastAcc        int64
	multi, none    int64
	windows        []window
	bcasts, delivs int64
	lost, dups     int64
	changes        int64
	warnings       int64

	tl *timeline
	tr tracer

	// Probes: the times still to take, those taken, and the leadership
	// effects so far and at the last probe.
	probes                 []time.Duration
	probed                 []Probe
	effects, probedEffects int64
}

var epoch0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newEngine(sc *Scenario, rep int, seed uint64, withTimeline bool) *engine {
	n := sc.Members
	e := &engine{
		sc:        sc,
		rep:       rep,
		seed:      seed,
		rng:       rand.New(rand.NewPCG(seed, seed^0x5851F42D4C957F2D)),
		lat:       newSampler(sc.Latency),
		base:      epoch0,
		end:       int64(sc.Duration),
		mem:       make([]member, n),
		ids:       make(map[string]int32, n),
		known:     make([]int32, n),
		freshCnt:  make([]int32, n),
		curFlight: make([]int32, n),
		groups:    [][]int32{nil},
		loss:      sc.Loss,
		resetAt:   -1,
		probes:    slices.Sorted(slices.Values(sc.Probes)),
	}
	if testHooks != nil {
		e.hooks = *testHooks
	}
	if sc.Check != CheckOff {
		ok, _ := sc.leaseGuaranteed()
		e.checkD = sc.Lease && (ok || sc.Check == CheckForce)
	}
	e.checkD = e.checkD || e.hooks.checkLeases
	e.tr.write = sc.Trace != nil
	e.tr.deliv = sc.TraceDeliveries
	switch sc.Check {
	case CheckOn:
		e.checkA = true
		e.checkBC, _ = sc.guaranteed()
	case CheckForce:
		e.checkA, e.checkBC, e.force = true, true, true
	}
	e.checkBC = e.checkBC && !e.hooks.skipBC
	e.bound = int64(sc.Bound)
	if e.bound == 0 {
		e.bound = int64(sc.StableBound())
	}
	width := len(fmt.Sprint(n - 1))
	obs := make(map[int]bool)
	for _, i := range sc.Observers {
		obs[i] = true
	}
	for _, i := range sc.Late {
		if !e.mem[i].late {
			e.mem[i].late = true
			e.lateQ = append(e.lateQ, int32(i))
		}
	}
	for i := range e.mem {
		m := &e.mem[i]
		m.id = fmt.Sprintf("m%0*d", width, i)
		if sc.IDs != nil {
			m.id = sc.IDs[i]
		}
		m.observer = obs[i]
		if len(sc.Modes) > 0 {
			m.mode = sc.Modes[i%len(sc.Modes)]
		}
		m.leader, m.fresh = -1, -1
		e.ids[m.id] = int32(i)
	}
	if withTimeline {
		e.tl = newTimeline(e)
	}
	e.windows = append(e.windows, window{label: "start"})
	// Initial starts, then faults, in a deterministic order.
	for i := range e.mem {
		if e.mem[i].late {
			continue
		}
		var at int64
		if sc.StartSpread > 0 {
			at = e.rng.Int64N(int64(sc.StartSpread) + 1)
		}
		e.seq++
		e.q.push(entry{at: at, seq: e.seq, ref: int32(i), kind: evStart})
	}
	for _, f := range sc.Faults {
		for at := f.At; at <= sc.Duration; at += f.Every {
			e.faults = append(e.faults, faultAt{at: int64(at), Fault: f})
			if f.Every <= 0 {
				break
			}
		}
	}
	slices.SortStableFunc(e.faults, func(a, b faultAt) int { return cmp.Compare(a.at, b.at) })
	for i, f := range e.faults {
		e.seq++
		e.q.push(entry{at: f.at, seq: e.seq, ref: int32(i), kind: evFault})
	}
	e.disturb()
	return e
}

func (e *engine) at(ns int64) time.Time { return e.base.Add(time.Duration(ns)) }

func (e *engine) ns(t time.Time) int64 { return int64(t.Sub(e.base)) }

// run processes events until the end of the run or a violation.
func (e *engine) run() {
	for len(e.q) > 0 && e.violation == nil {
		top := e.q[0]
		if top.at > e.end {
			break
		}
		if top.at > e.now && len(e.starters) > 0 {
			if e.checkLeases(); e.violation != nil {
				break
			}
		}
		e.probeBefore(top.at)
		e.now = top.at
		switch top.kind {
		case evBcast:
			e.stepBcast(top.ref)
		case evTick:
			e.q.pop()
			e.tick(top.ref, top.gen)
		case evStart:
			e.q.pop()
			e.disturb()
			e.start(top.ref, trStart)
		case evFault:
			e.q.pop()
			e.fault(top.ref)
		case evCheck:
			e.q.pop()
			if top.gen == e.quietGen {
				e.armed = true
				e.rec(rec{t: e.now, kind: trArmed, a: -1, b: -1})
			}
		case evReconnect:
			e.q.pop()
			if m := &e.mem[top.ref]; m.alive && m.isolated && m.isoGen == top.gen {
				e.reconnect(top.ref)
				e.disturb()
				e.openWindow("reconnect")
			}
		case evThaw:
			e.q.pop()
			if m := &e.mem[top.ref]; m.alive && m.frozen && m.frozenGen == top.gen {
				e.thaw(top.ref)
			}
		case evAck:
			e.q.pop()
			e.acked(top.ref)
		case evDeaf:
			e.q.pop()
			if m := &e.mem[top.ref]; m.alive && m.isolated && m.isoGen == top.gen && !m.frozen && !m.deaf {
				m.deaf = true
				e.rec(rec{t: e.now, kind: trDeaf, a: top.ref, b: -1, x: 1})
				e.apply(top.ref, m.m.Deaf(e.at(e.now), true), false, false)
			}
		}
		e.after()
	}
	if e.violation == nil && len(e.starters) > 0 {
		e.checkLeases()
	}
	if e.violation == nil {
		e.now = e.end
		e.probeBefore(e.end + 1)
	}
	e.accrue()
	e.notePeriod()
	e.closeWindow()
	if e.tl != nil {
		e.tl.finish(e.now)
	}
	e.flush()
}

// start starts (or restarts) member i with a new Machine.
func (e *engine) start(i int32, kind uint8) {
	m := &e.mem[i]
	if m.alive {
		return
	}
	m.inc++
	mach, err := bellwether.NewMachine(bellwether.MachineConfig{
		ID:       m.id,
		Settings: e.sc.Settings,
		Observer: m.observer,
		Mode:     m.mode,
		Seed:     derive(e.seed, uint64(i)+1, m.inc),
		Lease:    e.sc.Lease,
	})
	if err != nil {
		panic(err) // the scenario was validated
	}
	m.m, m.alive, m.started, m.since = mach, true, true, e.now
	m.leading, m.leader, m.electing, m.fresh = false, -1, false, -1
	m.leaseEnd = math.MaxInt64
	m.thawedAt = -1
	m.tickGen++
	m.queued = false
	if !m.observer {
		e.aliveNonObs++
	}
	e.rec(rec{t: e.now, kind: kind, a: i, b: -1})
	if e.tl != nil {
		e.tl.add(e.now, i, tlAlive, 0)
	}
	e.apply(i, mach.Start(e.at(e.now)), false, false)
}

// kill shuts member i down; it disappears.
func (e *engine) kill(i int32, clean bool) {
	m := &e.mem[i]
	out := m.m.Shutdown(e.at(e.now), clean)
	for _, ef := range out.Effects {
		if ef.Kind == bellwether.EffectBroadcast && clean && ef.Event.Action == bellwether.ActionWithdraw && !m.observer {
			e.send(i, actWithdraw, false, 0)
			continue
		}
		if e.checkA {
			e.violate("a", fmt.Sprintf("%s: Shutdown(clean=%v) returned effect %v", m.id, clean, ef.Kind))
		}
	}
	if e.checkA && !out.Next.IsZero() {
		e.violate("a", fmt.Sprintf("%s: Shutdown left a timer pending at %v", m.id, out.Next))
	}
	m.alive = false
	m.tickGen++
	m.queued = false
	if m.isolated {
		e.reconnect(i)
	}
	if m.frozen {
		m.frozen = false
		m.frozenGen++
		e.frozen--
		m.held = m.held[:0]
	}
	if m.leading {
		if e.hooks.keepDeadLeader {
			e.deadLeading++
		} else {
			e.setLeading(i, false)
		}
	}
	if !m.observer {
		if m.leader >= 0 {
			e.known[m.leader]--
		}
		if m.fresh >= 0 && m.freshGen == e.quietGen {
			e.freshCnt[m.fresh]--
		}
		e.aliveNonObs--
	}
	m.leader, m.fresh = -1, -1
	if m.electing {
		m.electing = false
		e.electing--
	}
	if e.tl != nil {
		e.tl.add(e.now, i, tlDead, 0)
	}
}

// tick runs member i's timers if its tick entry is still current.
func (e *engine) tick(i int32, gen uint32) {
	m := &e.mem[i]
	if !m.alive || gen != m.tickGen {
		return
	}
	m.queued = false
	if m.frozen {
		return // the thaw ticks it
	}
	next := m.m.Next()
	if next.IsZero() {
		return
	}
	if t := e.ns(next); t > e.now {
		e.schedule(i, t)
		return
	}
	was := m.leading
	e.apply(i, m.m.Tick(e.at(e.now)), true, was)
}

// schedule makes sure member i is ticked at t. At most one tick entry per
// member is kept current: a later timer is found when the earlier entry
// fires, so a heartbeat that pushes a follower's timeout back costs nothing.
func (e *engine) schedule(i int32, t int64) {
	m := &e.mem[i]
	if m.queued && m.tickAt <= t {
		return
	}
	m.tickGen++
	m.queued, m.tickAt = true, t
	e.seq++
	e.q.push(entry{at: t, seq: e.seq, ref: i, gen: m.tickGen, kind: evTick})
}

// apply carries out the effects of one step of member i, in order.
// tick says the step was a Tick and was whether i led before it: a
// "current" it then sends is a heartbeat.
func (e *engine) apply(i int32, out bellwether.Output, tick, was bool) {
	m := &e.mem[i]
	for k := range out.Effects {
		ef := &out.Effects[k]
		switch ef.Kind {
		case bellwether.EffectBroadcast:
			a := actCode(ef.Event.Action)
			e.send(i, a, tick && was && a == actCurrent, ef.Event.Epoch)
			if e.sc.Lease && (!m.isolated || e.hooks.ackIsolated) {
				e.ackLater(i, ef.Seq, a)
			}
		case bellwether.EffectLeading:
			e.effects++
			e.setLeading(i, ef.Leading)
		case bellwether.EffectLeader:
			e.effects++
			e.setKnown(i, ef.Leader)
		case bellwether.EffectWarning:
			e.warnings++
			e.rec(rec{t: e.now, kind: trWarn, a: i, b: -1, x: uint8(ef.Warning)})
		}
	}
	if el := m.m.Electing(); el != m.electing {
		m.electing = el
		if el {
			e.electing++
		} else {
			e.electing--
		}
	}
	if !out.Next.IsZero() {
		e.schedule(i, e.ns(out.Next))
	}
	if e.sc.Lease {
		m.leaseEnd = math.MaxInt64
		if end, ok := m.m.LeaseEnd(); ok {
			m.leaseEnd = e.ns(end)
		}
		// The machine steps down at its lease's end when ticked on time.
		if e.checkA && m.leading && m.leaseEnd <= e.now {
			e.violate("a", fmt.Sprintf("%s leads past its lease's end at %s", m.id, appendTime(nil, m.leaseEnd)))
		}
	}
	if e.checkA && e.sc.Lease {
		e.checkEpoch(i)
	}
	if e.checkA {
		l, ok := m.m.Leader()
		if m.leading != m.m.IsLeader() || ok != (m.leader >= 0) || ok && l != e.mem[m.leader].id {
			e.violate("a", fmt.Sprintf("%s: effects say leading=%v leader=%s, the machine says leading=%v leader=%q",
				m.id, m.leading, e.name(m.leader), m.m.IsLeader(), l))
		}
	}
}

func (e *engine) setLeading(i int32, on bool) {
	m := &e.mem[i]
	if m.leading == on {
		return
	}
	e.accrue()
	m.leading = on
	if on {
		e.leading++
		e.leadSum += int64(i)
		e.changes++
		if e.checkD {
			e.starters = append(e.starters, i)
		}
	} else {
		e.leading--
		e.leadSum -= int64(i)
	}
	var x uint8
	if on {
		x = 1
	}
	e.rec(rec{t: e.now, kind: trLeading, a: i, b: -1, x: x})
	if e.tl != nil {
		e.tl.add(e.now, i, tlLeading, int32(x))
		e.tl.count(e.now, e.leading)
	}
}

func (e *engine) setKnown(i int32, id string) {
	m := &e.mem[i]
	l := int32(-1)
	if id != "" {
		v, ok := e.ids[id]
		if !ok {
			e.violate("a", fmt.Sprintf("%s: leader %q is no member", m.id, id))
			return
		}
		l = v
	}
	if !m.observer {
		if m.leader >= 0 {
			e.known[m.leader]--
		}
		if l >= 0 {
			e.known[l]++
		}
	}
	m.leader = l
	e.rec(rec{t: e.now, kind: trLeader, a: i, b: l})
	if e.tl != nil {
		e.tl.add(e.now, i, tlLeader, l)
	}
}
