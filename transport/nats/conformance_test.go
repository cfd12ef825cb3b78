package nats_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
)

// TestConformance runs the kit on a NATS server of the test's own, which
// it also restarts, kills and freezes.
func TestConformance(t *testing.T) {
	bustest.Conformance(t, testserver.NATS, bwnats.FromURL,
		bellwethertest.RecvBuffer(bwnats.RecvBuffer),
		bellwethertest.HealthDown("not connected to nats"))
}

// TestOutage: three Electors through a frozen and a killed NATS server;
// see bellwethertest.TestOutage.
func TestOutage(t *testing.T) { bustest.Outage(t, testserver.NATS, bwnats.FromURL) }
