package inbox

import (
	"context"
	"errors"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// socket is what a Reader reads in these tests: messages, then an error,
// which closing the socket also gives.
type socket struct {
	msgs   chan []byte
	closed chan struct{}
}

func newSocket() *socket {
	return &socket{msgs: make(chan []byte), closed: make(chan struct{})}
}

func (s *socket) next() ([]byte, error) {
	select {
	case m, ok := <-s.msgs:
		if !ok {
			return nil, errors.New("socket broke")
		}
		return m, nil
	case <-s.closed:
		return nil, errors.New("use of closed socket")
	}
}

func (s *socket) Close() error { close(s.closed); return nil }

func TestReaderPushesSkipsAndFails(t *testing.T) {
	s := newSocket()
	r := NewReader(8)
	r.Start("bus", s.next)
	s.msgs <- []byte("a")
	s.msgs <- nil // not a member's: passed over
	s.msgs <- []byte{}
	close(s.msgs)
	r.Wait()
	for _, want := range []string{"a", ""} {
		if m, err := r.Pop(context.Background()); err != nil || m == nil || string(m) != want {
			t.Fatalf("Pop = %q, %v; want %q", m, err, want)
		}
	}
	const want = "bellwether/bus: receive: socket broke"
	if err := r.Health(); err == nil || err.Error() != want {
		t.Fatalf("Health of a deaf member = %v; want %s", err, want)
	}
	if _, err := r.Pop(context.Background()); err == nil || err.Error() != want {
		t.Fatalf("Pop of a deaf member = %v; want %s", err, want)
	}
	r.Stop(s.Close)
}

func TestReaderStopIsNoFailure(t *testing.T) {
	s := newSocket()
	r := NewReader(8)
	r.Start("bus", s.next)
	s.msgs <- []byte("a")
	r.Stop(s.Close) // returns once the reader has
	if err := r.Health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health after Stop = %v; want ErrClosed", err)
	}
	if _, err := r.Pop(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Pop after Stop = %v; want ErrClosed", err)
	}
}
