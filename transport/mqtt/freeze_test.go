//go:build unix

package mqtt_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestSendFailsWhileFrozen: Send never returns nil while the broker is
// frozen: it waits for the PUBACK.
func TestSendFailsWhileFrozen(t *testing.T) {
	b := startBroker(t)
	tr := newTransport(t, brokerURL(b))
	g := testenv.Group(t)
	freeze.SendFailsWhileFrozen(t, testenv.Join(t, tr, g), testenv.Join(t, tr, g), func() func() { return b.Freeze(t) })
}

// TestJoinOutlivesFirstJoinersContext: a joiner with a healthy ctx does
// not get the context.Canceled of the joiner whose subscription it waited
// for.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	b := startBroker(t)
	freeze.JoinOutlivesFirstJoiner(t, newTransport(t, brokerURL(b)), testenv.Group(t), func() func() { return b.Freeze(t) })
}
