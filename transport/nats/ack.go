package nats

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"
)

// flusher acknowledges publishes. A flush (a PING, answered by a PONG)
// confirms every message published before it on the connection, since the
// server handles a connection's protocol in order. So the Sends of all
// the members on one connection share flushes, as a database's group
// commit shares a disk sync: a Send that finds a flush under way waits for
// the next one, which starts when that one ends and covers every publish
// made meanwhile. Under load there are at most two flushes per round trip,
// however many members send.
type flusher struct {
	nc    *natsgo.Conn
	where string
	ctx   context.Context // canceled by the Transport's Close

	mu      sync.Mutex
	next    *round // the flush to start once the current one ends
	running bool   // a goroutine runs rounds
	idle    sync.WaitGroup

	flushes atomic.Uint64 // rounds run, for tests and benchmarks
	acked   atomic.Uint64 // Sends acknowledged
}

// round is one flush; done is closed when it ends, with err set.
type round struct {
	done chan struct{}
	err  error
}

// ack returns nil once a flush that began after the caller's publish has
// come back, or an error: one wrapping ctx.Err() if ctx ends first.
func (f *flusher) ack(ctx context.Context) error {
	f.mu.Lock()
	r := f.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		f.next = r
	}
	if !f.running {
		f.running = true
		f.idle.Add(1)
		go f.run()
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		if r.err != nil {
			return fmt.Errorf("bellwether/nats: nats at %s did not acknowledge the message: %w", f.where, r.err)
		}
		f.acked.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bellwether/nats: nats at %s did not acknowledge the message in time: %w", f.where, ctx.Err())
	}
}

// run flushes while Sends wait for a flush.
func (f *flusher) run() {
	defer f.idle.Done()
	for {
		f.mu.Lock()
		r := f.next
		f.next = nil
		if r == nil {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		fctx, fcancel := context.WithTimeout(f.ctx, flushTimeout)
		r.err = f.nc.FlushWithContext(fctx)
		fcancel()
		f.flushes.Add(1)
		close(r.done)
	}
}

// wait waits for the flushing goroutine, after ctx ended.
func (f *flusher) wait() { f.idle.Wait() }
