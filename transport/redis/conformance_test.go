package redis_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
)

// TestConformance runs the kit on a redis-server of the test's own, which
// it also restarts, kills and freezes.
func TestConformance(t *testing.T) {
	bustest.Conformance(t, testserver.Redis, bwredis.FromURL,
		bellwethertest.RecvBuffer(bwredis.RecvBuffer),
		bellwethertest.HealthDown("is not working"))
}

// TestOutage: three Electors through a frozen and a killed redis-server;
// see bellwethertest.TestOutage.
func TestOutage(t *testing.T) { bustest.Outage(t, testserver.Redis, bwredis.FromURL) }
