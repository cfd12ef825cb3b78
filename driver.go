package bellwether

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// driver runs a Machine in real (or synctest) time: inputs may come from
// any goroutine and never wait for callbacks; one worker goroutine at a
// time carries out the effects, one at a time and in order. The worker
// runs only while there are effects to carry out, and the timer steps the
// machine by itself, so that a member at rest costs no goroutine of its
// driver's (a goroutine, its stack and what it waits on are heap and stack
// per member of every group in the process; see bench/manygroups).
type driver struct {
	mu    sync.Mutex
	m     *Machine
	queue []Effect // effects not yet handed to the worker
	// The machine's deadline, and the one the timer is set for, in the
	// machine's instants, noTimer for none: compared at every step, where
	// time.Time's Before and Equal were calls, and the deadline had to be
	// made a time.Time for them.
	next   instant
	armed  instant
	timer  *time.Timer // an AfterFunc of ring, made on the first deadline
	worker uint64      // the running worker's goroutine (see goroutineID), with reentrant
	// idle is closed when the worker next stops, then nil; sync makes it.
	idle chan struct{}

	// The flags share a word.
	closing bool // shutdown has been called
	running bool // a worker runs, or is about to
	inCall  bool // the worker is inside handle
	fired   bool // the timer rang while a worker ran, which ticks when its batch is done
	// reentrant: the handler runs user code, which may call shutdown
	// (fromHandler), so each worker notes its goroutine. Reading it
	// (runtime.Stack) was the worker's largest cost of its own, for every
	// leader's heartbeat, now that a worker starts for each.
	reentrant bool
	coalesce  bool // fold repeated pending effects (enqueue); the Manager does not, as the reference does not

	h effectHandler

	woken atomic.Uint64 // times an input started the worker, for the tests
	done  latch         // closing, and no worker runs any longer; under mu
}

// effectHandler is what a driver calls. An Elector is one: an interface
// holds it with no allocation, where each of its method values would be
// one, per member.
type effectHandler interface {
	handle(*Effect)              // called on the worker goroutine only; the Effect is valid only during the call
	settled()                    // after each batch of effects, on the worker
	observe(*Machine, time.Time) // after every step, under mu
}

// newDriver returns a driver that calls handle, and observe if not nil;
// handle may call shutdown with fromHandler (the Manager's callbacks).
func newDriver(m *Machine, handle func(*Effect), observe func(*Machine, time.Time)) *driver {
	d := newDriverFor(m, &funcHandler{handle, observe})
	d.reentrant = true
	return d
}

// newDriverFor returns a driver that calls h, which never calls shutdown.
func newDriverFor(m *Machine, h effectHandler) *driver {
	return &driver{m: m, h: h, next: noTimer, armed: noTimer}
}

// funcHandler is an effectHandler of functions; observe may be nil.
type funcHandler struct {
	h func(*Effect)
	o func(*Machine, time.Time)
}

func (f *funcHandler) handle(e *Effect) { f.h(e) }
func (f *funcHandler) settled()         {}
func (f *funcHandler) observe(m *Machine, now time.Time) {
	if f.o != nil {
		f.o(m, now)
	}
}

// start runs the machine's Start, hands its effects to the handler on the
// caller's goroutine, as the reference's constructor broadcasts its first
// request before it returns, and then lets the driver run: its timer, and
// a worker for the effects that came meanwhile.
func (d *driver) start() {
	d.mu.Lock()
	now := time.Now()
	out := d.m.Start(now)
	first := append([]Effect(nil), out.Effects...)
	d.next = d.m.deadline()
	d.h.observe(d.m, now)
	d.running = true // the caller is the worker for now
	d.mu.Unlock()
	d.handleAll(first)
	d.mu.Lock()
	d.running = false
	if d.closing && len(d.queue) == 0 {
		d.done.fire()
	}
	start := d.resume(false)
	d.mu.Unlock()
	if start {
		go d.run()
	}
}

// apply runs one machine step under the lock and queues the effects it
// returns; the deadline it reads from the machine, in the machine's
// instants. It never blocks on callbacks. It reports false once the driver
// is closing.
func (d *driver) apply(step func(now time.Time) []Effect) bool {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return false
	}
	now := time.Now()
	effects := step(now)
	start := d.after(effects, d.m.deadline(), now) && d.resume(true)
	d.mu.Unlock()
	if start {
		go d.run()
	}
	return true
}

// acked steps the machine's Acked for the broadcast numbered seq, as
// apply does with a step.
func (d *driver) acked(seq uint64) {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return
	}
	now := time.Now()
	d.m.acked(now, seq)
	start := d.stepped(now) && d.resume(true)
	d.mu.Unlock()
	if start {
		go d.run()
	}
}

// stepped is after for the step the machine just made with one of its
// own methods (tick, acked), whose Output the driver reads from the
// machine: passed on as a value, an Output is copied in wide moves that
// stall on the narrow stores just made.
func (d *driver) stepped(now time.Time) bool {
	if len(d.m.out) == 1 && len(d.queue) == 0 {
		// The one effect (a leader's heartbeat) to an empty queue, where
		// enqueue has nothing to fold it into: the machine's buffer
		// becomes the queue, and the queue's empty one the machine's,
		// rather than an Effect copied across. The worker's batch is a
		// third buffer, so none of the three is ever another.
		d.queue, d.m.out = d.m.out, d.queue[:0]
		d.next = d.m.nextAt
		d.h.observe(d.m, now)
		return true
	}
	return d.after(d.m.out, d.m.nextAt, now)
}

// receive steps the machine's receive: without an Output, whose Next, a
// time.Time, is not what the driver keeps.
func (d *driver) receive(e Event) {
	d.apply(func(now time.Time) []Effect { return d.m.receive(now, &e) })
}

// after queues a step's effects; d.mu is held. It reports whether the
// driver must act (resume): for effects, or for a deadline earlier than
// the one its timer is set for. A deadline that only moved later (a
// follower's heartbeat timeout, on every heartbeat) waits for the armed
// timer, which then re-arms for the new one.
func (d *driver) after(effects []Effect, next instant, now time.Time) bool {
	for i := range effects {
		d.enqueue(&effects[i])
	}
	d.next = next
	d.h.observe(d.m, now)
	if len(effects) > 0 {
		return true
	}
	return d.next < d.armed // noTimer, none, is earlier than nothing
}

// resume reports whether the caller must start a worker, for effects
// queued while none runs; input says the step was an input's, for woken.
// With no worker it arms the timer for a deadline earlier than the armed
// one; a running worker arms it when its batch is done, as the machine
// ticks between batches, never during one. d.mu is held.
func (d *driver) resume(input bool) (start bool) {
	if d.running {
		return false
	}
	if d.next < d.armed {
		d.arm()
	}
	if len(d.queue) == 0 {
		return false
	}
	d.running = true
	if input {
		d.woken.Add(1)
	}
	return true
}

// arm sets the timer for the machine's deadline, if it has one and the
// timer is set for another. d.mu is held.
func (d *driver) arm() {
	if d.closing || d.next == noTimer || d.next == d.armed {
		return
	}
	d.armed = d.next
	wait := time.Until(d.m.timeOf(d.next))
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.ring)
	} else {
		d.timer.Reset(wait)
	}
}

// ring is the timer's function: it ticks the machine at its deadline and
// carries out the effects, as the worker, on its own goroutine; while a
// worker runs, that worker ticks once its batch is done. A ring for a
// deadline since moved later (or re-armed) re-arms instead.
func (d *driver) ring() {
	d.mu.Lock()
	d.armed = noTimer
	if d.closing {
		d.mu.Unlock()
		return
	}
	if d.running {
		d.fired = true
		d.mu.Unlock()
		return
	}
	d.tickIfDue()
	start := d.resume(false)
	d.mu.Unlock()
	if start {
		d.run()
	}
}

// tickIfDue steps the machine's tick if its deadline has come. d.mu is
// held.
func (d *driver) tickIfDue() {
	if d.next == noTimer {
		return
	}
	now := time.Now()
	if at := d.m.clock(now); d.next <= at {
		d.m.tickAt(at)
		d.stepped(now)
	}
}

// enqueue adds e to the queue, folding it into a pending effect it repeats,
// so that a flood of input costs CPU and never a growing queue while the
// worker waits on a slow bus. A broadcast identical to one pending is sent
// once, numbered as the later (the send comes after both); a leader report
// replaces a pending one; a warning already pending is not repeated.
// Nothing moves across a change of leadership.
func (d *driver) enqueue(e *Effect) {
	if !d.coalesce {
		d.queue = append(d.queue, *e)
		return
	}
	for i := len(d.queue) - 1; i >= 0; i-- {
		q := &d.queue[i]
		if q.Kind == EffectLeading {
			break
		}
		if q.Kind != e.Kind {
			continue
		}
		switch e.Kind {
		case EffectWarning:
			if q.Warning == e.Warning {
				return
			}
		case EffectLeader:
			*q = *e
			return
		case EffectBroadcast:
			// A member has at most four distinct broadcasts, so folding
			// into any pending one bounds the queue under any input: a
			// flood alternating two of them on a slow bus no longer grows
			// it, at the cost of sending the later one at the first's
			// place.
			if q.Event == e.Event {
				q.Seq = e.Seq
				return
			}
		}
	}
	d.queue = append(d.queue, *e)
}

// read runs f with the machine under the lock.
func (d *driver) read(f func(m *Machine)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.m)
}

// run carries out the queue's effects, in order, until it is empty; one
// runs at a time (running), started by resume.
func (d *driver) run() {
	d.mu.Lock()
	if d.reentrant {
		d.worker = goroutineID()
	}
	var batch []Effect
	for {
		batch, d.queue = d.queue, batch[:0]
		if len(batch) > 0 {
			d.inCall = true
			d.mu.Unlock()
			d.handleAll(batch)
			d.mu.Lock()
			d.inCall = false
			continue
		}
		if d.fired {
			d.fired = false
			if !d.closing {
				d.tickIfDue()
				if len(d.queue) > 0 {
					continue
				}
			}
		}
		fire(d.idle)
		d.idle = nil
		// The driver keeps one buffer, and only while its machine leads,
		// to heartbeat with no allocation; a follower may have nothing to
		// do for hours, and gives its buffers back (heap, per member),
		// the Machine's too, which its next step would give back only
		// then. A leader's buffers, grown by its election, go back to the
		// one effect of a heartbeat.
		if cap(d.queue) == 0 {
			d.queue = batch
		}
		switch {
		case !d.m.IsLeader():
			d.queue, d.m.out = nil, nil
		case cap(d.queue) > 1 || cap(d.m.out) > 1:
			d.queue, d.m.out = oneEffect(d.queue), oneEffect(d.m.out)
		}
		d.arm()
		d.running = false
		if d.closing {
			d.done.fire()
		}
		d.mu.Unlock()
		return
	}
}

// oneEffect returns an empty buffer of one effect: buf's when it has
// room for no more. Nothing it held is needed any longer.
func oneEffect(buf []Effect) []Effect {
	if cap(buf) == 1 {
		return buf[:0]
	}
	return make([]Effect, 0, 1)
}

// handleAll hands a batch of effects to the handler, in order, then says
// the batch is done; d.mu is not held.
func (d *driver) handleAll(batch []Effect) {
	for i := range batch {
		d.h.handle(&batch[i])
	}
	d.h.settled()
}

// sync waits until every effect queued before it has been handled.
func (d *driver) sync() {
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return // nothing is queued: effects are queued only with a worker to run them
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	c := d.idle
	d.mu.Unlock()
	<-c
}

// shutdown stops the machine and the worker. When it returns, every effect
// queued before it, then its own (a clean shutdown's withdrawal), has been
// handled and no worker runs, nor will. With fromHandler, for a handler
// that runs user code which may call it, a shutdown called while the
// worker is inside the handler returns at once instead: the worker hands
// over the rest, its own effects last, as soon as that call returns, and
// stops.
func (d *driver) shutdown(clean, fromHandler bool) {
	d.mu.Lock()
	if !d.closing {
		out := d.m.Shutdown(time.Now(), clean)
		for i := range out.Effects {
			d.enqueue(&out.Effects[i])
		}
		d.next = noTimer
		d.closing = true
		if d.timer != nil {
			d.timer.Stop()
		}
		d.armed = noTimer
	}
	fromWorker := d.running && d.inCall && fromHandler && d.reentrant && goroutineID() == d.worker
	start := false
	if !d.running {
		if len(d.queue) > 0 {
			d.running, start = true, true
		} else {
			d.done.fire()
		}
	}
	d.mu.Unlock()
	if start {
		go d.run()
	}
	if fromWorker {
		return // a callback calls: waiting for the worker would wait for itself
	}
	d.mu.Lock()
	done := d.done.wait()
	d.mu.Unlock()
	<-done
}

// goroutineID returns the calling goroutine's number, from the first line
// of its stack trace ("goroutine 18 [running]: ..."). Shutdown asks it to
// tell a call from inside a callback, which must not wait for the worker
// that runs it, from a call on another goroutine, which must.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
