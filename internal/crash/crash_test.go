package crash_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/crash"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// bus is a minimal in-process bellwether.Transport: every Conn hears every
// other Conn of the bus.
type bus struct {
	mu     sync.Mutex
	conns  map[*busConn]bool
	closed bool
}

type busConn struct {
	b  *bus
	in chan []byte
}

func newBus() *bus { return &bus{conns: map[*busConn]bool{}} }

func (b *bus) Join(context.Context, string) (bellwether.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bellwether.ErrClosed
	}
	c := &busConn{b: b, in: make(chan []byte, 16)}
	b.conns[c] = true
	return c, nil
}

func (b *bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		for c := range b.conns {
			close(c.in)
		}
		clear(b.conns)
	}
	return nil
}

func (c *busConn) Send(_ context.Context, msg []byte) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if !c.b.conns[c] {
		return bellwether.ErrClosed
	}
	for o := range c.b.conns {
		if o != c {
			o.in <- append([]byte(nil), msg...)
		}
	}
	return nil
}

func (c *busConn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, bellwether.ErrClosed
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *busConn) MaxMessageSize() int { return 100 }

func (c *busConn) Close() error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.b.conns[c] {
		delete(c.b.conns, c)
		close(c.in)
	}
	return nil
}

func TestCrash(t *testing.T) {
	// One shared bus stands for the broker; each member has a Transport
	// of its own on it, as separate processes would.
	b := newBus()
	defer b.Close()
	ctx := context.Background()
	victim := crash.Wrap(&sharedTransport{b: b})
	v, err := victim.Join(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Join(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if v.MaxMessageSize() != 100 {
		t.Fatalf("MaxMessageSize = %d; want the wrapped Conn's", v.MaxMessageSize())
	}
	if err := v.Send(ctx, []byte("alive")); err != nil {
		t.Fatal(err)
	}
	if m, err := other.Recv(ctx); err != nil || string(m) != "alive" {
		t.Fatalf("Recv = %q, %v", m, err)
	}
	if err := other.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := v.Recv(ctx); err != nil || string(m) != "hello" {
		t.Fatalf("victim Recv = %q, %v", m, err)
	}

	// A Recv blocked at the crash stays blocked: a dead process hears
	// nothing and reports nothing.
	blocked := make(chan error, 1)
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	go func() {
		_, err := v.Recv(rctx)
		blocked <- err
	}()
	time.Sleep(20 * time.Millisecond)
	victim.Crash()
	victim.Crash()
	if !victim.Crashed() {
		t.Fatal("Crashed() = false after Crash")
	}
	if err := <-blocked; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv blocked across the crash = %v; want its context's deadline", err)
	}
	if err := v.Send(ctx, []byte("ghost")); err != nil {
		t.Fatalf("Send after the crash = %v; want nil (the message is silently lost)", err)
	}
	if err := other.Send(ctx, []byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	qctx, qcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer qcancel()
	if m, err := other.Recv(qctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the crashed member's message arrived: %q, %v", m, err)
	}
	// Joining after the crash gives a dead Conn too.
	late, err := victim.Join(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Send(ctx, []byte("ghost")); err != nil {
		t.Fatal(err)
	}
	// Close ends a Recv with ErrClosed, as the Elector's Close needs.
	go func() {
		time.Sleep(20 * time.Millisecond)
		v.Close()
	}()
	if _, err := v.Recv(ctx); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Recv on a crashed Conn at Close = %v; want ErrClosed", err)
	}
	if err := v.Send(ctx, nil); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Send after Close = %v; want ErrClosed", err)
	}
	late.Close()
	if err := victim.Close(); err != nil {
		t.Fatal(err)
	}
}

// sharedTransport gives members Conns on a shared bus; its Close closes
// only the Conns it made, as a process's connection would.
type sharedTransport struct {
	b     *bus
	mu    sync.Mutex
	conns []bellwether.Conn
}

func (s *sharedTransport) Join(ctx context.Context, g string) (bellwether.Conn, error) {
	c, err := s.b.Join(ctx, g)
	if err == nil {
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
	}
	return c, err
}

func (s *sharedTransport) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	return nil
}
