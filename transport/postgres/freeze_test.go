//go:build unix

package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestSendFailsWhileFrozen: with the server frozen, Send never returns
// nil: it waits for the NOTIFY statement to complete.
func TestSendFailsWhileFrozen(t *testing.T) {
	s := startPostgres(t)
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
