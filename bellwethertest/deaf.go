package bellwethertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// TestDeaf checks what a member whose socket reader fails reports: its
// Health is nil until breakReader makes the reader fail (and returns once
// it did), then the failure; Recv returns the failure, neither ErrClosed
// nor ctx's error, every time; after Close, Health wraps ErrClosed.
func TestDeaf(t *testing.T, c bellwether.Conn, breakReader func()) {
	t.Helper()
	h, ok := c.(bellwether.HealthChecker)
	if !ok {
		t.Fatalf("%T does not implement bellwether.HealthChecker", c)
	}
	if err := h.Health(); err != nil {
		t.Fatalf("Health() = %v before the failure", err)
	}
	breakReader()
	if err := h.Health(); err == nil {
		t.Fatal("Health() = nil for a deaf member")
	}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Recv(ctx)
		cancel()
		if err == nil || errors.Is(err, bellwether.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv %d of a deaf member = %v; want the reader's failure", i, err)
		}
	}
	c.Close()
	if err := h.Health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v", err)
	}
}
