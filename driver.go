package bellwether

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// driver runs a Machine in real (or synctest) time: inputs may come from
// any goroutine and never wait for callbacks; one worker goroutine owns the
// timer and carries out the effects, one at a time and in order.
type driver struct {
	mu      sync.Mutex
	m       *Machine
	queue   []Effect // effects not yet handed to the worker
	closing bool     // Shutdown has been called
	next    time.Time

	handle  func(Effect)                    // called on the worker goroutine only
	observe func(m *Machine, now time.Time) // after every step, under mu; may be nil

	wake     chan struct{}
	done     chan struct{}
	workerID atomic.Uint64

	// Worker-goroutine state, also touched by a Shutdown called from a
	// callback, which runs on the worker goroutine.
	batch   []Effect
	pos     int
	stopped bool
}

func newDriver(m *Machine, handle func(Effect), observe func(*Machine, time.Time)) *driver {
	return &driver{
		m:       m,
		handle:  handle,
		observe: observe,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// start runs the machine's Start and launches the worker.
func (d *driver) start() {
	d.apply(func(now time.Time) Output { return d.m.Start(now) })
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
	d.after(out, now)
	d.mu.Unlock()
	d.poke()
	return true
}

// after queues a step's effects; d.mu is held.
func (d *driver) after(out Output, now time.Time) {
	d.queue = append(d.queue, out.Effects...)
	d.next = out.Next
	if d.observe != nil {
		d.observe(d.m, now)
	}
}

func (d *driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *driver) receive(e Event) {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return
	}
	now := time.Now()
	out := d.m.Receive(now, e)
	d.after(out, now)
	n := len(out.Effects)
	d.mu.Unlock()
	if n > 0 || !out.Next.IsZero() {
		d.poke()
	}
}

// read runs f with the machine under the lock.
func (d *driver) read(f func(m *Machine)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.m)
}

func (d *driver) run() {
	defer close(d.done)
	d.workerID.Store(goid())
	t := time.NewTimer(time.Hour)
	t.Stop()
	var armed time.Time
	for {
		d.mu.Lock()
		d.batch, d.queue = d.queue, d.batch[:0]
		d.pos = 0
		next, closing := d.next, d.closing
		d.mu.Unlock()
		d.dispatch()
		if d.stopped {
			t.Stop()
			return
		}
		if closing {
			d.mu.Lock()
			empty := len(d.queue) == 0
			d.mu.Unlock()
			if empty {
				t.Stop()
				return
			}
			continue
		}
		if !next.Equal(armed) {
			armed = next
			t.Stop()
			if !next.IsZero() {
				t.Reset(time.Until(next))
			}
		}
		select {
		case <-d.wake:
		case <-t.C:
			armed = time.Time{}
			d.mu.Lock()
			if !d.closing {
				now := time.Now()
				d.after(d.m.Tick(now), now)
			}
			d.mu.Unlock()
		}
	}
}

// dispatch hands the current batch's remaining effects to the handler.
func (d *driver) dispatch() {
	for d.pos < len(d.batch) {
		e := d.batch[d.pos]
		d.pos++
		d.handle(e)
	}
}

// shutdown stops the machine and the worker. When it returns, every effect
// queued before it, then its own (a clean shutdown's withdrawal), has been
// handled, and the worker has exited or (when called from a callback) will
// exit as soon as that callback returns, handling nothing more.
func (d *driver) shutdown(clean bool) {
	d.mu.Lock()
	if !d.closing {
		out := d.m.Shutdown(time.Now(), clean)
		d.queue = append(d.queue, out.Effects...)
		d.next = time.Time{}
		d.closing = true
	}
	d.mu.Unlock()
	if d.workerID.Load() == goid() {
		// Called from a callback: finish the work here, in order.
		for !d.stopped {
			d.dispatch()
			d.mu.Lock()
			d.batch, d.queue = d.queue, d.batch[:0]
			d.pos = 0
			d.mu.Unlock()
			if len(d.batch) == 0 {
				d.stopped = true
			}
		}
		return
	}
	d.poke()
	<-d.done
}

// goid returns the current goroutine's id. It is used only to recognise a
// Shutdown called from inside a callback, which must not wait for itself.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
