//go:build unix

package postgres_test

import (
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwpostgres "github.com/bellwether-go/bellwether/transport/postgres"
)

// TestKit runs the conformance kit and the outage test, each on a
// PostgreSQL cluster of its own. A notification's payload is text,
// so the bus is declared TextOnly.
func TestKit(t *testing.T) {
	bustest.Kit(t, testserver.Postgres, bwpostgres.FromURL, bellwethertest.TextOnly(), bellwethertest.RecvBuffer(bwpostgres.RecvBuffer), bellwethertest.HealthDown("not connected to postgres"))
}
