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

// TestConformance runs the kit on a Mosquitto of the test's own, which it
// also restarts, kills and freezes.
func TestConformance(t *testing.T) {
	bustest.Conformance(t, testserver.Mosquitto, bwmqtt.FromURL, bellwethertest.HealthDown("broker"))
}

// TestOutage: three Electors through a frozen and a killed Mosquitto; see
// bellwethertest.TestOutage.
func TestOutage(t *testing.T) { bustest.Outage(t, testserver.Mosquitto, bwmqtt.FromURL) }

func TestFromURLErrors(t *testing.T) {
	bustest.FromURLErrors(t, bwmqtt.FromURL, "bellwether/mqtt: ", []bustest.BadURL{
		{URL: "nats://127.0.0.1:1883", Want: `scheme "nats"`},
		{URL: "mqtt://", Want: "no host"},
		{URL: "mqtt://127.0.0.1:1883/topic", Want: "path or query"},
		{URL: "mqtt://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), Want: "cannot connect to the MQTT broker"},
	})
}
