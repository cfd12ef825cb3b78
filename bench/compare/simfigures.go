package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/sim"
)

var lan = sim.Latency{Dist: sim.Uniform, Min: time.Millisecond, Max: 20 * time.Millisecond}

// simScale times the simulator on the scale targets.
func simScale(w io.Writer) error {
	section(w, "Scale of the simulator", "Wall time of `sim.Run` on this machine, quiet mode, latency uniform in 1–20ms.")
	tableHead(w, "scenario", "simulated", "wall time", "deliveries", "ns per delivery")
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
	section(w, "What an election costs", fmt.Sprintf("Broadcasts from the start of an election until one leader is known by all (heartbeats excluded), in the simulator with the real state machine: a cold start of N members, and a crash of the leader among N. Mean and max over %d seeds; latency uniform in 1–20ms, default timings. The budget for quiet mode is 3N. Reference mode above N = 100 is not run: it costs about N² broadcasts and N³ deliveries (10⁹ at N = 1,000).", seeds))
	tableHead(w, "N", "quiet: cold start", "quiet: leader crash", "3N budget", "reference: cold start", "reference: leader crash")
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
func goBench(pkg, bench, benchtime string, flags ...string) ([]benchResult, []byte, error) {
	cmd := exec.Command("go", append([]string{"test", pkg, "-run", "^$", "-bench", bench, "-benchtime", benchtime}, flags...)...)
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

// manyGroups runs bench/manygroups, at 1,000 and 10,000 groups, and
// reports its metrics against the goals of the issue that asked for them.
func manyGroups(w io.Writer) error {
	results, out, err := goBench("./bench/manygroups", ".", "1x", "-timeout", "30m")
	if err != nil {
		return err
	}
	rows := map[string]map[string]string{}
	var sizes []string
	for _, r := range results {
		size, ok := strings.CutPrefix(trimProcs(r.name), "BenchmarkManyGroups/groups=")
		if !ok {
			continue
		}
		rows[size] = r.metrics
		sizes = append(sizes, size)
	}
	if len(sizes) == 0 {
		return fmt.Errorf("no metrics in the output of bench/manygroups:\n%s", out)
	}
	section(w, "Many groups in one process", "Groups of 3 Electors each in one process, every member on one NATS connection (the shared nats-server on loopback, a process of its own whose CPU is not counted), default timings (`bench/manygroups`). Members join one after the other; the election times are until every group has one leader that all its members know, from the first join and from the last. Heap, stack and goroutines are per member, at rest after the elections; the CPU is the process's, user and system, per second of the 10s that follow (heartbeats every 2s and their acknowledgements), as a fraction of one core.")
	tableHead(w, "groups", "members", "joining all", "every group elected, from the first join", "from the last join", "heap per member", "stack per member", "goroutines per member", "CPU in steady state")
	for _, size := range sizes {
		m := rows[size]
		n, _ := strconv.Atoi(size)
		fmt.Fprintf(w, "| %s | %s | %ss | %ss | %ss (%s × ElectionTimeout) | %s bytes | %s bytes | %s | %s of one core |\n",
			thousands(n), thousands(3*n), round(m["s-to-join-all"], 2), round(m["s-to-elect-all"], 2), round(m["s-after-last-join"], 2), round(m["election-timeouts-after-last-join"], 1),
			round(m["heap-B/member"], 0), round(m["stack-B/member"], 0), round(m["goroutines/member"], 2), round(m["cores-steady"], 3))
	}
	fmt.Fprintln(w)
	d := bellwether.DefaultSettings()
	fmt.Fprintln(w, "The goals: every group elected within 2 × ElectionTimeout of the last join, at most 4 KB of heap and 2 goroutines per member at rest, under 3% of one core in steady state (at 10,000 groups).")
	fmt.Fprintln(w)
	if m, ok := rows["10000"]; ok {
		fmt.Fprintln(w, manyGroupsVerdict(m))
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "The election's floor is the lease's: a leasing member does not win before it has listened to its group for LeaseDuration (HeartbeatTimeout − ElectionTimeout/2, %v at the default timings; see [Machine](../machine.go)), so no cold start of Electors elects within 2 × ElectionTimeout (%v). A member's Machine alone is %s.\n\n",
		d.HeartbeatTimeout-d.ElectionTimeout/2, 2*d.ElectionTimeout, machineSize())
	fmt.Fprintln(w)
	return nil
}

// manyGroupsGoals are the goals of the 10,000-group run: a metric of
// bench/manygroups, its most, and how to say it.
var manyGroupsGoals = []struct {
	metric, name string
	most         float64
	format       string
}{
	{"election-timeouts-after-last-join", "election after the last join", 2, "%.1f × ElectionTimeout"},
	{"heap-B/member", "heap per member", 4096, "%.0f bytes"},
	{"goroutines/member", "goroutines per member", 2, "%.2f"},
	{"cores-steady", "CPU in steady state", 0.03, "%.3f of one core"},
}

// manyGroupsVerdict says, of the 10,000-group run's metrics m, which goals
// this run met and which it did not, with the figures.
func manyGroupsVerdict(m map[string]string) string {
	var met, missed []string
	for _, g := range manyGroupsGoals {
		v, err := strconv.ParseFloat(m[g.metric], 64)
		if err != nil {
			missed = append(missed, g.name+" (no figure)")
			continue
		}
		s := fmt.Sprintf("%s (%s; goal at most %s)", g.name, fmt.Sprintf(g.format, v), fmt.Sprintf(g.format, g.most))
		if v <= g.most {
			met = append(met, s)
		} else {
			missed = append(missed, s)
		}
	}
	return "At 10,000 groups this run met: " + listOrNone(met) + ". It did not meet: " + listOrNone(missed) + "."
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, "; ")
}

// machineSize says how large a Machine is, and what a leasing member
// keeps besides to match acknowledgements: a record of each broadcast
// not yet acknowledged.
func machineSize() string {
	t := reflect.TypeFor[bellwether.Machine]()
	s := fmt.Sprintf("%d bytes", t.Size())
	if f, ok := t.FieldByName("sent"); ok && f.Type.Kind() == reflect.Slice {
		s += fmt.Sprintf(", and a leasing member keeps a record of %d bytes for each broadcast not yet acknowledged (a leader at rest, none)", f.Type.Elem().Size())
	}
	return s
}

// round rounds the number in s to digits after the point.
func round(s string, digits int) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "n/a"
	}
	return strconv.FormatFloat(f, 'f', digits, 64)
}

// thousands writes n with commas: 10000 is 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// memElection runs transport/mem's BenchmarkElection: real Electors,
// real goroutines and timers, over the in-process bus.
func memElection(w io.Writer) error {
	results, out, err := goBench("./transport/mem", "Election", "3x")
	if err != nil {
		return err
	}
	section(w, "An election over the mem bus", "N Electors in one process join at once over `transport/mem` with the default timings, each with its own goroutines and timers; the time is until every member knows the same leader (`go test ./transport/mem -bench Election`, mean of 3). Joining one by one takes some milliseconds, so late joiners find an election under way, and reference mode sends fewer broadcasts than in a simultaneous start. Reference mode at N = 1,000 is not run.")
	tableHead(w, "mode", "N", "time to one leader", "broadcasts")
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
