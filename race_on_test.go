//go:build race

package bellwether

// RaceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random, instrumentation allocates), so allocation tests
// are meaningful only without it.
const RaceEnabled = true
