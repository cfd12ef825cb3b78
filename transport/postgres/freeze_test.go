//go:build unix

package postgres_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// freeze stops the server, the postmaster and every backend (each a
// child of the postmaster in a session of its own), until thaw.
func (s *pgServer) freeze(t *testing.T) (thaw func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return freeze.Process(t, pid, true)
}

// TestSendFailsWhileFrozen: Send never returns nil while the server is
// frozen: it waits for the NOTIFY statement to complete.
func TestSendFailsWhileFrozen(t *testing.T) {
	s := startPostgres(t)
	tr := newTransport(t, s.url())
	g := testenv.Group(t)
	freeze.SendFailsWhileFrozen(t, testenv.Join(t, tr, g), testenv.Join(t, tr, g), func() func() { return s.freeze(t) })
}

// TestJoinOutlivesFirstJoinersContext: a joiner with a healthy ctx does
// not get the context.Canceled of the joiner whose LISTEN it waited for.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	s := startPostgres(t)
	freeze.JoinOutlivesFirstJoiner(t, newTransport(t, s.url()), testenv.Group(t), func() func() { return s.freeze(t) })
}
