package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// withBusFaults adds to a random scenario isolations and freezes of the
// leader and of random members, each followed by a quiet gap.
func withBusFaults(s Scenario, seed uint64) Scenario {
	r := rand.New(rand.NewPCG(seed, 7))
	st := s.Settings.WithDefaults()
	faults := append([]Fault(nil), s.Faults...)
	for t := time.Duration(r.Int64N(int64(time.Minute))); t < s.Duration; t += time.Duration(r.Int64N(int64(time.Minute))) {
		f := Fault{At: t, Member: TheLeader}
		if r.IntN(3) == 0 {
			f.Member = r.IntN(s.Members)
		}
		// Up to three heartbeat timeouts: shorter and longer than the
		// others' patience.
		f.For = 1 + time.Duration(r.Int64N(int64(3*st.HeartbeatTimeout)))
		f.Kind = Isolate
		if r.IntN(2) == 0 {
			f.Kind = Freeze
		}
		faults = append(faults, f)
	}
	s.Faults = faults
	return s
}

// TestCampaignBusFaults runs the random campaign with isolations and
// freezes added, every invariant checked. SIM_CAMPAIGN=n runs n scenarios.
func TestCampaignBusFaults(t *testing.T) {
	count, maxN := campaignSize(200)
	for seed := uint64(1); seed <= uint64(count); seed++ {
		s := withBusFaults(randomScenario(seed, maxN), seed)
		if _, err := Run(s); err != nil {
			txt, _ := s.MarshalText()
			t.Fatalf("scenario:\n%s\n%v", txt, err)
		}
	}
	t.Logf("%d scenarios with isolations and freezes", count)
}
