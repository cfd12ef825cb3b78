//go:build unix

package redis_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

func (s *redisServer) freeze(t *testing.T) func() func() {
	return func() func() { return freeze.Process(t, s.cmd.Process.Pid, false) }
}

// TestSendFailsWhileFrozen: Send never returns nil while the server is
// frozen: it waits for PUBLISH's reply.
func TestSendFailsWhileFrozen(t *testing.T) {
	s := startRedis(t)
	tr := newTransport(t, s.url())
	g := testenv.Group(t)
	freeze.SendFailsWhileFrozen(t, testenv.Join(t, tr, g), testenv.Join(t, tr, g), s.freeze(t))
}

// TestJoinOutlivesFirstJoinersContext: a joiner with a healthy ctx does
// not get the context.Canceled of the joiner whose subscription it waited
// for.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	s := startRedis(t)
	freeze.JoinOutlivesFirstJoiner(t, newTransport(t, s.url()), testenv.Group(t), s.freeze(t))
}
