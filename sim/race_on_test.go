//go:build race

package sim

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random, instrumentation allocates), so allocation tests
// are meaningful only without it.
const raceEnabled = true
