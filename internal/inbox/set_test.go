package inbox

import (
	"context"
	"errors"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// closer is a Conn that counts its Closes; Set calls nothing else.
type closer struct {
	bellwether.Conn
	closed *int
}

func (c *closer) Close() error { *c.closed++; return nil }

func TestSetClosesItsConnsOnce(t *testing.T) {
	var s Set[*closer]
	var n int
	a, b, gone := &closer{closed: &n}, &closer{closed: &n}, &closer{closed: &n}
	for _, c := range []*closer{a, b, gone} {
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	s.Remove(gone)
	s.Close()
	s.Close()
	if n != 2 {
		t.Fatalf("%d Closes; want 2 (the removed Conn is not closed)", n)
	}
	if err := s.Add(&closer{closed: &n}); !errors.Is(err, bellwether.ErrClosed) || !s.IsClosed() {
		t.Fatalf("Add after Close = %v", err)
	}
}

func TestSetJoin(t *testing.T) {
	var s Set[*closer]
	var n int
	if err := s.Joining(context.Background(), "bus", "bad group!"); err == nil {
		t.Fatal("Joining of an invalid group name = nil")
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Joining(canceled, "bus", "g"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Joining under a canceled ctx = %v", err)
	}
	if err := s.Joining(context.Background(), "bus", "g"); err != nil {
		t.Fatalf("Joining = %v", err)
	}
	member := &closer{closed: &n}
	if c, err := s.Joined(member, "bus", "g"); err != nil || c != member || n != 0 {
		t.Fatalf("Joined = %v, %v, %d Closes; want the member, nil, 0", c, err, n)
	}
	s.Close()
	const want = `bellwether/bus: join "g": bellwether: closed`
	if err := s.Joining(context.Background(), "bus", "g"); !errors.Is(err, bellwether.ErrClosed) || err.Error() != want {
		t.Fatalf("Joining after Close = %v; want %s", err, want)
	}
	if c, err := s.Joined(&closer{closed: &n}, "bus", "g"); c != nil || !errors.Is(err, bellwether.ErrClosed) || err.Error() != want || n != 2 {
		t.Fatalf("Joined after Close = %v, %v, %d Closes; want nil, %s, 2 (the set's member and the late one)", c, err, n, want)
	}
}
