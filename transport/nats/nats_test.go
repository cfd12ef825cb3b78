package nats_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer runs a NATS server in the test process on 127.0.0.1:port
// (a random port for 0) until the test ends.
func startServer(t testing.TB, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatalf("nats server on port %d did not start", port)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func serverURL(t testing.TB, s *server.Server) *url.URL {
	t.Helper()
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newTransport(t testing.TB, u *url.URL) *bwnats.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := bwnats.FromURL(ctx, u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", u, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestBasic(t *testing.T) {
	u := serverURL(t, startServer(t, 0))
	testenv.Basic(t, func(t testing.TB) bellwether.Transport { return newTransport(t, u) }, testenv.Caps{RecvBuffer: bwnats.RecvBuffer})
}

func TestMaxMessageSize(t *testing.T) {
	u := serverURL(t, startServer(t, 0))
	a := testenv.Join(t, newTransport(t, u), testenv.Group(t))
	if got, want := a.MaxMessageSize(), 1<<20-49; got != want {
		t.Fatalf("MaxMessageSize = %d; want %d (the default max_payload less the header)", got, want)
	}
}

func TestLastMemberUnsubscribes(t *testing.T) {
	s := startServer(t, 0)
	u := serverURL(t, s)
	tr := newTransport(t, u)
	before := s.NumSubscriptions()
	g := testenv.Group(t)
	a, b := testenv.Join(t, tr, g), testenv.Join(t, tr, g)
	if n := s.NumSubscriptions() - before; n != 1 {
		t.Fatalf("two members of one group hold %d subscriptions; want 1", n)
	}
	a.Close()
	b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.NumSubscriptions() != before {
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions = %d after the group's last member left; want %d", s.NumSubscriptions(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The group can be joined again.
	c, d := testenv.Join(t, tr, g), testenv.Join(t, newTransport(t, u), g)
	testenv.Send(t, c, "again")
	if got := testenv.Recv(t, d); got != "again" {
		t.Fatalf("got %q", got)
	}
}

func TestFromURLErrors(t *testing.T) {
	ctx := context.Background()
	port := testenv.FreePort(t)
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:4222", `scheme "redis"; use nats://`},
		{"nats://", "has no host"},
		{"nats://127.0.0.1:4222/x", "path or query"},
		{fmt.Sprintf("nats://127.0.0.1:%d", port), fmt.Sprintf("cannot reach nats at 127.0.0.1:%d", port)},
		{fmt.Sprintf("nats://127.0.0.1:%d", port), fmt.Sprintf("nats-server -a 127.0.0.1 -p %d", port)},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := bwnats.FromURL(ctx, u)
		if err == nil {
			tr.Close()
			t.Errorf("FromURL(%s) succeeded; want an error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromURL(%s) = %v; want it to say %q", tc.url, err, tc.want)
		}
	}
	if _, err := bwnats.FromURL(ctx, nil); err == nil {
		t.Error("FromURL(nil) succeeded")
	}
}

func TestNewKeepsCallersConnection(t *testing.T) {
	u := serverURL(t, startServer(t, 0))
	nc, err := natsgo.Connect(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tr, err := bwnats.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	g := testenv.Group(t)
	a, b := testenv.Join(t, tr, g), testenv.Join(t, newTransport(t, u), g)
	testenv.Send(t, a, "hi")
	if got := testenv.Recv(t, b); got != "hi" {
		t.Fatalf("got %q", got)
	}
	tr.Close()
	if nc.IsClosed() {
		t.Fatal("Transport.Close closed the caller's connection")
	}
	if _, err := bwnats.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// TestServerRestart: a broker restart does not end the member: it
// reconnects, and messages flow again both ways.
func TestServerRestart(t *testing.T) {
	port := testenv.FreePort(t)
	s := startServer(t, port)
	u := serverURL(t, s)
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := testenv.Group(t)
	a, b := testenv.Join(t, t1, g), testenv.Join(t, t2, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, b); got != "before" {
		t.Fatalf("got %q", got)
	}
	health := a.(bellwether.HealthChecker).Health
	if err := health(); err != nil {
		t.Fatalf("Health() = %v while connected", err)
	}

	s.Shutdown()
	s.WaitForShutdown()
	testenv.Eventually(t, "Health() to report the lost connection", func() error {
		if err := health(); err == nil || !strings.Contains(err.Error(), "not connected to nats") {
			return fmt.Errorf("Health() = %v", err)
		}
		return nil
	})
	// While the server is gone, Send fails rather than buffering.
	deadline := time.Now().Add(10 * time.Second)
	for a.Send(context.Background(), []byte("during")) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Send kept succeeding 10s after the server stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := t1.Join(context.Background(), g+"-new"); err == nil {
		t.Fatal("Join succeeded while the server was down")
	}

	startServer(t, port)
	testenv.Exchange(t, a, b, "after-a")
	testenv.Exchange(t, b, a, "after-b")
	testenv.Eventually(t, "Health() to be nil after reconnecting", health)
	a.Close()
	if err := health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v; want ErrClosed", err)
	}
}
