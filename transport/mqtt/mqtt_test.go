//go:build unix

package mqtt_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/freeze"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwmqtt "github.com/bellwether-go/bellwether/transport/mqtt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startBroker runs a Mosquitto broker of the test's own.
func startBroker(t testing.TB) *freeze.Server { return freeze.Mosquitto(t) }

func brokerURL(b *freeze.Server) *url.URL {
	return &url.URL{Scheme: "mqtt", Host: "127.0.0.1:" + strconv.Itoa(b.Port)}
}

func newTransport(t testing.TB, u *url.URL) *bwmqtt.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := bwmqtt.FromURL(ctx, u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", u, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	u := brokerURL(startBroker(t))
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) })
}

// TestElectorsAcrossRestart: three Electors on a broker of their own agree
// on one leader again after the broker is killed and restarted.
func TestElectorsAcrossRestart(t *testing.T) {
	b := startBroker(t)
	testenv.ElectorsAcrossRestart(t, func(t testing.TB) bellwether.Transport { return newTransport(t, brokerURL(b)) }, b.Kill, b.Start)
}

// TestBrokerRestart: a broker restart does not end the member: it
// reconnects, subscribes again, and messages flow again both ways.
func TestBrokerRestart(t *testing.T) {
	b := startBroker(t)
	t1, t2 := newTransport(t, brokerURL(b)), newTransport(t, brokerURL(b))
	g := testenv.Group(t)
	a, c := testenv.Join(t, t1, g), testenv.Join(t, t2, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, c); got != "before" {
		t.Fatalf("got %q", got)
	}
	health := c.(bellwether.HealthChecker).Health
	if err := health(); err != nil {
		t.Fatalf("Health() = %v while connected", err)
	}

	b.Kill()
	testenv.Eventually(t, "Health() to report the lost connection", func() error {
		if err := health(); err == nil {
			return errors.New("Health() = nil")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Send(ctx, []byte("during")); err == nil {
		t.Fatal("Send succeeded while the broker was down")
	}
	if m, err := t1.Join(ctx, g+"-new"); err == nil {
		m.Close()
		t.Fatal("Join succeeded while the broker was down")
	}

	b.Start()
	testenv.Exchange(t, a, c, "after-a")
	testenv.Exchange(t, c, a, "after-b")
	testenv.Eventually(t, "Health() to be nil after reconnecting", health)
	d, e := testenv.Join(t, t1, g+"-late"), testenv.Join(t, t2, g+"-late")
	testenv.Send(t, d, "late")
	if got := testenv.Recv(t, e); got != "late" {
		t.Fatalf("got %q", got)
	}
}

func TestFromURLErrors(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []struct{ url, want string }{
		{"nats://127.0.0.1:1883", `scheme "nats"`},
		{"mqtt://", "no host"},
		{"mqtt://127.0.0.1:1883/topic", "path or query"},
		{"mqtt://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), "cannot connect to the MQTT broker"},
	} {
		u, err := url.Parse(bad.url)
		if err != nil {
			t.Fatal(err)
		}
		if tr, err := bwmqtt.FromURL(ctx, u); err == nil {
			tr.Close()
			t.Errorf("FromURL(%s) succeeded", bad.url)
		} else if !strings.HasPrefix(err.Error(), "bellwether/mqtt: ") || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FromURL(%s) = %v; want an error about %q", bad.url, err, bad.want)
		}
	}
}
