package postgres_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestConformance runs the conformance suite, which sends arbitrary bytes,
// through textTransport: a notification payload is text. The transport's
// own handling of text is tested by TestBasic and TestWire.
func TestConformance(t *testing.T) {
	u := testenv.PostgresURL(t)
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
		return textTransport{newTransport(t, u)}
	})
}

// textTransport carries any bytes over a text-only transport in base64.
type textTransport struct{ bellwether.Transport }

func (t textTransport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	c, err := t.Transport.Join(ctx, group)
	if err != nil {
		return nil, err
	}
	return textConn{c}, nil
}

type textConn struct{ bellwether.Conn }

func (c textConn) MaxMessageSize() int {
	return base64.StdEncoding.DecodedLen(c.Conn.MaxMessageSize()) - 2
}

func (c textConn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > c.MaxMessageSize() {
		return fmt.Errorf("%d bytes: %w", len(msg), bellwether.ErrMessageTooLarge)
	}
	return c.Conn.Send(ctx, []byte(base64.StdEncoding.EncodeToString(msg)))
}

func (c textConn) Recv(ctx context.Context) ([]byte, error) {
	msg, err := c.Conn.Recv(ctx)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(string(msg))
}
