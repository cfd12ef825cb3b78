package nats_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
	natsgo "github.com/nats-io/nats.go"
)

// TestWire: the payload on the bus is exactly the message; a plain NATS
// client that publishes leader-event JSON, without bellwether's header, is
// heard by every member; no member hears itself.
func TestWire(t *testing.T) {
	_, u := testserver.InProcessNATS(t)
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := "wire." + testenv.Group(t) // a '.', which the subject writes as '~'
	members := []bellwether.Conn{bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t2, g)}

	raw, err := natsgo.Connect(u.String(), natsgo.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	subject := "bellwether." + strings.ReplaceAll(g, ".", "~")
	sub, err := raw.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	bellwethertest.TestWire(t, members, bellwethertest.Bus{
		Publish: func(_ context.Context, msg []byte) error { return raw.Publish(subject, msg) },
		Next: func(ctx context.Context) ([]byte, error) {
			m, err := sub.NextMsgWithContext(ctx)
			if err != nil {
				return nil, err
			}
			if m.Header.Get(bwnats.SenderHeader) == "" {
				t.Errorf("a member's message carries no %s header", bwnats.SenderHeader)
			}
			return m.Data, nil
		},
	})
}
