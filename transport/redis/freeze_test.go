//go:build unix

package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// freeze stops the server with SIGSTOP until thaw.
func (s *redisServer) freeze(t *testing.T) (thaw func()) {
	t.Helper()
	return freeze.Process(t, s.cmd.Process.Pid, false)
}

// TestSendFailsWhileFrozen: with the server frozen, Send never returns
// nil: it waits for PUBLISH's reply.
func TestSendFailsWhileFrozen(t *testing.T) {
	s := startRedis(t)
	tr := newTransport(t, s.url())
	g := testenv.Group(t)
	a, b := testenv.Join(t, tr, g), testenv.Join(t, tr, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, b); got != "before" {
		t.Fatalf("got %q", got)
	}
	thaw := s.freeze(t)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		start := time.Now()
		err := a.Send(ctx, []byte("during"))
		cancel()
		if err == nil {
			t.Fatalf("Send %d returned nil after %v while the server was frozen", i, time.Since(start))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Send %d took %v with a ctx of 500ms", i, d)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send %d while frozen: %v; want an error wrapping context.DeadlineExceeded", i, err)
		}
	}
	thaw()
	testenv.Exchange(t, a, b, "after")
}

// TestJoinOutlivesFirstJoinersContext: of two members joining a new
// group while the server is frozen, the one whose ctx stays healthy joins
// once the server thaws, though the first one's ctx was canceled.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	s := startRedis(t)
	tr := newTransport(t, s.url())
	g := testenv.Group(t)
	thaw := s.freeze(t)
	ctx1, cancel1 := context.WithCancel(context.Background())
	err1 := make(chan error, 1)
	go func() {
		c, err := tr.Join(ctx1, g)
		if err == nil {
			c.Close()
		}
		err1 <- err
	}()
	time.Sleep(100 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	err2 := make(chan error, 1)
	go func() {
		c, err := tr.Join(ctx2, g)
		if err == nil {
			c.Close()
		}
		err2 <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel1()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Errorf("first Join: %v; want context.Canceled", err)
	}
	thaw()
	if err := <-err2; err != nil {
		t.Fatalf("second Join, with a healthy ctx: %v", err)
	}
}
