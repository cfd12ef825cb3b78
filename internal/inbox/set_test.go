package inbox

import (
	"errors"
	"testing"

	"github.com/bellwether-go/bellwether"
)

type closer struct{ closed *int }

func (c *closer) Close() error { *c.closed++; return nil }

func TestSetClosesItsConnsOnce(t *testing.T) {
	var s Set[*closer]
	var n int
	a, b, gone := &closer{&n}, &closer{&n}, &closer{&n}
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
	if err := s.Add(&closer{&n}); !errors.Is(err, bellwether.ErrClosed) || !s.IsClosed() {
		t.Fatalf("Add after Close = %v", err)
	}
}
