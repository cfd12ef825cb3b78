package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	// fresh is the sender of the last "current" heard that was sent during
	// the quiet period freshGen, or -1.
	fresh    int32
	freshGen uint32
}

// bcast is one broadcast in flight, or one duplicated delivery (to >= 0).
// Its deliveries are generated lazily, in time order; see sampler.
type bcast struct {
	sentAt int64
	key    uint64  // permutation key
	u      float64 // last order statistic
	dueAt  int64   // a duplicate's delivery time
	sender int32
	to     int32 // >= 0: a single delivery to this member
	n, k   int32 // recipients, next rank
	epoch  int32 // partition epoch at send
	window int32
	act    uint8
	hb     bool
}

type faultAt struct {
	at int64
	Fault
}

// window is the span from one fault (or the start) to the next, over
// which the recovery from that fault is measured.
type window struct {
	label     string
	start     int64
	bc, dl    int64 // broadcasts and deliveries, heartbeats excluded
	conv      int64 // time from start to the final agreement on one leader
	converged bool
}

// hooks let tests break the simulator on purpose, to show that the
// invariant checks can fail.
type hooks struct {
	keepDeadLeader bool // a crashed leader still counts as leading
}

var testHooks *hooks

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
	lateQ  []int32 // late members in join order
	downQ  []int32 // crashed or withdrawn members, most recent last

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
	bound                  int64
	quietSince, resetAt    int64
	quietGen               uint32
	armed, latched         bool
	latchedL               int32
	violation              *Violation
	agreeMax               int64 // longest time from a quiet start to the final agreement

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
		resetAt:   -1,
	}
	if testHooks != nil {
		e.hooks = *testHooks
	}
	e.tr.write = sc.Trace != nil
	e.tr.deliv = sc.TraceDeliveries
	switch sc.Check {
	case CheckOn:
		e.checkA = true
		e.checkBC, _ = sc.guaranteed()
	case CheckForce:
		e.checkA, e.checkBC, e.force = true, true, true
	}
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
		}
		e.after()
	}
	if e.violation == nil {
		e.now = e.end
	}
	e.accrue()
	e.notePeriod()
	e.closeWindow()
	if e.tl != nil {
		e.tl.finish(e.now)
	}
	e.flush()
}

// notePeriod records how long the quiet period ending now took to agree.
func (e *engine) notePeriod() {
	if e.agreed && e.connected() && e.quietSince < e.now {
		e.agreeMax = max(e.agreeMax, e.agreedSince-e.quietSince)
	}
}

// disturb starts a new quiet period: a fault, join or leave happened now.
func (e *engine) disturb() {
	e.notePeriod()
	e.quietSince = e.now
	e.armed, e.latched = false, false
	if e.resetAt == e.now {
		return
	}
	e.resetAt = e.now
	e.quietGen++
	clear(e.freshCnt)
	if e.checkBC {
		e.seq++
		e.q.push(entry{at: e.now + e.bound, seq: e.seq, gen: e.quietGen, kind: evCheck})
	}
}

func (e *engine) connected() bool { return e.groups[e.epoch] == nil }

func (e *engine) linked(epoch, a, b int32) bool {
	g := e.groups[epoch]
	return g == nil || g[a] == g[b]
}

// agree reports whether exactly one alive member leads and every alive
// non-observer knows it as leader, and which member that is.
func (e *engine) agree() (bool, int32) {
	if e.leading != 1 || e.aliveNonObs == 0 {
		return false, -1
	}
	l := int32(e.leadSum)
	return e.known[l] == e.aliveNonObs, l
}

// after checks the invariants and tracks agreement after one event.
func (e *engine) after() {
	a, l := e.agree()
	if a != e.agreed || a && l != e.agreedL {
		e.agreed, e.agreedL = a, l
		if a {
			e.agreedSince = e.now
		}
	}
	if e.violation != nil {
		return
	}
	if e.checkA && e.deadLeading > 0 {
		e.violate("a", "a member that is not alive is counted as leading")
		return
	}
	if !e.checkBC || !e.force && !e.connected() {
		return
	}
	if e.latched {
		if !a || l != e.latchedL {
			e.violate("c", fmt.Sprintf("leadership changed in a quiet connected network that had agreed on %s (now: %s)", e.name(e.latchedL), e.describe()))
			return
		}
	} else if a && e.electing == 0 && e.freshCnt[l] == e.aliveNonObs-1 && e.curTotal == e.curFlight[l] && e.wdFlight == 0 {
		e.latched, e.latchedL = true, l
		e.rec(rec{t: e.now, kind: trStable, a: l, b: -1})
	}
	if e.armed && !a && e.aliveNonObs > 0 {
		e.violate("b", fmt.Sprintf("quiet and connected since %s (B = %v) but not exactly one leader known by all: %s",
			appendTime(nil, e.quietSince), time.Duration(e.bound), e.describe()))
	}
}

// describe summarises who leads and who follows whom, for violations.
func (e *engine) describe() string {
	var leaders []string
	follow := make(map[int32]int)
	for i := range e.mem {
		m := &e.mem[i]
		if !m.alive {
			continue
		}
		if m.leading {
			leaders = append(leaders, m.id)
		}
		if !m.observer {
			follow[m.leader]++
		}
	}
	keys := make([]int32, 0, len(follow))
	for k := range follow {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "leading %v; known leaders:", leaders)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s×%d", e.name(k), follow[k])
	}
	return b.String()
}

func (e *engine) violate(inv, detail string) {
	if e.violation != nil {
		return
	}
	e.violation = &Violation{
		Invariant:    inv,
		Detail:       detail,
		At:           time.Duration(e.now),
		Repetition:   e.rep,
		Seed:         e.seed,
		ScenarioSeed: e.sc.Seed,
		Trace:        e.recent(40, 12),
	}
}

// accrue adds the time since the last call to the multi- and no-leader
// totals.
func (e *engine) accrue() {
	d := e.now - e.lastAcc
	switch {
	case e.leading > 1:
		e.multi += d
	case e.leading == 0:
		e.none += d
	}
	e.lastAcc = e.now
}

func (e *engine) openWindow(label string) {
	if w := &e.windows[len(e.windows)-1]; w.start == e.now {
		w.label += "+" + label
		return
	}
	e.closeWindow()
	e.windows = append(e.windows, window{label: label, start: e.now})
}

func (e *engine) closeWindow() {
	w := &e.windows[len(e.windows)-1]
	if e.agreed {
		w.converged = true
		w.conv = max(0, e.agreedSince-w.start)
	}
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
	})
	if err != nil {
		panic(err) // the scenario was validated
	}
	m.m, m.alive, m.started, m.since = mach, true, true, e.now
	m.leading, m.leader, m.electing, m.fresh = false, -1, false, -1
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
			e.send(i, actWithdraw, false)
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

// currentLeader returns the leading member with the smallest id, or -1.
func (e *engine) currentLeader() int32 {
	switch e.leading {
	case 0:
		return -1
	case 1:
		return int32(e.leadSum)
	}
	for i := range e.mem {
		if e.mem[i].alive && e.mem[i].leading {
			return int32(i)
		}
	}
	return -1
}

func (e *engine) fault(fi int32) {
	f := &e.faults[fi]
	label := f.Kind.String()
	noop := func() {
		e.rec(rec{t: e.now, kind: trNoop, a: -1, b: -1, f: fi})
		label = "noop"
	}
	switch f.Kind {
	case Crash, Withdraw, Resign:
		t := int32(f.Member)
		if f.Member == TheLeader {
			t = e.currentLeader()
		}
		if t < 0 || !e.mem[t].alive {
			noop()
			break
		}
		var was uint8
		if e.mem[t].leading {
			was = 1
			label += "-leader"
		}
		kind := map[FaultKind]uint8{Crash: trCrash, Withdraw: trWithdraw, Resign: trResign}[f.Kind]
		e.rec(rec{t: e.now, kind: kind, a: t, b: -1, x: was})
		if f.Kind == Resign {
			e.apply(t, e.mem[t].m.Resign(e.at(e.now)), false, false)
			break
		}
		e.kill(t, f.Kind == Withdraw)
		e.downQ = append(e.downQ, t)
	case Restart:
		t := int32(f.Member)
		if f.Member == Auto {
			t = -1
			for len(e.downQ) > 0 && t < 0 {
				c := e.downQ[len(e.downQ)-1]
				e.downQ = e.downQ[:len(e.downQ)-1]
				if !e.mem[c].alive {
					t = c
				}
			}
		}
		if t < 0 || e.mem[t].alive || !e.mem[t].started {
			noop()
			break
		}
		e.disturb()
		e.start(t, trRestart)
	case Join:
		t := int32(f.Member)
		if f.Member == Auto {
			t = -1
			for len(e.lateQ) > 0 && t < 0 {
				c := e.lateQ[0]
				e.lateQ = e.lateQ[1:]
				if !e.mem[c].started {
					t = c
				}
			}
		}
		if t < 0 || e.mem[t].started {
			noop()
			break
		}
		e.disturb()
		e.start(t, trJoin)
	case Partition:
		g := make([]int32, len(e.mem))
		for i := range g {
			g[i] = int32(len(f.Groups))
		}
		for k, set := range f.Groups {
			for _, i := range set {
				g[i] = int32(k)
			}
		}
		e.groups = append(e.groups, g)
		e.epoch = int32(len(e.groups) - 1)
		e.rec(rec{t: e.now, kind: trPartition, a: -1, b: -1, f: fi})
	case Heal:
		if e.groups[e.epoch] != nil {
			e.groups = append(e.groups, nil)
			e.epoch = int32(len(e.groups) - 1)
		}
		e.rec(rec{t: e.now, kind: trHeal, a: -1, b: -1})
	}
	e.disturb()
	e.openWindow(label)
	if e.tl != nil {
		e.tl.mark(e.now, label)
	}
}

// tick runs member i's timers if its tick entry is still current.
func (e *engine) tick(i int32, gen uint32) {
	m := &e.mem[i]
	if !m.alive || gen != m.tickGen {
		return
	}
	m.queued = false
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
			e.send(i, a, tick && was && a == actCurrent)
		case bellwether.EffectLeading:
			e.setLeading(i, ef.Leading)
		case bellwether.EffectLeader:
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

func (e *engine) alloc() int32 {
	if n := len(e.free); n > 0 {
		i := e.free[n-1]
		e.free = e.free[:n-1]
		return i
	}
	e.bc = append(e.bc, bcast{})
	return int32(len(e.bc) - 1)
}

func (e *engine) inflight(b *bcast, d int32) {
	switch b.act {
	case actCurrent:
		e.curFlight[b.sender] += d
		e.curTotal += d
	case actWithdraw:
		e.wdFlight += d
	}
}

// send broadcasts action a from member i to every other member.
func (e *engine) send(i int32, a uint8, hb bool) {
	e.seq++
	e.bcasts++
	w := int32(len(e.windows) - 1)
	if !hb {
		e.windows[w].bc++
	}
	var h int32
	if hb {
		h = 1
	}
	e.rec(rec{t: e.now, kind: trSend, a: i, b: h, x: a})
	n := int32(len(e.mem) - 1)
	if n == 0 {
		return
	}
	k := e.alloc()
	b := &e.bc[k]
	*b = bcast{sentAt: e.now, sender: i, to: -1, n: n, epoch: e.epoch, window: w, act: a, hb: hb}
	if !e.lat.fixed() {
		b.key = e.rng.Uint64()
	}
	e.q.push(entry{at: e.nextAt(b), seq: e.seq, ref: k, kind: evBcast})
	e.inflight(b, 1)
}

// nextAt draws the time of b's next delivery, rank b.k.
func (e *engine) nextAt(b *bcast) int64 {
	if e.lat.fixed() {
		return b.sentAt + e.lat.min
	}
	if b.to >= 0 {
		return b.dueAt
	}
	b.u = nextOrder(e.rng, b.u, b.n-b.k)
	return b.sentAt + e.lat.quantile(b.u)
}

// stepBcast makes the next delivery of broadcast k, the first entry.
func (e *engine) stepBcast(k int32) {
	b := &e.bc[k]
	to := b.to
	if to < 0 {
		p := b.k
		if !e.lat.fixed() {
			pm := newPerm(b.n, b.key)
			p = pm.at(b.k)
		}
		to = p
		if p >= b.sender {
			to++
		}
	}
	b.k++
	e.deliver(k, to)
	b = &e.bc[k] // deliver may grow e.bc
	if e.q[0].kind != evBcast || e.q[0].ref != k {
		panic("sim: broadcast entry lost its place")
	}
	if b.k >= b.n {
		e.q.pop()
		e.inflight(b, -1)
		e.free = append(e.free, k)
		return
	}
	if at := e.nextAt(b); at != e.q[0].at {
		e.q[0].at = at
		e.q.fixTop()
	}
}

// deliver hands broadcast k to member to, unless the member is down or
// started after the send, a partition separates them (at send or now), or
// the delivery is lost.
func (e *engine) deliver(k, to int32) {
	b := &e.bc[k]
	r := &e.mem[to]
	if !r.alive || r.since > b.sentAt {
		return
	}
	if !e.linked(b.epoch, b.sender, to) || !e.linked(e.epoch, b.sender, to) {
		e.rec(rec{t: e.now, kind: trCut, a: to, b: b.sender, x: b.act})
		return
	}
	if e.sc.Loss > 0 && e.rng.Float64() < e.sc.Loss {
		e.lost++
		e.rec(rec{t: e.now, kind: trLost, a: to, b: b.sender, x: b.act})
		return
	}
	if b.to < 0 && e.sc.Dup > 0 && e.rng.Float64() < e.sc.Dup {
		e.dups++
		e.rec(rec{t: e.now, kind: trDup, a: to, b: b.sender, x: b.act})
		c := *b
		c.to, c.n, c.k = to, 1, 0
		c.dueAt = e.now + e.lat.sample(e.rng)
		j := e.alloc()
		e.bc[j] = c
		e.seq++
		e.q.push(entry{at: c.dueAt, seq: e.seq, ref: j, kind: evBcast})
		e.inflight(&c, 1)
		b = &e.bc[k]
	}
	e.delivs++
	if !b.hb {
		e.windows[b.window].dl++
	}
	act, from, sentAt := b.act, b.sender, b.sentAt
	e.rec(rec{t: e.now, kind: trRecv, a: to, b: from, x: act})
	if act == actCurrent && !r.observer {
		if r.freshGen != e.quietGen || r.fresh != from {
			if r.freshGen == e.quietGen && r.fresh >= 0 {
				e.freshCnt[r.fresh]--
			}
			r.freshGen, r.fresh = e.quietGen, -1
			if sentAt >= e.quietSince {
				r.fresh = from
				e.freshCnt[from]++
			}
		}
	}
	ev := bellwether.Event{Type: bellwether.EventType, Action: actions[act], ClientID: e.mem[from].id}
	e.apply(to, r.m.Receive(e.at(e.now), ev), false, false)
}
