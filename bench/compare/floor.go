package main

import (
	"time"

	"github.com/bellwether-go/bellwether"
)

// The harness's own share of a cold start: the same queue, the same
// deliveries in the same order and the same handling of each answer as
// coldStart's, with every member's answer read from a recording of a real
// run instead of asked of its Machine. What is left of the Go figure is
// the Machines' own work; the reference's figure over this one is the
// most any Machine could reach against the reference in this scenario.

// coldAnswer is what one member call of a cold start returned: moved, its
// effects and the member's deadline after it.
type coldAnswer struct {
	moved bool
	fx    []bellwether.Effect
	next  time.Time
}

// recordCold runs a reference-mode cold start of n members as coldStart
// does and returns every member call's answer, in order. It restates
// coldStart's loop with a recording in it, so that the timed loop carries
// no recording branch.
func recordCold(n int) []coldAnswer {
	var tape []coldAnswer
	note := func(moved bool, fx []bellwether.Effect, next time.Time) {
		tape = append(tape, coldAnswer{moved, append([]bellwether.Effect(nil), fx...), next})
	}
	c := newColdNet(n)
	for i := range c.ms {
		m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: coldID(i), Mode: bellwether.ModeReference, Seed: uint64(i)})
		if err != nil {
			panic(err)
		}
		c.ms[i] = m
	}
	for i, m := range c.ms {
		out := m.Start(c.t0)
		note(true, out.Effects, out.Next)
		c.apply(i, 0, out.Effects, out.Next)
	}
	nowAt, now := time.Duration(0), c.t0
	for len(c.q) > 0 && c.q[0].at() <= coldEnd {
		e := c.q.pop()
		at := e.at()
		if at != nowAt {
			nowAt, now = at, c.t0.Add(at)
		}
		if e.ev < 0 {
			who := int(e.who)
			if at != c.due[who] {
				continue
			}
			c.due[who] = 0
			out := c.ms[who].Tick(now)
			note(true, out.Effects, out.Next)
			c.apply(who, at, out.Effects, out.Next)
			continue
		}
		ev := &c.events[e.ev]
		for j, m := range c.ms {
			if j == int(e.who) {
				continue
			}
			fx, moved := m.ReceiveEffects(now, ev)
			if !moved {
				note(false, nil, time.Time{})
				continue
			}
			next := m.Next()
			note(true, fx, next)
			if len(fx) > 0 || next != c.next[j] {
				c.apply(j, at, fx, next)
			}
		}
	}
	return tape
}

// replayCold is coldStart's harness on tape, recordCold's recording of a
// cold start of n members: it returns the broadcasts it queued, which are
// the real run's when the replay is faithful.
func replayCold(n int, tape []coldAnswer) int {
	c := newColdNet(n)
	k := 0
	for i := range c.ms {
		a := &tape[k]
		k++
		c.apply(i, 0, a.fx, a.next)
	}
	for len(c.q) > 0 && c.q[0].at() <= coldEnd {
		e := c.q.pop()
		at := e.at()
		if e.ev < 0 {
			who := int(e.who)
			if at != c.due[who] {
				continue
			}
			c.due[who] = 0
			a := &tape[k]
			k++
			c.apply(who, at, a.fx, a.next)
			continue
		}
		for j := range c.ms {
			if j == int(e.who) {
				continue
			}
			a := &tape[k]
			k++
			if !a.moved {
				continue
			}
			if len(a.fx) > 0 || a.next != c.next[j] {
				c.apply(j, at, a.fx, a.next)
			}
		}
	}
	return c.broadcasts
}
