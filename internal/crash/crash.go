// Package crash wraps a bellwether.Transport so that a test or a
// measurement can make a member fall silent at once, as if its process had
// died: after Crash, nothing the member sends reaches the bus (Send drops
// it and reports success, so the Elector keeps believing all is well and
// never withdraws), nothing reaches the member, and the wrapped Transport
// is closed, leaving the bus as a dead process's connection would.
package crash

import (
	"context"
	"sync"

	"github.com/bellwether-go/bellwether"
)

// Transport is a bellwether.Transport that can crash.
type Transport struct {
	inner   bellwether.Transport
	crashed chan struct{}
	once    sync.Once
}

var _ bellwether.Transport = (*Transport)(nil)

// Wrap returns a Transport that passes everything to inner until Crash.
// Closing it closes inner.
func Wrap(inner bellwether.Transport) *Transport {
	return &Transport{inner: inner, crashed: make(chan struct{})}
}

// Crash makes every Conn of t, present and future, silent and deaf, and
// closes the wrapped Transport. Later calls do nothing.
func (t *Transport) Crash() {
	t.once.Do(func() {
		close(t.crashed)
		_ = t.inner.Close()
	})
}

// Crashed reports whether Crash was called.
func (t *Transport) Crashed() bool {
	select {
	case <-t.crashed:
		return true
	default:
		return false
	}
}

// Join joins group on the wrapped Transport; after Crash it returns a
// Conn that is already silent and deaf.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	c := &conn{t: t, closed: make(chan struct{})}
	if t.Crashed() {
		c.max = 1 << 20
		return c, nil
	}
	inner, err := t.inner.Join(ctx, group)
	if err != nil {
		return nil, err
	}
	c.inner, c.max = inner, inner.MaxMessageSize()
	return c, nil
}

// Close closes the wrapped Transport.
func (t *Transport) Close() error {
	return t.inner.Close()
}

type conn struct {
	t         *Transport
	inner     bellwether.Conn // nil if joined after the crash
	max       int
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *conn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-c.closed:
		return bellwether.ErrClosed
	default:
	}
	if c.t.Crashed() {
		return nil // lost with the process
	}
	return c.inner.Send(ctx, msg)
}

func (c *conn) Recv(ctx context.Context) ([]byte, error) {
	if !c.t.Crashed() {
		msg, err := c.inner.Recv(ctx)
		if !c.t.Crashed() {
			return msg, err
		}
	}
	// A dead process hears nothing.
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, bellwether.ErrClosed
	}
}

func (c *conn) MaxMessageSize() int { return c.max }

func (c *conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	if c.inner != nil {
		return c.inner.Close()
	}
	return nil
}
