// Package inbox is the bounded receive queue that every bus (mem, local,
// udp, and through internal/pubsub nats, redis, postgres and mqtt) gives
// each Conn.
package inbox

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/bellwether-go/bellwether"
)

// Inbox is a Conn's bounded receive queue: a ring that grows on demand up
// to its size. When a message arrives and the queue is full, the oldest
// message is dropped and counted, so a slow reader sees the newest
// heartbeats and never slows the group.
//
// A lone message waits in a slot of the Inbox's own, and a ring grown for
// more is given back once drained: a reader that keeps up, as a member at
// rest does, holds no ring (heap, per member of every group in the
// process).
type Inbox struct {
	mu      sync.Mutex
	one     []byte   // the message, while n is 1 and buf is nil
	buf     [][]byte // the ring while it holds more, or nil
	head, n int
	size    int32 // with closed, one word: the Inbox is 112 bytes, a size class down
	closed  bool
	held    bool          // set by Hold: Pop hands nothing out
	failed  error         // set by Fail: returned once the buffer is empty
	ready   chan struct{} // capacity 1; poked when a message arrives, on Fail and on Close
	dropped atomic.Uint64
}

// New returns an empty Inbox that holds at most size messages.
func New(size int) *Inbox {
	return &Inbox{size: int32(min(size, math.MaxInt32)), ready: make(chan struct{}, 1)}
}

// Push queues msg, which the Inbox then owns. It never blocks. It reports
// whether it dropped the oldest message to make room (counted in Dropped).
func (b *Inbox) Push(msg []byte) (dropped bool) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	switch {
	case b.buf == nil && b.n == 0:
		b.one, b.n = msg, 1
	case b.buf == nil && b.size <= 1:
		b.one = msg // full: the oldest is dropped
		b.dropped.Add(1)
		dropped = true
	default:
		if b.buf == nil { // the lone message moves into a ring
			b.buf, b.head = make([][]byte, min(4, int(b.size))), 0
			b.buf[0], b.one = b.one, nil
		}
		if b.n == len(b.buf) {
			if len(b.buf) < int(b.size) {
				grown := make([][]byte, min(2*len(b.buf), int(b.size)))
				for i := 0; i < b.n; i++ {
					grown[i] = b.buf[(b.head+i)%len(b.buf)]
				}
				b.buf, b.head = grown, 0
			} else {
				b.buf[b.head] = nil
				b.head = (b.head + 1) % len(b.buf)
				b.n--
				b.dropped.Add(1)
				dropped = true
			}
		}
		b.buf[(b.head+b.n)%len(b.buf)] = msg
		b.n++
	}
	b.mu.Unlock()
	b.poke()
	return dropped
}

// Hold(true) makes Pop wait as though the Inbox were empty, while Push
// goes on queueing (and dropping the oldest when full), and a failure
// waits behind the held messages; Hold(false) hands them out again. A
// paused member (transport/mem) is held: it reads nothing, yet what is
// sent to it arrives.
func (b *Inbox) Hold(on bool) {
	b.mu.Lock()
	b.held = on
	b.mu.Unlock()
	if !on {
		b.poke()
	}
}

func (b *Inbox) poke() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// Pop returns the oldest message, waiting until one arrives (and no Hold
// is on), ctx is done (ctx.Err()), the Inbox is closed
// (bellwether.ErrClosed), or it has failed and holds no more messages (the
// error given to Fail).
func (b *Inbox) Pop(ctx context.Context) ([]byte, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			b.poke() // wake the next waiting Pop, which returns too
			return nil, bellwether.ErrClosed
		}
		if b.n > 0 && !b.held {
			var msg []byte
			if b.buf == nil {
				msg, b.one = b.one, nil
			} else {
				msg = b.buf[b.head]
				b.buf[b.head] = nil
				b.head = (b.head + 1) % len(b.buf)
			}
			b.n--
			if b.n == 0 {
				b.buf, b.head = nil, 0 // drained: the ring goes back
			}
			more := b.n > 0
			b.mu.Unlock()
			if more {
				b.poke() // another waiting Recv may take the next one
			}
			return msg, nil
		}
		if b.failed != nil && b.n == 0 {
			err := b.failed
			b.mu.Unlock()
			b.poke() // wake the next waiting Pop, which fails too
			return nil, err
		}
		b.mu.Unlock()
		// Close pokes ready too, rather than closing a channel of its own:
		// each channel and select case is heap while a member waits.
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Fail records that no more messages will come, because of err (the
// reader of a socket failed, say): Pop returns the messages still
// buffered, then err. Only the first failure is kept.
func (b *Inbox) Fail(err error) {
	b.mu.Lock()
	if b.failed == nil && !b.closed {
		b.failed = err
	}
	b.mu.Unlock()
	b.poke()
}

// Health returns bellwether.ErrClosed after Close, else the error given
// to Fail, or nil: a member that hears nothing more is not healthy.
func (b *Inbox) Health() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bellwether.ErrClosed
	}
	return b.failed
}

// IsClosed reports whether Close has been called.
func (b *Inbox) IsClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close discards the buffered messages and wakes every waiting Pop. It
// reports whether this call closed the Inbox.
func (b *Inbox) Close() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.closed = true
	b.one, b.buf, b.head, b.n = nil, nil, 0, 0
	b.poke()
	return true
}

// Dropped counts the messages dropped because the Inbox was full.
func (b *Inbox) Dropped() uint64 { return b.dropped.Load() }
