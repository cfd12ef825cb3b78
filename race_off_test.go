//go:build !race

package bellwether

// RaceEnabled: see race_on_test.go.
const RaceEnabled = false
