// Package bustest holds what the tests of the buses would otherwise each
// write again: opening a transport for a test, running the conformance
// kit on a server of the test's own, checking FromURL's errors (every
// bus), and the lifetime of a server bus's subscriptions.
package bustest

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	"github.com/bellwether-go/bellwether/transport"
)

// FromURL is a bus package's FromURL.
type FromURL[T bellwether.Transport] func(context.Context, *url.URL, ...transport.Option) (T, error)

// Open opens the bus at u with fromURL, allowing 10s, and closes the
// transport when the test ends; it fails the test if the bus cannot be
// opened.
func Open[T bellwether.Transport](t testing.TB, fromURL FromURL[T], u *url.URL) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := fromURL(ctx, u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", u.Redacted(), err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// Kit runs the conformance kit (bellwethertest.TestTransport, as subtest
// Transport) and bellwethertest.TestOutage (as Outage), each on a server
// of its own that start gives and that the kit restarts, kills and
// freezes. opts are the bus's promises to TestTransport.
func Kit[T bellwether.Transport](t *testing.T, start func(testing.TB) *testserver.Server, fromURL FromURL[T], opts ...bellwethertest.Option) {
	t.Run("Transport", func(t *testing.T) {
		s := start(t)
		u := s.URL()
		opts := append(opts, bellwethertest.WithServer(s))
		bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return Open(t, fromURL, u) }, opts...)
	})
	t.Run("Outage", func(t *testing.T) {
		s := start(t)
		u := s.URL()
		bellwethertest.TestOutage(t, func(t *testing.T) bellwether.Transport { return Open(t, fromURL, u) }, bellwethertest.WithServer(s))
	})
}

// BadURL is a URL that FromURL must refuse, and a part of the error that
// says why.
type BadURL struct{ URL, Want string }

// FromURLErrors checks that fromURL refuses each of bad, and what every
// bus refuses (a nil URL, and a URL of another scheme, whose error must
// name the scheme and show a URL of the bus), with an error that starts
// with the bus's prefix ("bellwether/BUS: ") and says what Want says.
func FromURLErrors[T bellwether.Transport](t *testing.T, fromURL FromURL[T], bus string, bad []BadURL) {
	t.Helper()
	ctx := context.Background()
	prefix := "bellwether/" + bus + ": "
	refuse := func(raw string, want ...string) {
		t.Helper()
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := fromURL(ctx, u)
		if err == nil {
			tr.Close()
			t.Errorf("FromURL(%s) succeeded; want an error", raw)
			return
		}
		for _, w := range want {
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), w) {
				t.Errorf("FromURL(%s) = %v; want it to start %q and say %q", raw, err, prefix, w)
			}
		}
	}
	refuse("nobus://h:1/x", `has scheme "nobus"`, bus+"://")
	for _, tc := range bad {
		refuse(tc.URL, tc.Want)
	}
	if _, err := fromURL(ctx, nil); err == nil {
		t.Error("FromURL(nil) succeeded")
	}
}

// Refused opens u with fromURL, which must fail (what says of u why), and
// returns the error.
func Refused[T bellwether.Transport](t *testing.T, fromURL FromURL[T], u *url.URL, what string) error {
	t.Helper()
	tr, err := fromURL(context.Background(), u)
	if err == nil {
		tr.Close()
		t.Fatalf("FromURL succeeded with %s", what)
	}
	return err
}

// Talks checks that a member on tr hears a member on other, a transport of
// the same bus opened otherwise, in a new group.
func Talks(t *testing.T, tr, other bellwether.Transport) {
	t.Helper()
	g := bellwethertest.UniqueGroup(t, "talks")
	a, b := bellwethertest.Join(t, tr, g), bellwethertest.Join(t, other, g)
	bellwethertest.Send(t, a, []byte("hi"))
	bellwethertest.ExpectRecv(t, b, []byte("hi"))
}

// LastMemberUnsubscribes checks the hub's subscription lifetime on a
// server bus: two members of a new group on tr share one subscription,
// which outlives the first to leave and ends (within 5s, as the server
// counts) when the last leaves; and the group can be joined again, from
// tr and from other. subscriptions counts the server's subscriptions to
// the group's channel.
func LastMemberUnsubscribes(t *testing.T, tr, other bellwether.Transport, g string, subscriptions func() int) {
	t.Helper()
	a, b := bellwethertest.Join(t, tr, g), bellwethertest.Join(t, tr, g)
	if n := subscriptions(); n != 1 {
		t.Fatalf("two members of one group on one transport hold %d subscriptions; want 1", n)
	}
	a.Close()
	if n := subscriptions(); n != 1 {
		t.Fatalf("after one of two members left, %d subscriptions; want 1", n)
	}
	b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for subscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions 5s after the group's last member left; want 0", subscriptions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, d := bellwethertest.Join(t, tr, g), bellwethertest.Join(t, other, g)
	bellwethertest.Send(t, c, []byte("again"))
	bellwethertest.ExpectRecv(t, d, []byte("again"))
}
