package testenv

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
	"go.uber.org/goleak"
)

// Generous bounds for real sockets on a loaded machine; tests that pass
// take a small fraction of them.
const (
	opTimeout      = 10 * time.Second
	silentFor      = 300 * time.Millisecond
	recoverTimeout = 30 * time.Second
)

// Join makes a member of group on tr, closed when the test ends.
func Join(t testing.TB, tr bellwether.Transport, group string) bellwether.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := tr.Join(ctx, group)
	if err != nil {
		t.Fatalf("Join(%q): %v", group, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Send sends msg from c or fails t.
func Send(t testing.TB, c bellwether.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.Send(ctx, []byte(msg)); err != nil {
		t.Fatalf("Send(%.40q): %v", msg, err)
	}
}

// Recv returns c's next message or fails t.
func Recv(t testing.TB, c bellwether.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msg, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return string(msg)
}

// Silent checks that none of conns receives anything for a while.
func Silent(t testing.TB, conns ...bellwether.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), silentFor)
	defer cancel()
	errs := make([]string, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if msg, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
				errs[i] = fmt.Sprintf("member %d: Recv = %.40q, %v; want nothing (context.DeadlineExceeded)", i, msg, err)
			}
		})
	}
	wg.Wait()
	failed := false
	for _, e := range errs {
		if e != "" {
			t.Error(e)
			failed = true
		}
	}
	if failed {
		t.FailNow()
	}
}

// Exchange sends numbered messages with prefix from from, one every
// 100ms, until to receives one of them, and fails t if none arrives within
// 30 seconds. Send errors are expected meanwhile (the bus may be coming
// back) and only reported on failure.
func Exchange(t testing.TB, from, to bellwether.Conn, prefix string) {
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
			if strings.HasPrefix(string(msg), prefix) {
				close(got)
				return
			}
		}
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for i := 0; ; i++ {
		if err := from.Send(ctx, []byte(prefix+strconv.Itoa(i))); err != nil && ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-got:
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no message %q… arrived within %v; last Send error: %v", prefix, recoverTimeout, lastErr)
		}
	}
}

// Caps describes a transport to Basic.
type Caps struct {
	// RecvBuffer is the per-Conn buffer length; the Conns have a
	// Dropped() uint64 method.
	RecvBuffer int
	// TextOnly is set for a bus that carries UTF-8 text without NUL
	// bytes only.
	TextOnly bool
}

// Basic runs the tests every transport must pass against real servers:
// sending and receiving, no self-delivery, group isolation, the size
// limit, Recv's context, the bounded buffer and Close. newTransport
// returns a new Transport on the same bus each call, closed by a cleanup.
func Basic(t *testing.T, newTransport func(t testing.TB) bellwether.Transport, caps Caps) {
	recvBuffer := caps.RecvBuffer
	// odd is a prefix that a careless transport might mangle.
	odd := "\x00\xff"
	if caps.TextOnly {
		odd = "é☃\t\"'\\"
	}
	t.Run("SendRecv", func(t *testing.T) {
		t1, t2 := newTransport(t), newTransport(t)
		g := Group(t)
		a, b, c := Join(t, t1, g), Join(t, t2, g), Join(t, t1, g)
		Send(t, a, `{"leader":"a"}`)
		if got := Recv(t, b); got != `{"leader":"a"}` {
			t.Fatalf("b got %q", got)
		}
		if got := Recv(t, c); got != `{"leader":"a"}` {
			t.Fatalf("c, on a's transport, got %q", got)
		}
		Send(t, b, "from b")
		for _, m := range []bellwether.Conn{a, c} {
			if got := Recv(t, m); got != "from b" {
				t.Fatalf("got %q; want %q", got, "from b")
			}
		}
		// Messages of one sender arrive in order, and bytes are kept.
		for i := range 50 {
			Send(t, c, odd+strconv.Itoa(i))
		}
		for i := range 50 {
			if got := Recv(t, b); got != odd+strconv.Itoa(i) {
				t.Fatalf("message %d: got %q", i, got)
			}
		}
	})

	t.Run("NoSelfDelivery", func(t *testing.T) {
		t1, t2 := newTransport(t), newTransport(t)
		g := Group(t)
		a, same, other := Join(t, t1, g), Join(t, t1, g), Join(t, t2, g)
		Send(t, a, "self")
		if got := Recv(t, same); got != "self" {
			t.Fatalf("member on the sender's transport got %q", got)
		}
		if got := Recv(t, other); got != "self" {
			t.Fatalf("member on another transport got %q", got)
		}
		// Both replies left after "self" had reached every member, so
		// a would have had its own message before them.
		Send(t, same, "from same")
		Send(t, other, "from other")
		got := map[string]bool{Recv(t, a): true, Recv(t, a): true}
		if !got["from same"] || !got["from other"] {
			t.Fatalf("a got %v; want the two replies and not its own message", got)
		}
		Silent(t, a)
	})

	t.Run("GroupIsolation", func(t *testing.T) {
		t1, t2 := newTransport(t), newTransport(t)
		base := Group(t)
		// Names that would clash under a careless mapping to the bus's
		// own names, and a name of the longest length.
		long := base + "." + strings.Repeat("L", bellwether.MaxGroupLength-len(base)-1)
		names := []string{base, base + ".x", base + "_x", base + "-x", base + ".x.y", long, long[:len(long)-1] + "M"}
		senders := make([]bellwether.Conn, len(names))
		receivers := make([]bellwether.Conn, len(names))
		for i, n := range names {
			senders[i], receivers[i] = Join(t, t1, n), Join(t, t2, n)
		}
		for i, n := range names {
			Send(t, senders[i], n)
		}
		for i, n := range names {
			if got := Recv(t, receivers[i]); got != n {
				t.Fatalf("member of %q got %q", n, got)
			}
		}
		Silent(t, receivers...)
	})

	t.Run("MessageSize", func(t *testing.T) {
		t1, t2 := newTransport(t), newTransport(t)
		g := Group(t)
		a, b := Join(t, t1, g), Join(t, t2, g)
		limit := a.MaxMessageSize()
		if limit < 1024 {
			t.Fatalf("MaxMessageSize = %d; want at least 1 KiB", limit)
		}
		err := a.Send(context.Background(), make([]byte, limit+1))
		if !errors.Is(err, bellwether.ErrMessageTooLarge) {
			t.Fatalf("Send(limit+1 bytes) = %v; want ErrMessageTooLarge", err)
		}
		big := make([]byte, limit)
		for i := range big {
			big[i] = byte(i * 7)
			if caps.TextOnly {
				big[i] = 'a' + byte(i%26)
			}
		}
		if err := a.Send(context.Background(), big); err != nil {
			t.Fatalf("Send(limit = %d bytes): %v", limit, err)
		}
		if got := Recv(t, b); !bytes.Equal([]byte(got), big) {
			t.Fatalf("got %d bytes; want the %d sent", len(got), len(big))
		}
	})

	t.Run("RecvContext", func(t *testing.T) {
		a := Join(t, newTransport(t), Group(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := a.Recv(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Recv(canceled ctx) = %v; want context.Canceled", err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := a.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv = %v; want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Recv returned %v after its 50ms deadline", d)
		}
	})

	t.Run("BufferDropsOldest", func(t *testing.T) {
		g := Group(t)
		a, b := Join(t, newTransport(t), g), Join(t, newTransport(t), g)
		dropped := b.(interface{ Dropped() uint64 }).Dropped
		const extra = 10
		for i := range recvBuffer + extra {
			Send(t, a, strconv.Itoa(i))
		}
		deadline := time.Now().Add(opTimeout)
		for dropped() < extra {
			if time.Now().After(deadline) {
				t.Fatalf("Dropped = %d after %v; want %d", dropped(), opTimeout, extra)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for i := extra; i < recvBuffer+extra; i++ {
			if got := Recv(t, b); got != strconv.Itoa(i) {
				t.Fatalf("got %q; want %d (the oldest %d dropped)", got, i, extra)
			}
		}
		Silent(t, b)
		if d := dropped(); d != extra {
			t.Fatalf("Dropped = %d; want %d", d, extra)
		}
	})

	t.Run("Close", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		ctx := context.Background()
		tr := newTransport(t)
		g := Group(t)
		a, err := tr.Join(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tr.Join(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		// A blocked Recv returns ErrClosed when its Conn closes.
		errc := make(chan error, 1)
		go func() {
			_, err := a.Recv(ctx)
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		if err := a.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, bellwether.ErrClosed) {
				t.Fatalf("blocked Recv = %v; want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Recv still blocked 5s after Close")
		}
		if err := a.Close(); err != nil {
			t.Fatalf("second Close = %v; want nil", err)
		}
		if err := a.Send(ctx, []byte("x")); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Send after Close = %v; want ErrClosed", err)
		}
		if _, err := a.Recv(ctx); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Recv after Close = %v; want ErrClosed", err)
		}
		// Closing the Transport closes its remaining Conns and releases
		// every goroutine (checked by goleak on return).
		if err := tr.Close(); err != nil {
			t.Fatalf("Transport.Close: %v", err)
		}
		if err := tr.Close(); err != nil {
			t.Fatalf("second Transport.Close = %v; want nil", err)
		}
		if _, err := b.Recv(ctx); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Recv after Transport.Close = %v; want ErrClosed", err)
		}
		if err := b.Send(ctx, []byte("x")); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Send after Transport.Close = %v; want ErrClosed", err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("Close after Transport.Close = %v; want nil", err)
		}
		if _, err := tr.Join(ctx, g); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Join after Transport.Close = %v; want ErrClosed", err)
		}
	})

	t.Run("JoinValidatesGroup", func(t *testing.T) {
		tr := newTransport(t)
		for _, g := range []string{"", "a b", "a*", "a>", "a\"b", strings.Repeat("x", bellwether.MaxGroupLength+1)} {
			if c, err := tr.Join(context.Background(), g); err == nil {
				c.Close()
				t.Errorf("Join(%q) succeeded; want an error", g)
			}
		}
	})

	t.Run("RejoinAfterLastLeaves", func(t *testing.T) {
		tr, other := newTransport(t), newTransport(t)
		g := Group(t)
		for round := range 3 {
			a, b := Join(t, tr, g), Join(t, tr, g)
			c := Join(t, other, g)
			msg := "round " + strconv.Itoa(round)
			Send(t, c, msg)
			for _, m := range []bellwether.Conn{a, b} {
				if got := Recv(t, m); got != msg {
					t.Fatalf("got %q; want %q", got, msg)
				}
			}
			a.Close()
			b.Close()
			c.Close()
		}
	})
}
