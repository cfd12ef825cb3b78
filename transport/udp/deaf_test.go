package udp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
)

// TestDeafMember: a member whose socket reader failed (here its socket
// is closed under it) is deaf: Health reports it, and Recv returns the
// failure, not ErrClosed, every time; Close then reports ErrClosed.
func TestDeafMember(t *testing.T) {
	requireNetns(t)
	tr := newTransport(t, Config{Address: "239.77.1.1:29995", Interface: "lo"})
	c := bellwethertest.Join(t, tr, bellwethertest.UniqueGroup(t, "deaf")).(*Conn)
	if err := c.Health(); err != nil {
		t.Fatalf("Health() = %v before the failure", err)
	}
	c.p.Close() // the reader's next read fails
	<-c.readerDone
	if err := c.Health(); err == nil {
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
	if err := c.Health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v", err)
	}
}
