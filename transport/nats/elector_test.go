package nats_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestElectorsAcrossRestart: three Electors on a NATS server of their own
// agree on one leader again after the server restarts.
func TestElectorsAcrossRestart(t *testing.T) {
	port := testenv.FreePort(t)
	s := startServer(t, port)
	u := serverURL(t, s)
	testenv.ElectorsAcrossRestart(t, func(t testing.TB) bellwether.Transport { return newTransport(t, u) },
		func() {
			s.Shutdown()
			s.WaitForShutdown()
		},
		func() { s = startServer(t, port) })
}
