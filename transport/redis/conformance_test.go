package redis_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
)

// TestConformance runs the kit on a redis-server of the test's own, which
// it also restarts, kills and freezes.
func TestConformance(t *testing.T) {
	s := testserver.Redis(t)
	u := s.URL()
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) },
		bellwethertest.RecvBuffer(bwredis.RecvBuffer),
		bellwethertest.WithServer(s),
		bellwethertest.HealthDown("is not working"))
}

// TestOutage: three Electors through a frozen and a killed redis-server;
// see bellwethertest.TestOutage.
func TestOutage(t *testing.T) {
	s := testserver.Redis(t)
	u := s.URL()
	bellwethertest.TestOutage(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) }, bellwethertest.WithServer(s))
}
