// This file holds the network: broadcasts in flight, their lazy fan-out
// with latency, and delivery through partitions, loss and duplication.

package sim

import "github.com/bellwether-go/bellwether"

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
	ep     uint64 // the event's leadership epoch (lease mode), for (e)
}

// connected reports whether every alive member can reach every other:
// no partition, no member cut off from the bus or frozen.
func (e *engine) connected() bool {
	return e.groups[e.epoch] == nil && e.isolated == 0 && e.frozen == 0
}

func (e *engine) linked(epoch, a, b int32) bool {
	g := e.groups[epoch]
	return g == nil || g[a] == g[b]
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

// ack is the bus's acknowledgement of broadcast seq of member's
// incarnation inc, on its way back to the sender.
type ack struct {
	seq, inc uint64
	sentAt   int64
	member   int32
	act      uint8
}

// ackLater schedules the acknowledgement of broadcast seq, which member i
// just sent and the bus accepted: it comes back one latency later.
func (e *engine) ackLater(i int32, seq uint64, act uint8) {
	var k int32
	if n := len(e.freeAcks); n > 0 {
		k = e.freeAcks[n-1]
		e.freeAcks = e.freeAcks[:n-1]
	} else {
		e.acks = append(e.acks, ack{})
		k = int32(len(e.acks) - 1)
	}
	e.acks[k] = ack{seq: seq, inc: e.mem[i].inc, sentAt: e.now, member: i, act: act}
	e.seq++
	e.q.push(entry{at: e.now + e.lat.sample(e.rng), seq: e.seq, ref: k, kind: evAck})
}

// acked hands acknowledgement k to its sender, unless the sender is gone,
// frozen or has been cut off from the bus since it sent.
func (e *engine) acked(k int32) {
	a := e.acks[k]
	e.freeAcks = append(e.freeAcks, k)
	m := &e.mem[a.member]
	if !m.alive || m.inc != a.inc {
		return
	}
	if m.frozen || (m.isolated || m.reconnectedAt > a.sentAt) && !e.hooks.ackIsolated {
		e.rec(rec{t: e.now, kind: trAckLost, a: a.member, b: -1})
		return
	}
	e.rec(rec{t: e.now, kind: trAck, a: a.member, b: -1})
	e.apply(a.member, m.m.Acked(e.at(e.now), a.seq), false, false)
	if a.act == actCurrent && a.sentAt >= e.quietSince && m.leading {
		m.renewedGen = e.quietGen // for (c): the lease was renewed in this quiet period
	}
}

// send broadcasts action a from member i to every other member.
func (e *engine) send(i int32, a uint8, hb bool, ep uint64) {
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
	if e.mem[i].isolated {
		h |= 2 // the bus did not take it
	}
	e.rec(rec{t: e.now, kind: trSend, a: i, b: h, x: a})
	n := int32(len(e.mem) - 1)
	if n == 0 || h&2 != 0 {
		return
	}
	k := e.alloc()
	b := &e.bc[k]
	*b = bcast{sentAt: e.now, sender: i, to: -1, n: n, epoch: e.epoch, window: w, act: a, hb: hb, ep: ep}
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
// started after the send, was cut off from the bus at any time since the
// send, a partition separates them (at send or now), or the delivery is
// lost. A frozen member gets it when it thaws.
func (e *engine) deliver(k, to int32) {
	b := &e.bc[k]
	r := &e.mem[to]
	if !r.alive || r.since > b.sentAt {
		return
	}
	if r.isolated || r.reconnectedAt > b.sentAt {
		e.rec(rec{t: e.now, kind: trCut, a: to, b: b.sender, x: b.act})
		return
	}
	if !e.linked(b.epoch, b.sender, to) || !e.linked(e.epoch, b.sender, to) {
		e.rec(rec{t: e.now, kind: trCut, a: to, b: b.sender, x: b.act})
		return
	}
	if e.loss > 0 && e.rng.Float64() < e.loss {
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
	d := held{sentAt: b.sentAt, from: b.sender, window: b.window, act: b.act, hb: b.hb, ep: b.ep}
	if r.frozen {
		// As a paused process's socket would, the member keeps it for
		// when it thaws.
		e.rec(rec{t: e.now, kind: trFrozen, a: to, b: b.sender, x: b.act})
		r.held = append(r.held, d)
		return
	}
	e.receive(to, d)
}

// held is a delivery to a frozen member, kept until it thaws.
type held struct {
	sentAt       int64
	from, window int32
	act          uint8
	hb           bool
	ep           uint64
}

// receive hands delivery d to member to's machine.
func (e *engine) receive(to int32, d held) {
	r := &e.mem[to]
	e.delivs++
	if !d.hb {
		e.windows[d.window].dl++
	}
	act, from, sentAt := d.act, d.from, d.sentAt
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
	ev := bellwether.Event{Type: bellwether.EventType, Action: actions[act], ClientID: e.mem[from].id, Epoch: d.ep}
	heard := ev
	if e.hooks.hideEpochs {
		heard.Epoch = 0
	}
	e.apply(to, r.m.Receive(e.at(e.now), heard), false, false)
	if e.checkA && e.sc.Lease {
		e.checkMet(to, ev)
	}
}
