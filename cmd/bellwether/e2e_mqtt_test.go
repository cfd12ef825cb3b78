//go:build unix

package main

import (
	"strconv"
	"testing"

	"github.com/bellwether-go/bellwether/internal/testserver"
)

// TestE2EMQTT runs the scenario on a Mosquitto broker of its own, with
// Mosquitto's defaults but for the port.
func TestE2EMQTT(t *testing.T) {
	t.Parallel()
	binary(t)
	s := testserver.Mosquitto(t)
	scenario(t, "mqtt://127.0.0.1:"+strconv.Itoa(s.Port()))
}
