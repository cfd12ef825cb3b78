// This file holds the faults: crashes, restarts, withdrawals,
// resignations, joins, partitions and heals.

package sim

// faultAt is one occurrence of a fault: a repeated fault has several.
type faultAt struct {
	at int64
	Fault
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
	case Crash, Withdraw, Resign, Isolate, Freeze:
		t := int32(f.Member)
		if f.Member == TheLeader {
			t = e.currentLeader()
		}
		// A frozen member can be killed, but runs no code to withdraw or
		// resign; isolating or freezing twice does nothing.
		if t < 0 || !e.mem[t].alive || e.mem[t].frozen && f.Kind != Crash && f.Kind != Isolate ||
			e.mem[t].isolated && f.Kind == Isolate {
			noop()
			break
		}
		var was uint8
		if e.mem[t].leading {
			was = 1
			label += "-leader"
		}
		kind := map[FaultKind]uint8{Crash: trCrash, Withdraw: trWithdraw, Resign: trResign, Isolate: trIsolate, Freeze: trFreeze}[f.Kind]
		e.rec(rec{t: e.now, kind: kind, a: t, b: -1, x: was})
		m := &e.mem[t]
		switch f.Kind {
		case Isolate:
			m.isolated = true
			m.isoGen++
			e.isolated++
			if f.For > 0 {
				e.seq++
				e.q.push(entry{at: e.now + int64(f.For), seq: e.seq, ref: t, gen: m.isoGen, kind: evReconnect})
			}
			e.deafLater(t)
		case Freeze:
			m.frozen = true
			m.frozenGen++
			e.frozen++
			e.seq++
			e.q.push(entry{at: e.now + int64(f.For), seq: e.seq, ref: t, gen: m.frozenGen, kind: evThaw})
		case Resign:
			e.apply(t, m.m.Resign(e.at(e.now)), false, false)
		default:
			e.kill(t, f.Kind == Withdraw)
			e.downQ = append(e.downQ, t)
		}
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
		for i := range e.mem {
			if e.mem[i].isolated {
				e.reconnect(int32(i))
			}
		}
	case Loss:
		e.loss = f.Loss
		e.rec(rec{t: e.now, kind: trLoss, a: -1, b: -1, f: fi})
	}
	e.disturb()
	e.openWindow(label)
	if e.tl != nil {
		e.tl.mark(e.now, label)
	}
}

// reconnect ends member i's isolation: it hears what is sent from now on.
func (e *engine) reconnect(i int32) {
	m := &e.mem[i]
	m.isolated = false
	m.isoGen++
	m.reconnectedAt = e.now
	e.isolated--
	e.rec(rec{t: e.now, kind: trReconnect, a: i, b: -1})
	if m.deaf {
		m.deaf = false
		if m.alive {
			e.rec(rec{t: e.now, kind: trDeaf, a: i, b: -1})
			e.apply(i, m.m.Deaf(e.at(e.now), false), false, false)
		}
	}
}

// deafLater makes the driver of isolated leasing member i report it deaf
// once it has heard nothing for HeartbeatInterval, as the Elector does
// when receiving fails, unless the scenario's isolations are silent.
func (e *engine) deafLater(i int32) {
	if !e.sc.Lease || e.sc.SilentIsolation {
		return
	}
	e.seq++
	e.q.push(entry{at: e.now + int64(e.sc.Settings.HeartbeatInterval), seq: e.seq, ref: i, gen: e.mem[i].isoGen, kind: evDeaf})
}

// thaw ends member i's freeze with a late Tick: the machine finds its
// timers overdue, as a process resumed after a pause does; then it gets
// what arrived while it was frozen.
func (e *engine) thaw(i int32) {
	m := &e.mem[i]
	m.frozen = false
	m.frozenGen++
	e.frozen--
	m.thawedAt = e.now
	var was uint8
	if m.leading {
		was = 1
	}
	e.rec(rec{t: e.now, kind: trThaw, a: i, b: -1, x: was})
	e.disturb()
	e.openWindow("thaw")
	if e.tl != nil {
		e.tl.mark(e.now, "thaw")
	}
	e.apply(i, m.m.Tick(e.at(e.now)), true, m.leading)
	held := m.held
	m.held = nil
	for _, d := range held {
		e.receive(i, d)
	}
	if m.held == nil {
		m.held = held[:0] // reuse the buffer
	}
	if m.isolated && !m.deaf {
		e.deafLater(i)
	}
}
