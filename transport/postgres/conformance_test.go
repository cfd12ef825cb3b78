//go:build unix

package postgres_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwpostgres "github.com/bellwether-go/bellwether/transport/postgres"
)

// TestConformance runs the kit on a PostgreSQL cluster of the test's own,
// which it also restarts, kills and freezes. A notification's payload is
// text, so the bus is declared TextOnly.
func TestConformance(t *testing.T) {
	bustest.Conformance(t, testserver.Postgres, bwpostgres.FromURL,
		bellwethertest.TextOnly(),
		bellwethertest.RecvBuffer(bwpostgres.RecvBuffer),
		bellwethertest.HealthDown("not connected to postgres"))
}

// TestOutage: three Electors through a frozen and a killed PostgreSQL;
// see bellwethertest.TestOutage.
func TestOutage(t *testing.T) { bustest.Outage(t, testserver.Postgres, bwpostgres.FromURL) }
