// This file holds the invariants (a) to (e) of docs/simulator.md and the
// quiet periods they are measured over.

package sim

import (
	"fmt"

	"github.com/bellwether-go/bellwether"
	"math"
	"slices"
	"strings"
	"time"
)

// hooks let tests break the simulator on purpose, to show that the
// invariant checks can fail.
type hooks struct {
	keepDeadLeader bool // a crashed leader still counts as leading
	checkLeases    bool // check (d) even without a lease
	ackIsolated    bool // the bus acknowledges what an isolated member sends, and delivers none of it
	skipBC         bool // check neither (b) nor (c)
	hideEpochs     bool // machines hear events without their epochs (the checks still see them)
}

var testHooks *hooks

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

// notePeriod records how long the quiet period ending now took to agree.
func (e *engine) notePeriod() {
	if e.agreed && e.connected() && e.quietSince < e.now {
		e.agreeMax = max(e.agreeMax, e.agreedSince-e.quietSince)
	}
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
	if !e.checkBC || !e.force && (!e.connected() || e.loss > 0) {
		return
	}
	if e.latched {
		if !a || l != e.latchedL {
			e.violate("c", fmt.Sprintf("leadership changed in a quiet connected network that had agreed on %s (now: %s)", e.name(e.latchedL), e.describe()))
			return
		}
	} else if a && e.electing == 0 && e.freshCnt[l] == e.aliveNonObs-1 && e.curTotal == e.curFlight[l] && e.wdFlight == 0 &&
		(!e.sc.Lease || e.mem[l].renewedGen == e.quietGen) {
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

// checkLeases checks invariant (d) once every event of the instant has
// run: no member that started leading now overlaps with another member's
// lease. A lease runs from EffectLeading true to EffectLeading false (or
// the member's end), and no longer than the lease end its machine last
// reported (Machine.LeaseEnd): a frozen leader's lease ends on time, as
// its guard would end its job, although the machine only says so when it
// thaws. One that ends at the very instant another starts does not
// overlap it.
func (e *engine) checkLeases() {
	for _, s := range e.starters {
		if !e.mem[s].leading {
			continue // started and stopped within the instant
		}
		for i := range e.mem {
			if m := &e.mem[i]; int32(i) != s && m.leading && m.leaseEnd > e.now {
				until := "its end"
				if m.leaseEnd < math.MaxInt64 {
					until = string(appendTime(nil, m.leaseEnd))
				}
				e.violate("d", fmt.Sprintf("%s started leading while %s leads (its lease runs until %s): two leases at once", e.mem[s].id, m.id, until))
				return
			}
		}
	}
	e.starters = e.starters[:0]
}

// checkEpoch checks the first half of invariant (e) after a step of member
// i: a leader's epoch never decreases, within a leadership or from one to
// the next.
func (e *engine) checkEpoch(i int32) {
	m := &e.mem[i]
	if !m.m.IsLeader() {
		return
	}
	ep := m.m.Epoch()
	if ep < m.ledEpoch || ep == 0 {
		e.violate("e", fmt.Sprintf("%s leads at epoch %d, after leading at %d", m.id, ep, m.ledEpoch))
		return
	}
	m.ledEpoch = ep
}

// checkMet checks the second half of (e) after member to heard ev: a
// leader that hears another leader's heartbeat and goes on leading does so
// at a greater epoch, so two leaders that met never keep equal epochs.
func (e *engine) checkMet(to int32, ev bellwether.Event) {
	m := &e.mem[to]
	if ev.Action != bellwether.ActionCurrent || ev.Epoch == 0 || !m.m.IsLeader() {
		return
	}
	if ep := m.m.Epoch(); ep <= ev.Epoch {
		e.violate("e", fmt.Sprintf("%s goes on leading at epoch %d after hearing %s lead at epoch %d", m.id, ep, ev.ClientID, ev.Epoch))
	}
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
