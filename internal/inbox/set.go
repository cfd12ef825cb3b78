package inbox

import (
	"context"
	"fmt"
	"sync"

	"github.com/bellwether-go/bellwether"
)

// Set is the set of open Conns of a Transport whose Conns each have a
// socket of their own (local, udp), which Close closes together. The
// zero Set is empty and open.
type Set[C interface {
	comparable
	bellwether.Conn
}] struct {
	mu     sync.Mutex
	closed bool
	m      map[C]struct{}
}

// Add adds c, or returns bellwether.ErrClosed after Close (and then the
// caller closes c).
func (s *Set[C]) Add(c C) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return bellwether.ErrClosed
	}
	if s.m == nil {
		s.m = map[C]struct{}{}
	}
	s.m[c] = struct{}{}
	return nil
}

// Joining returns the error that a Join of group returns before it makes
// a member: ValidateGroup's, ctx's, or after Close ErrClosed, with the
// bus's prefix ("bellwether/BUS: join ...").
func (s *Set[C]) Joining(ctx context.Context, bus, group string) error {
	if err := bellwether.ValidateGroup(group); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.IsClosed() {
		return fmt.Errorf("bellwether/%s: join %q: %w", bus, group, bellwether.ErrClosed)
	}
	return nil
}

// Joined adds c, a new member of group that already reads its socket,
// and returns it as Join does; after Close it closes c and returns a nil
// Conn and ErrClosed with the bus's prefix.
func (s *Set[C]) Joined(c C, bus, group string) (bellwether.Conn, error) {
	if err := s.Add(c); err != nil {
		c.Close()
		// Not c: a typed nil in an interface is not nil.
		return nil, fmt.Errorf("bellwether/%s: join %q: %w", bus, group, err)
	}
	return c, nil
}

// Remove removes c; a Conn's Close calls it.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// IsClosed reports whether Close has been called.
func (s *Set[C]) IsClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close closes every Conn in the set; Adds fail from then on. Later
// calls do nothing.
func (s *Set[C]) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]C, 0, len(s.m))
	for c := range s.m {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
