package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// BenchmarkColdStart is the Go side of the compare script's cold starts,
// for profiling: go test ./bench/compare -run '^$' -bench ColdStart -cpuprofile cpu.out
func BenchmarkColdStart(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var out coldResult
			for b.Loop() {
				out = coldStart(n, bellwether.ModeReference)
			}
			b.ReportMetric(float64(out.broadcasts), "broadcasts")
		})
	}
}

// The Go side of a cold start sends exactly the reference's broadcasts and
// elects its leader (compare.js's figures for the same scenario).
func TestColdStartMatchesReference(t *testing.T) {
	for _, c := range []struct {
		n, broadcasts int
	}{{10, 101}, {100, 10001}} {
		got := coldStart(c.n, bellwether.ModeReference)
		if got.broadcasts != c.broadcasts || got.leader != "m-00000" {
			t.Errorf("N=%d: %d broadcasts, leader %q; the reference sends %d and elects m-00000", c.n, got.broadcasts, got.leader, c.broadcasts)
		}
	}
}

// coldID is compare.js's 'm-' + String(i).padStart(5, '0'), which pads to
// five digits and never cuts.
func TestColdIDIsTheReferences(t *testing.T) {
	for _, i := range []int{0, 7, 10, 99, 1000, 9999, 10000, 99999, 100000, 1234567} {
		if got, want := coldID(i), fmt.Sprintf("m-%05d", i); got != want {
			t.Errorf("coldID(%d) = %q, want %q", i, got, want)
		}
	}
}

// The many-groups verdict sorts each goal by its figure, at the bound
// included, and says when a figure is missing.
func TestManyGroupsVerdict(t *testing.T) {
	got := manyGroupsVerdict(map[string]string{
		"election-timeouts-after-last-join": "7.52",
		"heap-B/member":                     "4096",
		"goroutines/member":                 "1.00",
	})
	want := "At 10,000 groups this run met: heap per member (4096 bytes; goal at most 4096 bytes); goroutines per member (1.00; goal at most 2.00). " +
		"It did not meet: election after the last join (7.5 × ElectionTimeout; goal at most 2.0 × ElectionTimeout); CPU in steady state (no figure)."
	if got != want {
		t.Errorf("verdict:\n got %s\nwant %s", got, want)
	}
}

// The replay of a recorded cold start queues exactly the run's
// broadcasts, reading every answer of the recording and no more.
func TestReplayColdIsTheRun(t *testing.T) {
	tape := recordCold(floorN)
	calls := 0
	for _, a := range tape {
		if a.moved {
			calls++
		}
	}
	if got, want := replayCold(floorN, tape), floorN*floorN+1; got != want {
		t.Fatalf("the replay queued %d broadcasts, the run %d", got, want)
	}
	// Every broadcast reaches n-1 members, and each Start and Tick is an
	// answer too.
	if least := (floorN*floorN + 1) * (floorN - 1); len(tape) < least || calls == 0 {
		t.Fatalf("the recording has %d answers (%d that moved), want at least %d", len(tape), calls, least)
	}
}

func TestFloorLine(t *testing.T) {
	got := floorLine("cold start N=10", 10e3, 40e3, 30e3)
	want := "- cold start N=10, the harness alone: 10.0 µs, the same queue and deliveries with each member's answer replayed from a recording of the run (`replayCold`), so the Machines' own work is about 30.0 µs of bellwether's 40.0 µs. Were that free, bellwether would be 3.0× as fast as the reference; for 2× the Machines' share would have to be at most 5.0 µs, 17% of what it is."
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := floorLine("x", 20e3, 40e3, 30e3); !strings.HasSuffix(got, "1.5× as fast as the reference, short of 2× whatever the Machines did.") {
		t.Errorf("a floor above half the reference's time: %s", got)
	}
}
