package sim

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// randomScenario builds a fault-heavy scenario from seed: bursts of random
// faults separated by quiet gaps, some longer than B, over a network that
// meets the assumptions of invariants (b) and (c).
func randomScenario(seed uint64, maxN int) Scenario {
	r := rand.New(rand.NewPCG(seed, 99))
	n := 2 + r.IntN(maxN-1)
	s := Scenario{Members: n, Seed: seed, Duration: 5 * time.Minute}
	switch r.IntN(3) {
	case 0:
		s.Modes = []bellwether.ElectionMode{bellwether.ModeQuiet}
	case 1:
		s.Modes = []bellwether.ElectionMode{bellwether.ModeReference}
	default:
		s.Modes = []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference}
		if r.IntN(2) == 0 {
			s.Modes = []bellwether.ElectionMode{bellwether.ModeReference, bellwether.ModeQuiet, bellwether.ModeQuiet}
		}
	}
	switch r.IntN(5) {
	case 0:
		s.Settings = bellwether.Settings{ElectionTimeout: 300 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 2 * time.Second}
	case 1: // an election longer than the heartbeat interval
		s.Settings = bellwether.Settings{ElectionTimeout: 1500 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 2 * time.Second}
	case 2: // a timeout barely above interval plus latency spread
		s.Settings = bellwether.Settings{ElectionTimeout: time.Second, HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 2400 * time.Millisecond}
	}
	st := s.Settings.WithDefaults()
	maxLat := min(st.ElectionTimeout/3, (st.HeartbeatTimeout-st.HeartbeatInterval)*9/10)
	switch r.IntN(3) {
	case 0:
		s.Latency = Latency{Dist: Fixed, Min: time.Duration(r.Int64N(int64(maxLat)))}
	case 1:
		hi := time.Duration(1 + r.Int64N(int64(maxLat)))
		s.Latency = Latency{Dist: Uniform, Min: time.Duration(r.Int64N(int64(hi))), Max: hi}
	default:
		s.Latency = Latency{Dist: LogNormal, Min: time.Millisecond, Median: time.Duration(1 + r.Int64N(int64(maxLat/8))), Sigma: r.Float64() * 1.5, Max: maxLat}
	}
	if r.IntN(4) == 0 {
		s.Dup = 0.05
		s.Latency.Max /= 2
		s.Latency.Min /= 2
	}
	if r.IntN(3) == 0 {
		s.Observers = []int{n - 1}
	}
	if n > 3 && r.IntN(3) == 0 {
		s.Late = []int{r.IntN(n)}
	}
	if r.IntN(3) == 0 {
		s.StartSpread = time.Duration(r.Int64N(int64(5 * time.Second)))
	}
	b := s.StableBound()
	t := time.Duration(r.Int64N(int64(b)))
	for t < s.Duration {
		burst := 1 + r.IntN(4)
		for k := 0; k < burst; k++ {
			f := Fault{At: t}
			switch r.IntN(10) {
			case 0, 1:
				f.Kind, f.Member = Crash, TheLeader
			case 2:
				f.Kind, f.Member = Crash, r.IntN(n)
			case 3:
				f.Kind, f.Member = Withdraw, TheLeader
			case 4:
				f.Kind, f.Member = Resign, TheLeader
			case 5, 6:
				f.Kind, f.Member = Restart, Auto
			case 7:
				f.Kind = Partition
				var g []int
				for i := 0; i < n; i++ {
					if r.IntN(2) == 0 {
						g = append(g, i)
					}
				}
				if len(g) == 0 {
					g = []int{0}
				}
				f.Groups = [][]int{g}
			case 8:
				f.Kind = Heal
			case 9:
				f.Kind, f.Member = Join, Auto
			}
			s.Faults = append(s.Faults, f)
			t += time.Duration(r.Int64N(int64(3 * time.Second)))
		}
		if r.IntN(5) != 0 {
			s.Faults = append(s.Faults, Fault{At: t, Kind: Heal})
		}
		if r.IntN(3) != 0 {
			s.Faults = append(s.Faults, Fault{At: t, Kind: Restart, Member: Auto}, Fault{At: t, Kind: Restart, Member: Auto})
		}
		t += time.Duration(r.Int64N(int64(2 * b)))
	}
	return s
}

// campaignSize returns how many scenarios a campaign runs and the most
// members each may have: def of up to 12 members, a tenth of def under
// -short, and SIM_CAMPAIGN=n runs n of up to 40.
func campaignSize(def int) (count, maxN int) {
	if v, _ := strconv.Atoi(os.Getenv("SIM_CAMPAIGN")); v > 0 {
		return v, 40
	}
	if testing.Short() {
		return def / 10, 12
	}
	return def, 12
}

// runEngine runs s to its end, its invariants checked, and returns the
// engine, which holds the first violation and the measurements.
func runEngine(s Scenario) *engine {
	sc := s.normalized()
	e := newEngine(&sc, 0, s.Seed, false)
	e.run()
	return e
}

// TestCampaign runs random fault-heavy scenarios with every invariant
// checked. SIM_CAMPAIGN=n runs n scenarios instead of the default few.
func TestCampaign(t *testing.T) {
	count, maxN := campaignSize(400)
	worst, worstSeed := 0.0, uint64(0)
	for seed := uint64(1); seed <= uint64(count); seed++ {
		s := randomScenario(seed, maxN)
		e := runEngine(s)
		if e.violation != nil {
			txt, _ := s.MarshalText()
			t.Fatalf("scenario:\n%s\n%v", txt, e.violation)
		}
		if r := float64(e.agreeMax) / float64(e.bound); r > worst {
			worst, worstSeed = r, seed
		}
	}
	t.Logf("%d scenarios; slowest agreement after the last fault: %.2f B (seed %d)", count, worst, worstSeed)
}
