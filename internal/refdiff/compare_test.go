package refdiff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// divergence is the first difference between the reference's result and
// ours for a schedule.
type divergence struct {
	s        *schedule
	slot     int // -1: the id order differs
	index    int // first differing entry of the slot's trace
	js, ours *result
}

// compareResults returns nil if both sides behaved identically, and the
// earliest divergence (by virtual time) otherwise.
func compareResults(s *schedule, js, goRes *result) *divergence {
	if !slices.Equal(js.Order, goRes.Order) {
		return &divergence{s: s, slot: -1, js: js, ours: goRes}
	}
	var first *divergence
	firstT := int64(0)
	for slot := range s.IDs {
		a, b := traceOf(js, slot), traceOf(goRes, slot)
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		if i == len(a) && i == len(b) {
			continue
		}
		t := int64(1 << 62)
		if i < len(a) {
			t = a[i].T
		}
		if i < len(b) {
			t = min(t, b[i].T)
		}
		if first == nil || t < firstT {
			first, firstT = &divergence{s: s, slot: slot, index: i, js: js, ours: goRes}, t
		}
	}
	return first
}

func traceOf(r *result, slot int) []entry {
	if slot < len(r.Traces) {
		return r.Traces[slot]
	}
	return nil
}

// encodingOnly reports whether the first difference is only in the JSON
// bytes of a broadcast.
func (d *divergence) encodingOnly() bool {
	if d.slot < 0 {
		return false
	}
	a, b := traceOf(d.js, d.slot), traceOf(d.ours, d.slot)
	if d.index >= len(a) || d.index >= len(b) {
		return false
	}
	x, y := a[d.index], b[d.index]
	return x.J != y.J && x.T == y.T && x.K == y.K && x.V == y.V
}

// contextLines is how many entries around the first difference are shown.
const contextLines = 8

func (d *divergence) String() string {
	var b strings.Builder
	s := d.s
	ours := "bellwether"
	if d.ours.sim != "" {
		ours += "." + d.ours.sim
	}
	if s.Name != "" {
		fmt.Fprintf(&b, "schedule %s (seed %d): %s diverges from the reference\n", s.Name, s.Seed, ours)
		fmt.Fprintf(&b, "  reproduce: go test ./internal/refdiff -run 'TestDifferentialStartInstant/%s$' -v\n", s.Name)
	} else {
		fmt.Fprintf(&b, "seed %d: %s diverges from the reference\n", s.Seed, ours)
		fmt.Fprintf(&b, "  reproduce: go test ./internal/refdiff -run 'TestDifferential$' -refdiff.seed=%d -refdiff.n=1 -v\n", s.Seed)
	}
	fmt.Fprintf(&b, "  settings: election %dms, heartbeat %dms, heartbeat timeout %dms; latency 1..%dms, loss %d‰, horizon %dms\n",
		s.ElectionTimeout, s.HeartbeatInterval, s.HeartbeatTimeout, s.MaxLatency, s.LossPermille, s.Horizon)
	for i, id := range s.IDs {
		fmt.Fprintf(&b, "  slot %d: id %q\n", i, id)
	}
	if d.slot < 0 {
		fmt.Fprintf(&b, "  id order differs:\n    reference (JavaScript <): %q\n    CompareIDs:               %q\n", d.js.Order, d.ours.Order)
		return b.String()
	}
	what := "behaviour"
	if d.encodingOnly() {
		what = "encoding (Event.AppendJSON vs JSON.stringify)"
	}
	fmt.Fprintf(&b, "  first difference (%s): slot %d (%q), trace entry %d\n", what, d.slot, s.IDs[d.slot], d.index)
	a, g := traceOf(d.js, d.slot), traceOf(d.ours, d.slot)
	lo := max(0, d.index-contextLines)
	for _, side := range []struct {
		name string
		tr   []entry
	}{{"reference", a}, {ours, g}} {
		fmt.Fprintf(&b, "  %s:\n", side.name)
		hi := min(len(side.tr), d.index+contextLines/2+1)
		for i := lo; i < hi; i++ {
			mark := "  "
			if i == d.index {
				mark = "=>"
			}
			fmt.Fprintf(&b, "   %s %4d %v\n", mark, i, side.tr[i])
		}
		if d.index >= len(side.tr) {
			fmt.Fprintf(&b, "   => %4d (end of trace)\n", d.index)
		}
	}
	sj, _ := json.Marshal(s)
	fmt.Fprintf(&b, "  schedule: %s\n", sj)
	return b.String()
}
