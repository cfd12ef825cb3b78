//go:build unix

package mqtt_test

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwmqtt "github.com/bellwether-go/bellwether/transport/mqtt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newTransport(t testing.TB, u *url.URL) *bwmqtt.Transport {
	return bustest.Open(t, bwmqtt.FromURL, u)
}

// TestKit runs the conformance kit and the outage test, each on a
// Mosquitto of its own.
func TestKit(t *testing.T) {
	bustest.Kit(t, testserver.Mosquitto, bwmqtt.FromURL, bellwethertest.HealthDown("broker"))
}

func TestFromURLErrors(t *testing.T) {
	bustest.FromURLErrors(t, bwmqtt.FromURL, "mqtt", []bustest.BadURL{
		{URL: "mqtt://", Want: "no host"},
		{URL: "mqtt://127.0.0.1:1883/topic", Want: "path or query"},
		{URL: "mqtt://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), Want: "cannot connect to the MQTT broker"},
	})
}
