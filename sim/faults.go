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
