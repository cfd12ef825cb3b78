package nats_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	testserver.ServeNATSIfAsked()
	goleak.VerifyTestMain(m)
}

func newTransport(t testing.TB, u *url.URL) *bwnats.Transport {
	return bustest.Open(t, bwnats.FromURL, u)
}

func TestMaxMessageSize(t *testing.T) {
	_, u := testserver.InProcessNATS(t)
	a := bellwethertest.Join(t, newTransport(t, u), testenv.Group(t))
	if got, want := a.MaxMessageSize(), 1<<20-49; got != want {
		t.Fatalf("MaxMessageSize = %d; want %d (the default max_payload less the header)", got, want)
	}
}

func TestLastMemberUnsubscribes(t *testing.T) {
	s, u := testserver.InProcessNATS(t)
	tr := newTransport(t, u)
	before := int(s.NumSubscriptions())
	bustest.LastMemberUnsubscribes(t, tr, newTransport(t, u), testenv.Group(t), func() int { return int(s.NumSubscriptions()) - before })
}

func TestFromURLErrors(t *testing.T) {
	port := testenv.FreePort(t)
	bustest.FromURLErrors(t, bwnats.FromURL, "nats", []bustest.BadURL{
		{URL: "redis://127.0.0.1:4222", Want: `scheme "redis"; use nats://`},
		{URL: "nats://", Want: "has no host"},
		{URL: "nats://127.0.0.1:4222/x", Want: "path or query"},
		{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), Want: fmt.Sprintf("cannot reach nats at 127.0.0.1:%d", port)},
		{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), Want: fmt.Sprintf("nats-server -a 127.0.0.1 -p %d", port)},
	})
}

func TestNewKeepsCallersConnection(t *testing.T) {
	_, u := testserver.InProcessNATS(t)
	nc, err := natsgo.Connect(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tr, err := bwnats.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bustest.Talks(t, tr, newTransport(t, u))
	tr.Close()
	if nc.IsClosed() {
		t.Fatal("Transport.Close closed the caller's connection")
	}
	if _, err := bwnats.New(nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// TestKit runs the conformance kit and the outage test, each on a
// NATS server of its own.
func TestKit(t *testing.T) {
	bustest.Kit(t, testserver.NATS, bwnats.FromURL, bellwethertest.RecvBuffer(bwnats.RecvBuffer), bellwethertest.HealthDown("not connected to nats"))
}
