//go:build unix

package mqtt_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwmqtt "github.com/bellwether-go/bellwether/transport/mqtt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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

// TestConformance runs the kit on a Mosquitto of the test's own, which it
// also restarts, kills and freezes.
func TestConformance(t *testing.T) {
	s := testserver.Mosquitto(t)
	u := s.URL()
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) },
		bellwethertest.WithServer(s),
		bellwethertest.HealthDown("broker"))
}

// TestOutage: three Electors through a frozen and a killed Mosquitto; see
// bellwethertest.TestOutage.
func TestOutage(t *testing.T) {
	s := testserver.Mosquitto(t)
	u := s.URL()
	bellwethertest.TestOutage(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) }, bellwethertest.WithServer(s))
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
