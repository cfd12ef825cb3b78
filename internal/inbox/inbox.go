// Package inbox is the bounded receive queue that every bus (mem, local,
// udp, and through internal/pubsub nats, redis, postgres and mqtt) gives
// each Conn.
package inbox

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/bellwether-go/bellwether"
)

// Inbox is a Conn's bounded receive queue: a ring that grows on demand up
// to its size. When a message arrives and the queue is full, the oldest
// message is dropped and counted, so a slow reader sees the newest
// heartbeats and never slows the group.
type Inbox struct {
	mu      sync.Mutex
	buf     [][]byte
	head, n int
	size    int
	closed  bool
	held    bool          // set by Hold: Pop hands nothing out
	failed  error         // set by Fail: returned once the buffer is empty
	ready   chan struct{} // capacity 1; poked when a message arrives
	done    chan struct{} // closed by close
	dropped atomic.Uint64
}

// New returns an empty Inbox that holds at most size messages.
func New(size int) *Inbox {
	return &Inbox{size: size, ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push queues msg, which the Inbox then owns. It never blocks. It reports
// whether it dropped the oldest message to make room (counted in Dropped).
func (b *Inbox) Push(msg []byte) (dropped bool) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	if b.n == len(b.buf) {
		if len(b.buf) < b.size {
			grown := make([][]byte, min(max(2*len(b.buf), 4), b.size))
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
			return nil, bellwether.ErrClosed
		}
		if b.n > 0 && !b.held {
			msg := b.buf[b.head]
			b.buf[b.head] = nil
			b.head = (b.head + 1) % len(b.buf)
			b.n--
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
		select {
		case <-b.ready:
		case <-b.done:
			return nil, bellwether.ErrClosed
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
	b.buf, b.head, b.n = nil, 0, 0
	close(b.done)
	return true
}

// Dropped counts the messages dropped because the Inbox was full.
func (b *Inbox) Dropped() uint64 { return b.dropped.Load() }
