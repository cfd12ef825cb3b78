//go:build unix

package mqtt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestSendFailsWhileFrozen: with the broker frozen, Send never returns
// nil: it waits for the PUBACK.
func TestSendFailsWhileFrozen(t *testing.T) {
	b := startBroker(t)
	tr := newTransport(t, b.url())
	g := testenv.Group(t)
	a, c := testenv.Join(t, tr, g), testenv.Join(t, tr, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, c); got != "before" {
		t.Fatalf("got %q", got)
	}
	thaw := freeze.Process(t, b.cmd.Process.Pid, false)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		start := time.Now()
		err := a.Send(ctx, []byte("during"))
		cancel()
		if err == nil {
			t.Fatalf("Send %d returned nil after %v while the broker was frozen", i, time.Since(start))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Send %d took %v with a ctx of 500ms", i, d)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send %d while frozen: %v; want an error wrapping context.DeadlineExceeded", i, err)
		}
	}
	thaw()
	testenv.Exchange(t, a, c, "after")
}
