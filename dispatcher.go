package bellwether

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

type noteKind uint8

const (
	noteStarted noteKind = iota + 1
	noteStopped
	noteLeader
)

type note struct {
	kind   noteKind
	lead   *leadership // noteStarted
	leader string      // noteLeader
}

// leadershipKey marks a leadership context with its *leadership.
type leadershipKey struct{}

// leadership is one term of office of an Elector: the context its job runs
// under and the lease that bounds it.
type leadership struct {
	e      *Elector
	ctx    context.Context
	cancel context.CancelFunc

	epoch   atomic.Uint64 // the leadership's epoch, see Epoch
	handing atomic.Bool   // a handover to a preempting member began
	mu      sync.Mutex
	end     time.Time // when the lease ends unless renewed
	over    bool      // the lease is gone; end no longer moves
	state   jobState
	// ended: the job has returned or will never run. done, made when
	// someone waits (waitFor), is closed then.
	ended bool
	done  chan struct{}
	// beat is the last heartbeat of this leadership and its bytes, made
	// on its first; the worker's only (Elector.send). Here, not in the
	// Elector, as only a leader has one (heap, per member).
	beat *lastBeat
}

type jobState uint8

const (
	jobPending jobState = iota // OnStartedLeading not yet called
	jobRunning
	jobNever // skipped: the leadership ended before its turn
	jobReturned
)

// newLeadership's context has the values of Join's (vals) and no parent
// that is ever cancelled, as it needs none: a leadership is always ended
// by lose, and shutdown loses the last one before it halts. A child of a
// cancellable context would cost that one a map of its children and a
// Done channel while the member leads (heap, per leader).
func newLeadership(e *Elector, end time.Time) *leadership {
	l := &leadership{e: e, end: end}
	l.ctx, l.cancel = context.WithCancel(context.WithValue(e.vals, leadershipKey{}, l))
	return l
}

// handOver reports whether a handover may begin: only the first call does.
func (l *leadership) handOver() bool { return l.handing.CompareAndSwap(false, true) }

// renew moves the lease's end later while the lease lasts.
func (l *leadership) renew(end time.Time) {
	l.mu.Lock()
	if !l.over && end.After(l.end) {
		l.end = end
	}
	l.mu.Unlock()
}

// lose ends the lease at now, or earlier if it had run out.
func (l *leadership) lose(now time.Time) {
	l.cancel()
	l.mu.Lock()
	if !l.over {
		l.over = true
		if now.Before(l.end) {
			l.end = now
		}
	}
	l.mu.Unlock()
}

func (l *leadership) expiry() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end
}

// begin moves the job from pending to running, unless the leadership has
// ended, in which case the job will never run. It reports whether to run.
func (l *leadership) begin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != jobPending {
		return false
	}
	if l.ctx.Err() != nil {
		l.state = jobNever
		l.jobEnded()
		return false
	}
	l.state = jobRunning
	return true
}

func (l *leadership) returned() {
	l.mu.Lock()
	l.state = jobReturned
	l.jobEnded()
	l.mu.Unlock()
}

// jobEnded notes that the job has returned or will never run. l.mu is
// held.
func (l *leadership) jobEnded() {
	l.ended = true
	fire(l.done)
}

// jobDone returns a channel that is closed once the job has returned or
// will never run.
func (l *leadership) jobDone() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return waitFor(&l.done, l.ended)
}

// wait waits until the job has returned, if it was started or is about to
// be, or until stop is closed; it reports false when stop ended the wait.
// A cancelled leadership whose job was not started never starts one.
func (l *leadership) wait(stop <-chan struct{}) bool {
	l.mu.Lock()
	var done <-chan struct{}
	switch {
	case l.state == jobRunning, l.state == jobPending && l.ctx.Err() == nil:
		done = waitFor(&l.done, l.ended)
	}
	l.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-stop:
		return false
	}
}

// dispatcher delivers an Elector's callbacks on a goroutine of its own, in
// order and one at a time, so that slow user code never delays the
// protocol (a leader that stops heartbeating loses its office). The job,
// OnStartedLeading, runs on a goroutine of its own. The delivering
// goroutine runs only while there is something to deliver, so that a
// member at rest costs no goroutine for its callbacks.
type dispatcher struct {
	cb Callbacks

	mu      sync.Mutex
	queue   []note
	led     *leadership   // OnStartedLeading was called and OnStoppedLeading not yet; the delivering goroutine's
	caller  uint64        // while inCall, the goroutine that runs it (goroutineID)
	drained chan struct{} // closed when the delivering goroutine stops, for close
	// The flags share a word (heap, per member).
	closing bool // Close began: start nothing but the last OnStoppedLeading
	inCall  bool // OnNewLeader or OnStoppedLeading is running
	running bool // a goroutine delivers the queue
}

func newDispatcher(cb Callbacks) *dispatcher { return &dispatcher{cb: cb} }

func (d *dispatcher) push(n note) {
	d.mu.Lock()
	d.queue = append(d.queue, n)
	start := !d.running
	d.running = true
	d.mu.Unlock()
	if start {
		go d.run()
	}
}

// inCallback reports whether it is called from inside OnNewLeader or
// OnStoppedLeading: on the goroutine that runs one of them now.
func (d *dispatcher) inCallback() bool {
	d.mu.Lock()
	inCall, caller := d.inCall, d.caller
	d.mu.Unlock()
	return inCall && caller == goroutineID()
}

// beginClose makes the dispatcher start nothing more, except the
// OnStoppedLeading owed for a job that was started.
func (d *dispatcher) beginClose() {
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
}

// close delivers the OnStoppedLeading still owed, after its job has
// returned, and waits until everything queued has been delivered.
func (d *dispatcher) close() {
	d.beginClose()
	d.push(note{kind: noteStopped})
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	d.drained = ch
	d.mu.Unlock()
	<-ch
}

// run delivers the queue in order until it is empty. The mutex hands the
// dispatcher's state (led) from one delivering goroutine to the next.
func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		batch := d.queue
		d.queue = nil
		if len(batch) == 0 {
			d.running = false
			if d.drained != nil {
				close(d.drained)
				d.drained = nil
			}
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		for _, n := range batch {
			d.deliver(n)
		}
	}
}

func (d *dispatcher) deliver(n note) {
	d.mu.Lock()
	closing := d.closing
	d.mu.Unlock()
	switch n.kind {
	case noteStarted:
		// A leadership that ended before its turn came is skipped, and so
		// is its OnStoppedLeading: no job starts for an office already
		// gone, nor once Close began.
		if closing {
			n.lead.cancel()
		}
		if !n.lead.begin() {
			return
		}
		d.led = n.lead
		if d.cb.OnStartedLeading == nil {
			n.lead.returned()
			return
		}
		go func(l *leadership) {
			defer l.returned()
			d.cb.OnStartedLeading(l.ctx)
		}(n.lead)
	case noteStopped:
		l := d.led
		if l == nil {
			return
		}
		d.led = nil
		<-l.jobDone()
		d.call(d.cb.OnStoppedLeading)
	case noteLeader:
		if closing || d.cb.OnNewLeader == nil {
			return
		}
		d.call(func() { d.cb.OnNewLeader(n.leader) })
	}
}

// call runs a callback other than the job, marked as running.
func (d *dispatcher) call(f func()) {
	if f == nil {
		return
	}
	g := goroutineID()
	d.mu.Lock()
	d.inCall, d.caller = true, g
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inCall = false
		d.mu.Unlock()
	}()
	f()
}
