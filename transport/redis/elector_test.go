package redis_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestElectorsAcrossRestart: three Electors on a redis-server of their own
// agree on one leader again after the server is killed and restarted.
func TestElectorsAcrossRestart(t *testing.T) {
	s := startRedis(t)
	testenv.ElectorsAcrossRestart(t, func(t testing.TB) bellwether.Transport { return newTransport(t, s.url()) }, s.kill, s.start)
}
