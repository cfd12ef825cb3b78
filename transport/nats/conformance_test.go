package nats_test

import (
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
)

func TestConformance(t *testing.T) {
	u := serverURL(t, startServer(t, 0))
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport { return newTransport(t, u) })
}
