package bellwether

import (
	"context"
	"sync"
	"sync/atomic"
)

type noteKind uint8

const (
	noteStarted noteKind = iota + 1
	noteStopped
	noteLeader
)

type note struct {
	kind   noteKind
	ctx    context.Context // noteStarted: the leadership context
	leader string          // noteLeader
}

// dispatcher delivers an Elector's callbacks on a goroutine of its own, in
// order and one at a time, so that slow user code never delays the
// protocol (a leader that stops heartbeating loses its office).
type dispatcher struct {
	cb Callbacks

	mu      sync.Mutex
	queue   []note
	closing bool
	jobDone chan struct{} // closed when the running OnStartedLeading returns
	led     bool          // OnStartedLeading was called and OnStoppedLeading not yet

	wake chan struct{}
	done chan struct{}

	// Goroutine ids of the dispatcher and of the running job, to recognise
	// a Close called from a callback.
	loopID, jobID atomic.Uint64
}

// inCallback reports whether the caller runs inside one of the callbacks.
func (d *dispatcher) inCallback() bool {
	id := goid()
	return id == d.loopID.Load() || id == d.jobID.Load()
}

func newDispatcher(cb Callbacks) *dispatcher {
	d := &dispatcher{cb: cb, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dispatcher) push(n note) {
	d.mu.Lock()
	d.queue = append(d.queue, n)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// close delivers what is queued, waits for the running OnStartedLeading,
// and stops the dispatcher.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	<-d.done
	d.waitJob()
}

// waitJob waits until no OnStartedLeading runs.
func (d *dispatcher) waitJob() {
	d.mu.Lock()
	done := d.jobDone
	d.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	d.loopID.Store(goid())
	for {
		d.mu.Lock()
		batch := d.queue
		d.queue = nil
		closing := d.closing
		d.mu.Unlock()
		for _, n := range batch {
			d.deliver(n)
		}
		if len(batch) > 0 {
			continue
		}
		if closing {
			return
		}
		<-d.wake
	}
}

func (d *dispatcher) deliver(n note) {
	switch n.kind {
	case noteStarted:
		d.mu.Lock()
		// A leadership lost before its turn came is skipped, and so is
		// its OnStoppedLeading: no job starts for an office already gone.
		if n.ctx.Err() != nil {
			d.mu.Unlock()
			return
		}
		d.led = true
		if d.cb.OnStartedLeading == nil {
			d.mu.Unlock()
			return
		}
		done := make(chan struct{})
		d.jobDone = done
		d.mu.Unlock()
		go func() {
			defer close(done)
			d.jobID.Store(goid())
			defer d.jobID.Store(0)
			d.cb.OnStartedLeading(n.ctx)
		}()
	case noteStopped:
		d.mu.Lock()
		led := d.led
		d.led = false
		d.mu.Unlock()
		if !led {
			return
		}
		d.waitJob()
		if d.cb.OnStoppedLeading != nil {
			d.cb.OnStoppedLeading()
		}
	case noteLeader:
		if d.cb.OnNewLeader != nil {
			d.cb.OnNewLeader(n.leader)
		}
	}
}
