// Package bellwethertest is the conformance kit of bellwether's
// transports, and a few helpers for transport tests.
//
// Every transport package runs [TestTransport] from its own tests,
// declaring with options what its bus promises beyond the Conn contract:
//
//	func TestConformance(t *testing.T) {
//		bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
//			tr, err := mytransport.New(...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { tr.Close() })
//			return tr
//		}, bellwethertest.RecvBuffer(mytransport.RecvBuffer))
//	}
//
// A bus with a server of its own ([WithServer]) is also taken down and
// brought back, and [TestOutage] measures what an outage of it costs a
// group of Electors; [TestWire] checks the bytes on the bus against a
// client that knows nothing of bellwether.
//
// The kit talks to real buses, so it waits in real time, with generous
// bounds that a healthy bus meets at once. To show that a message did not
// arrive, it mostly sends a later one and checks which comes first.
package bellwethertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// Timeout bounds each wait of the helpers for something that should happen
// at once on a healthy bus: a message to arrive, a Join or a Send to
// return.
const Timeout = 5 * time.Second

// silentFor is how long ExpectSilence listens for a message that must not
// come.
const silentFor = 300 * time.Millisecond

// UniqueGroup returns a valid group name made of prefix and a random
// suffix, so that tests sharing a real bus (or running concurrently on it)
// never hear each other. prefix is cleaned of characters a group name
// cannot hold and shortened to keep the name short.
func UniqueGroup(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(prefix) && b.Len() < 24; i++ {
		c := prefix[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString("g")
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatalf("bellwethertest: random group suffix: %v", err)
	}
	name := b.String() + "-" + hex.EncodeToString(r[:])
	if err := bellwether.ValidateGroup(name); err != nil {
		t.Fatalf("bellwethertest: %v", err)
	}
	return name
}

// Join joins group on tr within [Timeout], failing the test on error, and
// closes the Conn when the test ends.
func Join(t testing.TB, tr bellwether.Transport, group string) bellwether.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := tr.Join(ctx, group)
	if err != nil {
		t.Fatalf("Join(%q): %v", group, err)
	}
	if c == nil {
		t.Fatalf("Join(%q) returned a nil Conn and no error", group)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Send sends msg on c within [Timeout], failing the test on error.
func Send(t testing.TB, c bellwether.Conn, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Send(ctx, msg); err != nil {
		t.Fatalf("Send(%s): %v", Show(msg), err)
	}
}

// Recv returns the next message of c, failing the test if none arrives
// within [Timeout] or Recv fails.
func Recv(t testing.TB, c bellwether.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	msg, err := c.Recv(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: no message within %v", Timeout)
	}
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return msg
}

// pass sends msg from one member and expects it as the next message of
// another.
func pass(t testing.TB, from, to bellwether.Conn, msg string) {
	t.Helper()
	Send(t, from, []byte(msg))
	ExpectRecv(t, to, []byte(msg))
}

// ExpectRecv fails the test unless the next message of c, within
// [Timeout], is want.
func ExpectRecv(t testing.TB, c bellwether.Conn, want []byte) {
	t.Helper()
	if got := Recv(t, c); !bytes.Equal(got, want) {
		t.Fatalf("Recv = %s, want %s", Show(got), Show(want))
	}
}

// ExpectSilence fails the test unless none of conns receives anything
// for 300ms: what a test uses when no later message can show that an
// earlier one never came.
func ExpectSilence(t testing.TB, conns ...bellwether.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), silentFor)
	defer cancel()
	errs := make([]string, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if msg, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
				errs[i] = fmt.Sprintf("member %d: Recv = %s, %v; want nothing (context.DeadlineExceeded)", i, Show(msg), err)
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

// Show abbreviates msg for a test failure message.
func Show(msg []byte) string {
	const limit = 48
	s := msg
	if len(s) > limit {
		s = s[:limit]
	}
	out := strings.ToValidUTF8(string(s), "?")
	q := "\"" + strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '.'
		}
		return r
	}, out) + "\""
	if len(msg) > limit {
		q += "...(" + strconv.Itoa(len(msg)) + " bytes)"
	}
	return q
}
