package redis

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/bellwether-go/bellwether"
)

// RecvBuffer is how many received messages a Conn holds for Recv. When a
// message arrives and the buffer is full, the oldest buffered message is
// dropped (and counted by Conn.Dropped), so a slow reader sees the newest
// heartbeats and never slows the group.
const RecvBuffer = 256

// inbox is a Conn's bounded receive queue: a ring that grows on demand up
// to RecvBuffer messages.
type inbox struct {
	mu      sync.Mutex
	buf     [][]byte
	head, n int
	closed  bool
	ready   chan struct{} // capacity 1; poked when a message arrives
	done    chan struct{} // closed by close
	dropped atomic.Uint64
}

func newInbox() *inbox {
	return &inbox{ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues msg, which the inbox then owns. It never blocks.
func (b *inbox) push(msg []byte) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	if b.n == len(b.buf) {
		if len(b.buf) < RecvBuffer {
			grown := make([][]byte, min(max(2*len(b.buf), 4), RecvBuffer))
			for i := 0; i < b.n; i++ {
				grown[i] = b.buf[(b.head+i)%len(b.buf)]
			}
			b.buf, b.head = grown, 0
		} else {
			b.buf[b.head] = nil
			b.head = (b.head + 1) % len(b.buf)
			b.n--
			b.dropped.Add(1)
		}
	}
	b.buf[(b.head+b.n)%len(b.buf)] = msg
	b.n++
	b.mu.Unlock()
	b.poke()
}

func (b *inbox) poke() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// pop returns the oldest message, waiting until one arrives, ctx is done
// or the inbox is closed.
func (b *inbox) pop(ctx context.Context) ([]byte, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, bellwether.ErrClosed
		}
		if b.n > 0 {
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

func (b *inbox) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// close discards the buffered messages and wakes every waiting pop. It
// reports whether this call closed the inbox.
func (b *inbox) close() bool {
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
