package bellwether

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// driver runs a Machine in real (or synctest) time: inputs may come from
// any goroutine and never wait for callbacks; one worker goroutine owns the
// timer and carries out the effects, one at a time and in order.
type driver struct {
	mu     sync.Mutex
	m      *Machine
	queue  []Effect // effects not yet handed to the worker
	next   time.Time
	armed  time.Time // the deadline the worker's timer is set for
	worker uint64    // the worker's goroutine, once it runs (see goroutineID)
	idle   []chan struct{}

	// The flags share a word.
	closing  bool // shutdown has been called
	inCall   bool // the worker is inside handle
	fired    bool // the timer fired and the worker has not yet ticked
	coalesce bool // fold repeated pending effects (enqueue); the Manager does not, as the reference does not

	handle  func(*Effect)                   // called on the worker goroutine only; the Effect is valid only during the call
	settled func()                          // after each batch of effects, on the worker; may be nil
	observe func(m *Machine, now time.Time) // after every step, under mu; may be nil

	wake  chan struct{}
	woken atomic.Uint64 // times the worker woke on wake for an input, not its timer, for the tests
	done  latch         // the worker has returned; under mu
}

func newDriver(m *Machine, handle func(*Effect), observe func(*Machine, time.Time)) *driver {
	return &driver{
		m:       m,
		handle:  handle,
		observe: observe,
		wake:    make(chan struct{}, 1),
	}
}

// latch is an event that happens once, with a channel to wait for it that
// is made only when someone waits: most are never waited for, and a
// channel costs about 100 bytes of heap, per member of every group in the
// process. Its owner's mutex guards it.
type latch struct {
	ch    chan struct{}
	fired bool
}

// closedChan is the channel of a latch that fired before anyone waited.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// wait returns a channel that is closed once the latch has fired.
func (l *latch) wait() <-chan struct{} {
	if l.ch == nil {
		if l.fired {
			return closedChan
		}
		l.ch = make(chan struct{})
	}
	return l.ch
}

// fire closes the latch's channel; later calls do nothing.
func (l *latch) fire() {
	if l.fired {
		return
	}
	l.fired = true
	if l.ch != nil {
		close(l.ch)
	}
}

// start runs the machine's Start, hands its effects to the handler on the
// caller's goroutine, as the reference's constructor broadcasts its first
// request before it returns, and then launches the worker.
func (d *driver) start() {
	d.mu.Lock()
	now := time.Now()
	out := d.m.Start(now)
	first := append([]Effect(nil), out.Effects...)
	d.next = out.Next
	if d.observe != nil {
		d.observe(d.m, now)
	}
	d.mu.Unlock()
	for i := range first {
		d.handle(&first[i])
	}
	if d.settled != nil {
		d.settled()
	}
	go d.run()
}

// apply runs one machine step under the lock and queues its effects. It
// never blocks on callbacks. It reports false once the driver is closing.
func (d *driver) apply(step func(now time.Time) Output) bool {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return false
	}
	now := time.Now()
	out := step(now)
	wake := d.after(out.Effects, out.Next, now)
	d.mu.Unlock()
	if wake {
		d.poke()
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
	wake := d.stepped(now)
	d.mu.Unlock()
	if wake {
		d.poke()
	}
}

// stepped is after for the step the machine just made with one of its
// own methods (tick, acked), whose Output the driver reads from the
// machine: passed on as a value, an Output is copied in wide moves that
// stall on the narrow stores just made.
func (d *driver) stepped(now time.Time) bool {
	return d.after(d.m.out, d.m.nextAt, now)
}

func (d *driver) receive(e Event) {
	d.apply(func(now time.Time) Output { return d.m.Receive(now, e) })
}

// after queues a step's effects; d.mu is held. It reports whether the
// worker must wake: for effects, or for a deadline earlier than the one
// its timer is set for. A deadline that only moved later (a follower's
// heartbeat timeout, on every heartbeat) waits for the armed timer, which
// then re-arms for the new one.
func (d *driver) after(effects []Effect, next time.Time, now time.Time) bool {
	for i := range effects {
		d.enqueue(&effects[i])
	}
	d.next = next
	if d.observe != nil {
		d.observe(d.m, now)
	}
	if len(effects) > 0 {
		return true
	}
	return !d.next.IsZero() && (d.armed.IsZero() || d.next.Before(d.armed))
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

func (d *driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// read runs f with the machine under the lock.
func (d *driver) read(f func(m *Machine)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.m)
}

func (d *driver) run() {
	defer func() {
		d.mu.Lock()
		d.done.fire()
		d.mu.Unlock()
	}()
	d.mu.Lock()
	d.worker = goroutineID()
	d.mu.Unlock()
	// The timer rings (fired, then wake) rather than sending on a channel
	// of its own, so that a worker at rest waits on one channel: each
	// channel and select case is heap, per member of every group in the
	// process (bench/manygroups).
	t := time.AfterFunc(time.Hour, d.ring)
	t.Stop()
	var batch []Effect
	for {
		d.mu.Lock()
		batch, d.queue = d.queue, batch[:0]
		next, closing := d.next, d.closing
		if len(batch) == 0 {
			for _, c := range d.idle {
				close(c)
			}
			d.idle = nil
			// At rest the worker keeps one buffer, and only while its
			// machine leads, to heartbeat with no allocation; a follower
			// may have nothing to do for hours, and gives its buffers
			// back (heap, per member of every group in the process).
			if cap(d.queue) == 0 {
				d.queue = batch
			}
			batch = nil
			if !d.m.IsLeader() {
				d.queue = nil
			}
		}
		d.mu.Unlock()
		if len(batch) > 0 {
			d.dispatch(batch)
			continue
		}
		if closing {
			t.Stop()
			return
		}
		d.mu.Lock()
		if !next.Equal(d.armed) {
			d.armed = next
			t.Stop()
			if !next.IsZero() {
				t.Reset(time.Until(next))
			}
		}
		d.mu.Unlock()
		<-d.wake
		d.mu.Lock()
		if !d.fired {
			d.mu.Unlock()
			d.woken.Add(1)
			continue
		}
		d.fired = false
		d.armed = time.Time{}
		if !d.closing {
			now := time.Now()
			if d.next.After(now) {
				// The deadline moved later since the timer was set.
				d.mu.Unlock()
				continue
			}
			d.m.tick(now)
			d.stepped(now)
		}
		d.mu.Unlock()
	}
}

// ring is the timer's function: it has the worker tick. A ring for a
// deadline since moved later, or re-armed, finds the deadline not yet
// come, and the worker re-arms.
func (d *driver) ring() {
	d.mu.Lock()
	d.fired = true
	d.mu.Unlock()
	d.poke()
}

// dispatch hands a batch of effects to the handler, in order.
func (d *driver) dispatch(batch []Effect) {
	d.mu.Lock()
	d.inCall = true
	d.mu.Unlock()
	for i := range batch {
		d.handle(&batch[i])
	}
	if d.settled != nil {
		d.settled()
	}
	d.mu.Lock()
	d.inCall = false
	d.mu.Unlock()
}

// sync waits until every effect queued before it has been handled, or the
// worker has stopped.
func (d *driver) sync() {
	c := make(chan struct{})
	d.mu.Lock()
	d.idle = append(d.idle, c)
	d.mu.Unlock()
	d.poke()
	d.mu.Lock()
	done := d.done.wait()
	d.mu.Unlock()
	select {
	case <-c:
	case <-done:
	}
}

// shutdown stops the machine and the worker. When it returns, every effect
// queued before it, then its own (a clean shutdown's withdrawal), has been
// handled and the worker has exited. With fromHandler, for a handler that
// runs user code which may call it, a shutdown called while the worker is
// inside the handler returns at once instead: the worker hands over the
// rest, its own effects last, as soon as that call returns, and exits.
func (d *driver) shutdown(clean, fromHandler bool) {
	d.mu.Lock()
	if !d.closing {
		out := d.m.Shutdown(time.Now(), clean)
		for i := range out.Effects {
			d.enqueue(&out.Effects[i])
		}
		d.next = time.Time{}
		d.closing = true
	}
	fromWorker := d.inCall && fromHandler && goroutineID() == d.worker
	d.mu.Unlock()
	d.poke()
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
