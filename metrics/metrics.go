// Package metrics owns the choices bellwether's metrics share, whatever
// the exporter: today the bucket bounds of the election-duration
// histogram. Exporters live in subpackages (metrics/prometheus); this
// package imports nothing, so that the root package can use it.
package metrics

// ElectionBuckets returns the upper bounds, in seconds and ascending, of
// the buckets of an Elector's election-duration histogram
// (Stats.ElectionDurations in package bellwether). They span a quiet
// election of a few tens of milliseconds to a long partition. Each call
// returns a new slice: changing it changes nothing else, so no caller can
// make an Elector's histogram disagree with its bounds.
func ElectionBuckets() []float64 {
	return []float64{0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30}
}
