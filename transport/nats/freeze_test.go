//go:build unix

package nats_test

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// startNatsProcess runs a nats-server child process, which a test can
// freeze (an embedded server cannot be).
func startNatsProcess(t *testing.T) (*freeze.Server, *url.URL) {
	s := freeze.Start(t, "nats-server", "install it (apt-get install nats-server, or run scripts/services.sh)",
		func(port int) []string { return []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)} })
	return s, &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(s.Port)}
}

// TestSendFailsWhileFrozen: Send never returns nil while the server is
// frozen: a message nats.go buffered is not acknowledged until a flush's
// PONG comes back.
func TestSendFailsWhileFrozen(t *testing.T) {
	s, u := startNatsProcess(t)
	tr := newTransport(t, u)
	g := testenv.Group(t)
	freeze.SendFailsWhileFrozen(t, testenv.Join(t, tr, g), testenv.Join(t, tr, g), func() func() { return s.Freeze(t) })
}

// TestJoinOutlivesFirstJoinersContext: a joiner with a healthy ctx does
// not get the context.Canceled of the joiner whose subscription it waited
// for.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	s, u := startNatsProcess(t)
	freeze.JoinOutlivesFirstJoiner(t, newTransport(t, u), testenv.Group(t), func() func() { return s.Freeze(t) })
}
