//go:build unix

package nats_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// natsProcess is a nats-server child process on a port of its own, which
// a test can freeze with SIGSTOP (an embedded server cannot be frozen).
type natsProcess struct {
	port int
	cmd  *exec.Cmd
}

func startNatsProcess(t *testing.T) *natsProcess {
	t.Helper()
	bin := testenv.Command(t, "nats-server", "install it (apt-get install nats-server)")
	p := &natsProcess{port: testenv.FreePort(t)}
	p.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(p.port))
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting nats-server: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	if err := testenv.WaitForPort(fmt.Sprintf("127.0.0.1:%d", p.port), 10*time.Second); err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	return p
}

func (p *natsProcess) url() *url.URL {
	return &url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p.port)}
}

// freeze stops the server with SIGSTOP until thaw.
func (p *natsProcess) freeze(t *testing.T) (thaw func()) {
	t.Helper()
	return freeze.Process(t, p.cmd.Process.Pid, false)
}

// TestSendFailsWhileFrozen: with the server frozen, Send never returns
// nil: a message nats.go buffered is not acknowledged until a flush's
// PONG comes back.
func TestSendFailsWhileFrozen(t *testing.T) {
	p := startNatsProcess(t)
	tr := newTransport(t, p.url())
	g := testenv.Group(t)
	a, b := testenv.Join(t, tr, g), testenv.Join(t, tr, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, b); got != "before" {
		t.Fatalf("got %q", got)
	}

	thaw := p.freeze(t)
	defer thaw()
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

// TestJoinOutlivesFirstJoinersContext: while the server is frozen two
// members join the same new group at once; the first one's ctx is
// canceled. The second, whose ctx is healthy, must not get the first's
// context.Canceled: once the server thaws it joins.
func TestJoinOutlivesFirstJoinersContext(t *testing.T) {
	p := startNatsProcess(t)
	tr := newTransport(t, p.url())
	g := testenv.Group(t)
	thaw := p.freeze(t)
	defer thaw()

	ctx1, cancel1 := context.WithCancel(context.Background())
	err1 := make(chan error, 1)
	go func() {
		c, err := tr.Join(ctx1, g)
		if err == nil {
			c.Close()
		}
		err1 <- err
	}()
	time.Sleep(100 * time.Millisecond) // the first joiner subscribes
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	err2 := make(chan error, 1)
	go func() {
		c, err := tr.Join(ctx2, g)
		if err == nil {
			c.Close()
		}
		err2 <- err
	}()
	time.Sleep(100 * time.Millisecond) // the second waits for the first
	cancel1()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Errorf("first Join: %v; want context.Canceled", err)
	}
	thaw()
	if err := <-err2; err != nil {
		t.Fatalf("second Join, with a healthy ctx: %v", err)
	}
}
