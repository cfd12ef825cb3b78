//go:build unix

package postgres_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestElectorsAcrossRestart: three Electors on a PostgreSQL cluster of
// their own agree on one leader again after it is stopped and started.
func TestElectorsAcrossRestart(t *testing.T) {
	s := startPostgres(t)
	testenv.ElectorsAcrossRestart(t, func(t testing.TB) bellwether.Transport { return newTransport(t, s.url()) },
		func() { s.stop("fast") }, s.start)
}
