package postgres_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

func TestConformance(t *testing.T) {
	u := testenv.PostgresURL(t)
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) })
}
