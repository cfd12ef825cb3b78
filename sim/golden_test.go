package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"testing"
	"time"
)

var printGolden = flag.Bool("sim.golden", false, "print the golden digests instead of checking them")

// goldenScenarios cover every fault kind, every latency model, loss,
// duplication, observers, late joins, repetitions and a violation.
func goldenScenarios() map[string]Scenario {
	m := map[string]Scenario{
		"busy42": busyScenario(42),
		"lossy-violation": func() Scenario {
			s := busyScenario(7)
			s.Repetitions, s.Check, s.Loss = 3, CheckForce, 0.2
			return s
		}(),
		"partition-forced": {Members: 6, Modes: mixed, Latency: lan, Duration: time.Minute, Seed: 9, Check: CheckForce,
			Faults: []Fault{{At: 10 * time.Second, Kind: Partition, Groups: [][]int{{0, 1, 2}}}}},
		"hundreds": {Members: 300, Modes: quiet, Latency: lan, Duration: 10 * time.Minute, Seed: 11, Repetitions: 2,
			Faults: []Fault{{At: time.Minute, Every: 2 * time.Minute, Kind: Crash, Member: TheLeader},
				{At: 90 * time.Second, Every: 2 * time.Minute, Kind: Restart, Member: Auto}}},
	}
	for _, seed := range []uint64{1, 2, 3, 5, 8, 13} {
		m[fmt.Sprintf("random%d", seed)] = randomScenario(seed, 12)
	}
	return m
}

// golden are the digests of trace, text and JSON report, SVG and error of
// each golden scenario, computed before engine.go was split by concern: a
// change of the simulator that changes any run shows here.
var golden = map[string]string{
	"busy42":           "69818:9755105e2f900809",
	"hundreds":         "10014242:4d89ef34e34f935b",
	"lossy-violation":  "45251:af06e125396bcc01",
	"partition-forced": "17298:50e9dd29d5c545b4",
	"random1":          "139007:0f4bb865924d1bf9",
	"random13":         "932861:844b69dbd9cf6f3e",
	"random2":          "66961:56009918d419bc2c",
	"random3":          "215437:d4ca91c26167b3b6",
	"random5":          "198998:5892a3bea2fd055b",
	"random8":          "69506:87a8bdbf4839e269",
}

func goldenDigest(t *testing.T, s Scenario) string {
	var out bytes.Buffer
	s.Trace = &out
	s.TraceDeliveries = true
	r, err := Run(s)
	fmt.Fprintf(&out, "\nerror: %v\n", err)
	if r != nil {
		for _, w := range []func(*bytes.Buffer) error{
			func(b *bytes.Buffer) error { return r.WriteText(b) },
			func(b *bytes.Buffer) error { return r.WriteJSON(b) },
			func(b *bytes.Buffer) error { return r.WriteSVG(b) },
		} {
			if err := w(&out); err != nil {
				t.Fatal(err)
			}
		}
	}
	sum := sha256.Sum256(out.Bytes())
	return fmt.Sprintf("%d:%s", out.Len(), hex.EncodeToString(sum[:8]))
}

func TestGoldenTraces(t *testing.T) {
	for name, s := range goldenScenarios() {
		got := goldenDigest(t, s)
		if *printGolden {
			fmt.Printf("\t%q: %q,\n", name, got)
			continue
		}
		if want, ok := golden[name]; !ok || got != want {
			t.Errorf("%s: digest %s, want %s", name, got, want)
		}
	}
}
