package sim

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// hour1000 is the scale target: 1000 quiet members for one simulated hour
// at the default timings, the leader crashing every 10 minutes and coming
// back a minute later.
func hour1000() Scenario {
	return Scenario{
		Name:     "hour-1000",
		Members:  1000,
		Modes:    quiet,
		Latency:  lan,
		Duration: time.Hour,
		Seed:     1,
		Faults: []Fault{
			{At: 5 * time.Minute, Every: 10 * time.Minute, Kind: Crash, Member: TheLeader},
			{At: 6 * time.Minute, Every: 10 * time.Minute, Kind: Restart, Member: Auto},
		},
	}
}

// BenchmarkHour1000 simulates hour1000 once per iteration; the target is
// under 10s an iteration on two cores.
func BenchmarkHour1000(b *testing.B) {
	s := hour1000()
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Run(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/sim-hour")
	b.ReportMetric(float64(r.Deliveries), "deliveries/sim-hour")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(r.Deliveries), "ns/delivery")
}

// BenchmarkElection measures the cost of an election: a cold start of N
// members, and the failover after the leader crashes, as broadcasts and
// deliveries per election (heartbeats excluded). Reference mode is skipped
// at N >= 1000: a cold start there costs about N² broadcasts and N³
// deliveries (10⁹ at N = 1000, minutes of CPU); run with -sim.reflimit=1000
// to measure it anyway.
func BenchmarkElection(b *testing.B) {
	for _, m := range []struct {
		name  string
		modes []bellwether.ElectionMode
	}{{"quiet", quiet}, {"reference", reference}} {
		for _, n := range []int{10, 100, 1000, 10000} {
			for _, phase := range []string{"cold", "crash"} {
				b.Run(fmt.Sprintf("%s/N=%d/%s", m.name, n, phase), func(b *testing.B) {
					if m.name == "reference" && n > *refLimit {
						b.Skipf("reference mode at N=%d costs ~N³ deliveries; see docs/simulator.md", n)
					}
					s := Scenario{Members: n, Modes: m.modes, Latency: lan, Duration: 12 * time.Second, Seed: 1}
					kind := "start"
					if phase == "crash" {
						s.Duration = 25 * time.Second
						s.Faults = []Fault{{At: 12 * time.Second, Kind: Crash, Member: TheLeader}}
						kind = "crash-leader"
					}
					var rc Recovery
					for b.Loop() {
						r, err := Run(s)
						if err != nil {
							b.Fatal(err)
						}
						var ok bool
						if rc, ok = r.Recovery(kind); !ok || rc.Converged != 1 {
							b.Fatalf("%s did not converge: %+v", kind, rc)
						}
					}
					b.ReportMetric(rc.Broadcasts.Mean, "broadcasts/election")
					b.ReportMetric(rc.Deliveries.Mean, "deliveries/election")
					b.ReportMetric(rc.Broadcasts.Mean/float64(n), "broadcasts/N")
					b.ReportMetric(rc.Time.Mean.Seconds(), "s-to-leader")
				})
			}
		}
	}
}

// refLimit is the largest N at which BenchmarkElection runs reference mode.
var refLimit = flag.Int("sim.reflimit", 100, "largest N for reference-mode election benchmarks")
