package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/sim"
)

var lan = sim.Latency{Dist: sim.Uniform, Min: time.Millisecond, Max: 20 * time.Millisecond}

// simScale times the simulator on the scale targets.
func simScale(w io.Writer) error {
	fmt.Fprintln(w, "## Scale of the simulator")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Wall time of `sim.Run` on this machine, quiet mode, latency uniform in 1–20ms.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | simulated | wall time | deliveries | ns per delivery |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, c := range []struct {
		name string
		s    sim.Scenario
	}{
		{"1,000 members, default timings, the leader crashes every 10 min", sim.Scenario{
			Members: 1000, Latency: lan, Duration: time.Hour, Seed: 1,
			Faults: []sim.Fault{
				{At: 5 * time.Minute, Every: 10 * time.Minute, Kind: sim.Crash, Member: sim.TheLeader},
				{At: 6 * time.Minute, Every: 10 * time.Minute, Kind: sim.Restart, Member: sim.Auto},
			}}},
		{"10,000 members, cold start then a leader crash", sim.Scenario{
			Members: 10000, Latency: lan, Duration: 30 * time.Second, Seed: 1,
			Faults: []sim.Fault{{At: 12 * time.Second, Kind: sim.Crash, Member: sim.TheLeader}}}},
	} {
		start := time.Now()
		r, err := sim.Run(c.s)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		d := time.Since(start)
		fmt.Fprintf(w, "| %s | %v | %.2fs | %d | %.0f |\n", c.name, c.s.Duration, d.Seconds(), r.Deliveries, float64(d.Nanoseconds())/float64(max(r.Deliveries, 1)))
	}
	fmt.Fprintln(w)
	return nil
}

// simCurve prints broadcasts per election against N for both modes.
func simCurve(w io.Writer) error {
	const seeds = 5
	fmt.Fprintln(w, "## What an election costs")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Broadcasts from the start of an election until one leader is known by all (heartbeats excluded), in the simulator with the real state machine: a cold start of N members, and a crash of the leader among N. Mean and max over %d seeds; latency uniform in 1–20ms, default timings. The budget for quiet mode is 3N. Reference mode above N = 100 is not run: it costs about N² broadcasts and N³ deliveries (10⁹ at N = 1,000).\n\n", seeds)
	fmt.Fprintln(w, "| N | quiet: cold start | quiet: leader crash | 3N budget | reference: cold start | reference: leader crash |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, n := range []int{10, 100, 1000, 10000} {
		row := []string{fmt.Sprint(n)}
		for _, mode := range []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference} {
			for _, phase := range []string{"start", "crash-leader"} {
				if mode == bellwether.ModeReference && n > 100 {
					row = append(row, "not run")
					continue
				}
				s := sim.Scenario{Members: n, Modes: []bellwether.ElectionMode{mode}, Latency: lan, Duration: 12 * time.Second, Seed: 1, Repetitions: seeds}
				if phase == "crash-leader" {
					s.Duration = 25 * time.Second
					s.Faults = []sim.Fault{{At: 12 * time.Second, Kind: sim.Crash, Member: sim.TheLeader}}
				}
				r, err := sim.Run(s)
				if err != nil {
					return fmt.Errorf("simulating N=%d %v %s: %w", n, mode, phase, err)
				}
				rc, ok := r.Recovery(phase)
				if !ok || rc.Converged != rc.Windows {
					return fmt.Errorf("simulating N=%d %v %s: did not converge: %+v", n, mode, phase, rc)
				}
				row = append(row, fmt.Sprintf("%.0f (max %d)", rc.Broadcasts.Mean, rc.Broadcasts.Max))
			}
			if mode == bellwether.ModeQuiet {
				row = append(row, fmt.Sprint(3*n))
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
	return nil
}

// benchResult is one line of go test -bench's output: the benchmark's
// name and its metrics by unit ("ns/op" and those of b.ReportMetric).
type benchResult struct {
	name    string
	metrics map[string]string
}

// goBench runs the benchmarks of pkg that match bench, benchtime each, and
// returns their results and the whole output, for errors.
func goBench(pkg, bench, benchtime string) ([]benchResult, []byte, error) {
	cmd := exec.Command("go", "test", pkg, "-run", "^$", "-bench", bench, "-benchtime", benchtime)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go test %s -bench %s: %w", pkg, bench, err)
	}
	var results []benchResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := benchResult{name: f[0], metrics: map[string]string{}}
		for i := 2; i+1 < len(f); i += 2 {
			r.metrics[f[i+1]] = f[i]
		}
		results = append(results, r)
	}
	return results, out, nil
}

// manyGroups runs bench/manygroups and reports its metrics.
func manyGroups(w io.Writer) error {
	results, out, err := goBench("./bench/manygroups", ".", "1x")
	if err != nil {
		return err
	}
	metrics := map[string]string{}
	for _, r := range results {
		if strings.HasPrefix(r.name, "BenchmarkManyGroups") {
			maps.Copy(metrics, r.metrics)
		}
	}
	if len(metrics) == 0 {
		return fmt.Errorf("no metrics in the output of bench/manygroups:\n%s", out)
	}
	fmt.Fprintln(w, "## Many groups in one process")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "1,000 groups of 3 Electors each (3,000 members) in one process over one NATS connection, default timings, with the NATS server in the same process (`bench/manygroups`).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| every group elected | heap per group | goroutines per group | CPU in steady state |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %ss | %s bytes | %s | %s of one core |\n\n", metrics["s-to-elect-all"], metrics["heap-B/group"], metrics["goroutines/group"], metrics["cores-steady"])
	return nil
}

// memElection runs transport/mem's BenchmarkElection: real Electors,
// real goroutines and timers, over the in-process bus.
func memElection(w io.Writer) error {
	results, out, err := goBench("./transport/mem", "Election", "3x")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "## An election over the mem bus")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "N Electors in one process join at once over `transport/mem` with the default timings, each with its own goroutines and timers; the time is until every member knows the same leader (`go test ./transport/mem -bench Election`, mean of 3). Joining one by one takes some milliseconds, so late joiners find an election under way, and reference mode sends fewer broadcasts than in a simultaneous start. Reference mode at N = 1,000 is not run.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| mode | N | time to one leader | broadcasts |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	rows := 0
	for _, r := range results {
		if !strings.HasPrefix(r.name, "BenchmarkElection/") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.name, "BenchmarkElection/"), "-"+strings.Split(r.name, "-")[len(strings.Split(r.name, "-"))-1])
		mode, n, _ := strings.Cut(name, "/N=")
		metrics := r.metrics
		ns, _ := strconv.ParseFloat(metrics["ns/op"], 64)
		bc, _ := strconv.ParseFloat(metrics["broadcasts/election"], 64)
		fmt.Fprintf(w, "| %s | %s | %.2fs | %.0f |\n", mode, n, ns/1e9, bc)
		rows++
	}
	if rows == 0 {
		return fmt.Errorf("no results in the output of the mem election benchmark:\n%s", out)
	}
	fmt.Fprintln(w)
	return nil
}
