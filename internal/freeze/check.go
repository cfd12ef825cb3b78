//go:build unix

package freeze

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// Server is a server child process on a port of its own, which a test
// can kill, start again and freeze.
type Server struct {
	t    testing.TB
	Port int
	bin  string
	args func(port int) []string
	cmd  *exec.Cmd
}

// Start runs the program name (found as testenv.Command finds it, with
// install as the hint when it is missing) with args(port) on a free port,
// and waits until it accepts connections on 127.0.0.1. The test's
// cleanup kills it.
func Start(t testing.TB, name, install string, args func(port int) []string) *Server {
	t.Helper()
	s := &Server{t: t, Port: testenv.FreePort(t), bin: testenv.Command(t, name, install, "/usr/sbin"), args: args}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start starts the server again after Kill.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args(s.Port)...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting %s: %v", s.bin, err)
	}
	if err := testenv.WaitForPort("127.0.0.1:"+strconv.Itoa(s.Port), 10*time.Second); err != nil {
		s.Kill()
		s.t.Fatalf("%s: %v", s.bin, err)
	}
}

// Kill stops the server at once, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze stops the server with SIGSTOP until the returned thaw.
func (s *Server) Freeze(t testing.TB) (thaw func()) {
	t.Helper()
	return Process(t, s.cmd.Process.Pid, false)
}

// SendFailsWhileFrozen checks a server bus's acknowledged Send: a's
// messages reach b; with the server frozen by freeze, Send never returns
// nil and returns an error wrapping ctx's within about its ctx of 500ms;
// after thaw a's messages reach b again.
func SendFailsWhileFrozen(t *testing.T, a, b bellwether.Conn, freeze func() (thaw func())) {
	t.Helper()
	exchange(t, a, b, "before")
	thaw := freeze()
	defer thaw()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		start := time.Now()
		err := a.Send(ctx, []byte("during"))
		cancel()
		switch d := time.Since(start); {
		case err == nil:
			t.Fatalf("Send %d returned nil after %v while the server was frozen", i, d)
		case d > 2*time.Second:
			t.Fatalf("Send %d took %v with a ctx of 500ms", i, d)
		case !errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("Send %d while frozen: %v; want an error wrapping context.DeadlineExceeded", i, err)
		}
	}
	thaw()
	exchange(t, a, b, "after")
}

// JoinOutlivesFirstJoiner checks that of two members joining group on tr
// at once while the server is frozen, the second, whose ctx stays
// healthy, joins once the server thaws, though the first one's ctx was
// canceled meanwhile (it must not get the first one's context.Canceled).
func JoinOutlivesFirstJoiner(t *testing.T, tr bellwether.Transport, group string, freeze func() (thaw func())) {
	t.Helper()
	thaw := freeze()
	defer thaw()
	join := func(ctx context.Context) <-chan error {
		errc := make(chan error, 1)
		go func() {
			c, err := tr.Join(ctx, group)
			if err == nil {
				c.Close()
			}
			errc <- err
		}()
		time.Sleep(100 * time.Millisecond) // until it waits for the server
		return errc
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	err1 := join(ctx1)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	err2 := join(ctx2)
	cancel1()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Errorf("first Join: %v; want context.Canceled", err)
	}
	thaw()
	if err := <-err2; err != nil {
		t.Fatalf("second Join, with a healthy ctx: %v", err)
	}
}

// exchange sends numbered messages with prefix from a until b hears one,
// for up to 30 seconds (a reconnection's time).
func exchange(t *testing.T, a, b bellwether.Conn, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan struct{})
	go func() {
		for {
			msg, err := b.Recv(ctx)
			if err != nil {
				return
			}
			if bytes.HasPrefix(msg, []byte(prefix)) {
				close(got)
				return
			}
		}
	}()
	var lastErr error
	for i := 0; ; i++ {
		if err := a.Send(ctx, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			lastErr = err
		}
		select {
		case <-got:
			return
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("no message %q… arrived within 30s; last Send error: %v", prefix, lastErr)
		}
	}
}

// Mosquitto starts a Mosquitto broker on a free port of 127.0.0.1, with
// Mosquitto's defaults (Nagle's algorithm on, set_tcp_nodelay false,
// included) but for the listener and anonymous access.
func Mosquitto(t testing.TB) *Server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	return Start(t, "mosquitto", "install it (apt-get install mosquitto, or run scripts/services.sh)", func(port int) []string {
		if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\n", port), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"-c", conf}
	})
}
