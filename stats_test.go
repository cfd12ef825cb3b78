package bellwether_test

import (
	"slices"
	"testing"
	"testing/synctest"

	"github.com/bellwether-go/bellwether/metrics"
)

// The Elector's histogram must not depend on a slice callers can change:
// appending to the exported ElectionBuckets it had made it index out of
// range.
func TestElectionBucketsCannotBeChangedFromOutside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := join(t, newBus(), "a", nil)
		b1 := metrics.ElectionBuckets()
		b1[0] = 99
		h0 := e.Stats().ElectionDurations
		h0.Bounds[0], h0.Counts[0] = 99, 99
		awaitLeadership(t, e)
		h := e.Stats().ElectionDurations
		if h.Count != 1 || len(h.Counts) != len(h.Bounds) || !slices.Equal(h.Bounds, metrics.ElectionBuckets()) {
			t.Fatalf("histogram = %+v, want one election in the buckets %v", h, metrics.ElectionBuckets())
		}
		closeAll(t, e)
	})
}

// The histogram has a count for every bucket of metrics', and the
// snapshot's map of rejections is empty, not nil, before any rejection.
func TestElectionBucketCountAndEmptyRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := join(t, newBus(), "a", nil)
		st := e.Stats()
		if got, want := len(st.ElectionDurations.Counts), len(metrics.ElectionBuckets()); got != want {
			t.Errorf("the histogram has %d counts, metrics.ElectionBuckets %d bounds", got, want)
		}
		if st.Rejected == nil || len(st.Rejected) != 0 {
			t.Errorf("Rejected = %#v, want an empty map", st.Rejected)
		}
		closeAll(t, e)
	})
}

// Stats.IsLeader is the status's: true while the member leads, false once
// it has closed.
func TestStatsIsLeaderFollowsStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := join(t, newBus(), "a", nil)
		awaitLeadership(t, e)
		if !e.Stats().IsLeader {
			t.Error("leading, Stats.IsLeader is false")
		}
		closeAll(t, e)
		if e.Stats().IsLeader {
			t.Error("closed, Stats.IsLeader is true")
		}
	})
}
