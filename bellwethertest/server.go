package bellwethertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// Bounds of the outage tests: generous for a loaded machine, while a
// healthy bus takes a fraction of them.
const (
	// recoverTimeout bounds the wait for messages to flow again once the
	// server is back, and for Health to see a change.
	recoverTimeout = 30 * time.Second
	// downSendTimeout is the ctx of a Send while the server is down or
	// frozen: Send must fail (or not return nil) within it.
	downSendTimeout = 10 * time.Second
	// frozenSendTimeout is the ctx of a Send while the server is frozen,
	// short since the Send must wait it out; frozenSendReturn bounds how
	// long after it the Send may return.
	frozenSendTimeout = 500 * time.Millisecond
	frozenSendReturn  = 2 * time.Second
)

// outageTests are the subtests of [WithServer].
func (s *suite) outageTests(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "Stopped"
		if kill {
			name = "Killed"
		}
		t.Run("ServerRestart/"+name, func(t *testing.T) { s.serverRestart(t, kill) })
	}
	t.Run("JoinOutlivesFirstJoiner", s.joinOutlivesFirstJoiner)
	t.Run("AcknowledgedSends/Frozen", s.sendWhileFrozen)
	t.Run("AcknowledgedSends/Killed", s.sendWhileKilled)
	for _, kill := range []bool{false, true} {
		name := "Stopped"
		if kill {
			name = "Killed"
		}
		t.Run("ElectorsAcrossRestart/"+name, func(t *testing.T) { s.electorsAcrossRestart(t, kill) })
	}
}

// down takes the server down, killed or stopped cleanly.
func (s *suite) down(kill bool) {
	if kill {
		s.server.Kill()
	} else {
		s.server.Stop()
	}
}

// serverRestart: a member survives a restart of its server: Health reports
// the outage, Send and Join fail meanwhile, and once the server is back
// messages flow both ways, in old groups and new.
func (s *suite) serverRestart(t *testing.T, kill bool) {
	t1, t2 := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "restart")
	a, b := Join(t, t1, g), Join(t, t2, g)
	pass(t, a, b, "before")
	s.awaitHealth(t, "while connected", false, a, b)

	s.down(kill)
	s.awaitHealth(t, "to report the server down", true, a, b)
	// While the server is gone, Send fails rather than buffering.
	ctx, cancel := context.WithTimeout(context.Background(), downSendTimeout)
	defer cancel()
	if err := a.Send(ctx, []byte("during")); err == nil {
		t.Fatal("Send succeeded while the server was down")
	} else {
		t.Logf("Send while down: %v", err)
	}
	if c, err := t1.Join(ctx, g+"-new"); err == nil {
		c.Close()
		t.Fatal("Join succeeded while the server was down")
	} else {
		t.Logf("Join while down: %v", err)
	}

	s.server.Start()
	exchange(t, a, b, "after-a")
	exchange(t, b, a, "after-b")
	s.awaitHealth(t, "to be nil after reconnecting", false, a, b)
	// A group joined after the restart works too.
	c, d := Join(t, t1, g+"-late"), Join(t, t2, g+"-late")
	pass(t, c, d, "late")
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if h, ok := a.(bellwether.HealthChecker); ok {
		if err := h.Health(); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Health() after Close = %v; want ErrClosed", err)
		}
	}
}

// sendWhileFrozen: Send returns nil only for a message the server
// confirmed, so a frozen server, which confirms nothing, makes every Send
// fail, when its ctx ends at the latest; after Thaw sends succeed again.
func (s *suite) sendWhileFrozen(t *testing.T) {
	a, b := s.pair(t, "frozen")
	pass(t, a, b, "before")

	s.server.Freeze()
	thawed := false
	defer func() {
		if !thawed {
			s.server.Thaw()
		}
	}()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), frozenSendTimeout)
		start := time.Now()
		err := a.Send(ctx, []byte("during"))
		took := time.Since(start)
		cancel()
		switch {
		case err == nil:
			t.Errorf("Send %d returned nil after %v while the server was frozen; it can have confirmed nothing (a write into a client buffer is no acknowledgement)",
				i, took.Round(time.Millisecond))
		case took > frozenSendReturn:
			t.Errorf("Send %d with a ctx of %v returned after %v: %v", i, frozenSendTimeout, took.Round(time.Millisecond), err)
		default:
			t.Logf("Send %d while frozen: %v after %v", i, err, took.Round(time.Millisecond))
		}
	}
	s.server.Thaw()
	thawed = true
	s.sendsAgain(t, a, b)
}

// sendWhileKilled: right after the server is killed, before anything
// told the client so, Send fails; once it is back sends succeed again.
func (s *suite) sendWhileKilled(t *testing.T) {
	a, b := s.pair(t, "killed")
	pass(t, a, b, "before")

	s.server.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), downSendTimeout)
	err := a.Send(ctx, []byte("during"))
	cancel()
	if err == nil {
		t.Error("Send succeeded right after the server was killed")
	} else {
		t.Logf("Send right after the kill: %v", err)
	}
	s.server.Start()
	s.sendsAgain(t, a, b)
}

// sendsAgain checks that messages flow both ways again, and then that
// Send succeeds at once and its message arrives.
func (s *suite) sendsAgain(t *testing.T, a, b bellwether.Conn) {
	t.Helper()
	exchange(t, a, b, "again-a")
	exchange(t, b, a, "again-b")
	msg := []byte("after the outage")
	Send(t, a, msg)
	recvSkipping(t, b, msg, "again-", "during")
}

// awaitHealth waits until every Conn of cs that is a HealthChecker
// reports the server down (a non-nil error other than ErrClosed, holding
// the HealthDown text if declared) or up (nil).
func (s *suite) awaitHealth(t *testing.T, what string, down bool, cs ...bellwether.Conn) {
	t.Helper()
	for i, c := range cs {
		h, ok := c.(bellwether.HealthChecker)
		if !ok {
			continue
		}
		eventually(t, fmt.Sprintf("Health() of member %d %s", i, what), func() error {
			err := h.Health()
			switch {
			case !down && err != nil:
				return fmt.Errorf("Health() = %v", err)
			case down && err == nil:
				return errors.New("Health() = nil")
			case down && errors.Is(err, bellwether.ErrClosed):
				return fmt.Errorf("Health() = %v, as if the Conn were closed", err)
			case down && !strings.Contains(err.Error(), s.healthDown):
				return fmt.Errorf("Health() = %v; want it to say %q", err, s.healthDown)
			}
			return nil
		})
	}
}

// eventually calls f every 10ms until it returns nil, and fails t with
// f's last error if that takes longer than recoverTimeout.
func eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(recoverTimeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %v", recoverTimeout, what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recvSkipping is ExpectRecv that first skips messages starting with one
// of skip: leftovers of an outage.
func recvSkipping(t *testing.T, c bellwether.Conn, want []byte, skip ...string) {
	t.Helper()
	for {
		got := recvFor(t, c, "message "+Show(want))
		if bytes.Equal(got, want) {
			return
		}
		skipped := false
		for _, p := range skip {
			skipped = skipped || bytes.HasPrefix(got, []byte(p))
		}
		if !skipped {
			t.Fatalf("Recv = %s, want %s", Show(got), Show(want))
		}
	}
}

// exchange sends numbered messages with prefix from from, one every
// 100ms, until to receives one of them, and fails t if none arrives within
// recoverTimeout. Send errors are expected meanwhile (the bus may be
// coming back) and only reported on failure.
func exchange(t *testing.T, from, to bellwether.Conn, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	got := make(chan struct{})
	wg.Go(func() {
		for {
			msg, err := to.Recv(ctx)
			if err != nil {
				return
			}
			if bytes.HasPrefix(msg, []byte(prefix)) {
				close(got)
				return
			}
		}
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for i := 0; ; i++ {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		if err := from.Send(sctx, []byte(prefix+strconv.Itoa(i))); err != nil && ctx.Err() == nil {
			lastErr = err
		}
		scancel()
		select {
		case <-got:
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no message %q… arrived within %v; last Send error: %v", prefix, recoverTimeout, lastErr)
		}
	}
}

// joinOutlivesFirstJoiner: of two members joining one group at once while
// the server is frozen, the second, whose ctx stays healthy, joins once the
// server thaws, though the first one's ctx was cancelled meanwhile: it must
// not get the first one's context.Canceled.
func (s *suite) joinOutlivesFirstJoiner(t *testing.T) {
	tr := s.transport(t)
	g := UniqueGroup(t, "joiners")
	s.server.Freeze()
	thawed := false
	defer func() {
		if !thawed {
			s.server.Thaw()
		}
	}()
	join := func(ctx context.Context) <-chan error {
		errc := make(chan error, 1)
		go func() {
			c, err := tr.Join(ctx, g)
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
	s.server.Thaw()
	thawed = true
	if err := <-err2; err != nil {
		t.Fatalf("second Join, with a healthy ctx: %v", err)
	}
}
