// Command compare runs the same scenarios on bellwether and on the
// reference TypeScript LeaderManager under Node.js, and prints both
// figures and their ratio side by side. With -write it also regenerates
// docs/performance.md. bench/compare.sh is the way to run it.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

type result struct {
	Name       string  `json:"name"`
	NsPerOp    float64 `json:"nsPerOp"`
	Broadcasts int     `json:"broadcasts"`
	Leader     string  `json:"leader"`
	Allocs     float64 `json:"-"` // Go only: allocations per operation
}

func main() {
	write := flag.String("write", "", "also write the report as Markdown to this file (docs/performance.md)")
	node := flag.String("node", "node", "the Node.js binary")
	rounds := flag.Int("rounds", 5, "rounds of both sides, one after the other; each figure is the best round's")
	flag.Parse()
	if err := run(*node, *write, *rounds, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// measured is one scenario's figures over the rounds, per side.
type measured struct {
	goRuns, refRuns []result
	floorRuns       []result // the harness alone, for the cold start it is measured for (floorName)
}

// best returns the fastest run: on a shared machine the others' work only
// ever adds time, so the fastest round is the closest to the true cost.
func best(runs []result) result {
	var b result
	for i, r := range runs {
		if i == 0 || r.NsPerOp < b.NsPerOp {
			b = r
		}
	}
	return b
}

// spread returns the slowest round's time over the fastest's.
func spread(runs []result) float64 {
	lo, hi := 0.0, 0.0
	for i, r := range runs {
		if i == 0 || r.NsPerOp < lo {
			lo = r.NsPerOp
		}
		hi = max(hi, r.NsPerOp)
	}
	if lo == 0 {
		return 0
	}
	return hi / lo
}

func run(node, write string, rounds int, stdout io.Writer) error {
	if rounds < 1 {
		return fmt.Errorf("-rounds %d: want at least 1", rounds)
	}
	loadStart := loadAverage()
	all := map[string]*measured{}
	for _, name := range order {
		all[name] = &measured{}
	}
	for round := range rounds {
		fmt.Fprintf(os.Stderr, "compare: round %d of %d\n", round+1, rounds)
		ref, err := runNode(node)
		if err != nil {
			return err
		}
		goRes, err := runGo()
		if err != nil {
			return err
		}
		for _, name := range order {
			g, okG := goRes[name]
			r, okR := ref[name]
			if !okG || !okR {
				return fmt.Errorf("scenario %q: missing on the %s side", name, map[bool]string{true: "reference", false: "Go"}[okG])
			}
			all[name].goRuns = append(all[name].goRuns, g)
			all[name].refRuns = append(all[name].refRuns, r)
		}
		floor := all[fmt.Sprintf("cold start N=%d", floorN)]
		floor.floorRuns = append(floor.floorRuns, goRes[floorName])
	}
	var md bytes.Buffer
	report(&md, all, rounds)
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return err
	}
	if write == "" {
		return nil
	}
	var body bytes.Buffer
	body.Write(md.Bytes())
	fmt.Fprintln(&body)
	for _, section := range []func(io.Writer) error{simCurve, memElection, simScale, manyGroups, goBenchmarks} {
		var b bytes.Buffer
		if err := section(&b); err != nil {
			return err
		}
		if _, err := stdout.Write(b.Bytes()); err != nil {
			return err
		}
		body.Write(b.Bytes())
	}
	var doc bytes.Buffer
	header(&doc, loadStart, loadAverage())
	doc.Write(body.Bytes())
	footer(&doc)
	return os.WriteFile(write, doc.Bytes(), 0o644)
}

func runNode(node string) (map[string]result, error) {
	cmd := exec.Command(node, "bench/compare.js")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("running the reference under Node.js (%s bench/compare.js): %w; run `cd internal/refdiff && npm ci` first", node, err)
	}
	res := map[string]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("reading Node's output %q: %w", sc.Text(), err)
		}
		res[r.Name] = r
	}
	return res, sc.Err()
}

// scenario names, in report order; each must exist on both sides.
var order = []string{
	"decode heartbeat",
	"encode heartbeat",
	"follower heartbeat step",
	"follower heartbeat, bytes to state",
	"leader heartbeat, timer to bytes",
	"cold start N=10",
	"cold start N=100",
}

// heartbeatBenchmarks are the rows measured by the root package's
// BenchmarkHeartbeat, which reaches the Elector's receive path and the
// driver's timer path through its export_test.go.
var heartbeatBenchmarks = map[string]string{
	"BenchmarkHeartbeat/follower-bytes-to-state": "follower heartbeat, bytes to state",
	"BenchmarkHeartbeat/leader-timer-to-bytes":   "leader heartbeat, timer to bytes",
}

func runGo() (map[string]result, error) {
	res := map[string]result{}
	hbJSON := []byte(`{"type":"leader","action":"current","clientId":"web-17"}`)
	res["decode heartbeat"] = bench("decode heartbeat", func(b *testing.B) {
		for b.Loop() {
			if _, err := bellwether.ParseEvent(hbJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	res["encode heartbeat"] = bench("encode heartbeat", func(b *testing.B) {
		e := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
		buf := make([]byte, 0, 128)
		for b.Loop() {
			buf = e.AppendJSON(buf[:0])
		}
	})
	// The reference on Node's timers against the Manager on Go's: both
	// re-arm the follower's heartbeat timeout on every heartbeat.
	res["follower heartbeat step"] = bench("follower heartbeat step", func(b *testing.B) {
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "web-2", Broadcast: func(bellwether.Event) {}, Mode: bellwether.ModeReference, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Shutdown(false)
		hb := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
		for b.Loop() {
			m.Receive(hb)
		}
	})
	results, out, err := goBench(".", "^BenchmarkHeartbeat$", "1s")
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		name, ok := heartbeatBenchmarks[trimProcs(r.name)]
		if !ok {
			continue
		}
		ns, err1 := strconv.ParseFloat(r.metrics["ns/op"], 64)
		allocs, err2 := strconv.ParseFloat(r.metrics["allocs/op"], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: no ns/op and allocs/op in %v", r.name, r.metrics)
		}
		res[name] = result{Name: name, NsPerOp: ns, Allocs: allocs}
	}
	for _, name := range heartbeatBenchmarks {
		if _, ok := res[name]; !ok {
			return nil, fmt.Errorf("no result for %q in the output of the heartbeat benchmarks:\n%s", name, out)
		}
	}
	for _, n := range []int{10, 100} {
		name := fmt.Sprintf("cold start N=%d", n)
		var out coldResult
		r := bench(name, func(b *testing.B) {
			for b.Loop() {
				out = coldStart(n, bellwether.ModeReference)
			}
		})
		r.Broadcasts, r.Leader = out.broadcasts, out.leader
		res[name] = r
	}
	tape := recordCold(floorN)
	res[floorName] = bench(floorName, func(b *testing.B) {
		for b.Loop() {
			replayCold(floorN, tape)
		}
	})
	return res, nil
}

// floorN is the cold start whose harness alone is measured, under
// floorName. Only the smaller: a recording of the cold start of 100 is a
// million answers, which the replay would read from memory at a cost the
// real run does not have.
const (
	floorN    = 10
	floorName = "cold start N=10, harness alone"
)

// trimProcs drops the -GOMAXPROCS suffix of a benchmark's name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func bench(name string, f func(b *testing.B)) result {
	r := testing.Benchmark(func(b *testing.B) { b.ReportAllocs(); f(b) })
	return result{Name: name, NsPerOp: float64(r.T.Nanoseconds()) / float64(r.N), Allocs: float64(r.MemAllocs) / float64(r.N)}
}

type coldResult struct {
	broadcasts int
	leader     string
}

// simEv is one entry of the virtual network's queue: a member's timer, or a
// broadcast that reaches every other member at once. One entry per
// broadcast processes its deliveries in member order, exactly as
// compare.js's consecutive per-member entries are. key orders the queue:
// the due time in the upper bits, the entry's sequence number in the lower
// ones, so that entries due at the same time run in the order they were
// queued, as compare.js's (at, seq) order does.
type simEv struct {
	key uint64
	who int32 // the ticking member, or the sender
	ev  int32 // index into the broadcast events; -1 for a tick
}

// seqBits is the width of simEv's sequence number: room for far more
// entries than a cold start of 100 members queues (about 10,100), and for
// due times up to 2^40ns, about 18 minutes.
const seqBits = 24

func (e simEv) at() time.Duration { return time.Duration(e.key >> seqBits) }

// simQ is a binary min-heap of simEv by key: the same queue as
// compare.js's, without the generic heap's indirect comparisons.
type simQ []simEv

func (q *simQ) push(e simEv) {
	h := append(*q, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].key <= h[i].key {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	*q = h
}

func (q *simQ) pop() simEv {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].key < h[c].key {
			c = r
		}
		if h[i].key <= h[c].key {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*q = h
	return top
}

// coldNet is the virtual network of a cold start: the members, the queue,
// and what each member last asked for.
type coldNet struct {
	t0         time.Time
	q          simQ
	seq        uint64
	events     []bellwether.Event
	ms         []*bellwether.Machine
	due        []time.Duration // each member's pending tick, 0 for none
	next       []time.Time     // each member's last deadline
	broadcasts int
}

const coldLatency = 10 * time.Millisecond

func (c *coldNet) push(at time.Duration, who, ev int) {
	c.seq++
	c.q.push(simEv{key: uint64(at)<<seqBits | c.seq, who: int32(who), ev: int32(ev)})
}

// apply carries out member i's step at now: its broadcasts go on the
// queue, and a new deadline becomes a tick.
func (c *coldNet) apply(i int, now time.Duration, effects []bellwether.Effect, next time.Time) {
	c.next[i] = next
	for k := range effects {
		e := &effects[k]
		if e.Kind != bellwether.EffectBroadcast {
			continue
		}
		c.broadcasts++
		c.events = append(c.events, e.Event)
		c.push(now+coldLatency, i, len(c.events)-1)
	}
	if !next.IsZero() {
		// The virtual clock starts at the Unix epoch, so a deadline's
		// offset is its UnixNano: the same figure as next.Sub(c.t0),
		// without Sub's monotonic-clock and overflow handling, which cost
		// more than the rest of apply.
		if d := time.Duration(next.UnixNano()); d != c.due[i] {
			c.due[i] = d
			c.push(d, i, -1)
		}
	}
}

// coldID is member i's id, compare.js's 'm-' + String(i).padStart(5, '0'):
// built by hand, as the JavaScript side builds it, and not with
// fmt.Sprintf, whose formatting would be most of a member's construction.
func coldID(i int) string {
	var buf [24]byte
	b := append(buf[:0], 'm', '-')
	for w := 10000; w > 1 && i < w; w /= 10 {
		b = append(b, '0')
	}
	return string(strconv.AppendInt(b, int64(i), 10))
}

// coldEnd is when a reference-mode cold start is over: its election
// timeout and two latencies, as compare.js runs it.
const coldEnd = time.Second + 2*coldLatency

// newColdNet returns the virtual network of a cold start of n members,
// with no members yet. A reference-mode cold start sends n² + 1
// broadcasts, and at its height n(n-1) are on their way: room for them
// from the start.
func newColdNet(n int) *coldNet {
	return &coldNet{
		t0:     time.Unix(0, 0),
		q:      make(simQ, 0, n*n+2*n),
		events: make([]bellwether.Event, 0, n*n+1),
		ms:     make([]*bellwether.Machine, n),
		due:    make([]time.Duration, n),
		next:   make([]time.Time, n),
	}
}

// coldStart is compare.js's coldStart on bellwether's Machine: N members
// start at once, every message takes 10ms, and it runs until the election
// is over.
func coldStart(n int, mode bellwether.ElectionMode) coldResult {
	c := newColdNet(n)
	for i := range c.ms {
		m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: coldID(i), Mode: mode, Seed: uint64(i)})
		if err != nil {
			panic(err)
		}
		c.ms[i] = m
	}
	for i, m := range c.ms {
		out := m.Start(c.t0)
		c.apply(i, 0, out.Effects, out.Next)
	}
	end := coldEnd
	if mode == bellwether.ModeQuiet {
		end += time.Second / 4
	}
	// Entries come due in bursts at the same time (a round of broadcasts
	// all arrive one latency later), so now is converted to a time.Time
	// once per distinct time, as compare.js's now is a plain number.
	nowAt, now := time.Duration(0), c.t0
	for len(c.q) > 0 && c.q[0].at() <= end {
		e := c.q.pop()
		at := e.at()
		if at != nowAt {
			nowAt, now = at, c.t0.Add(at)
		}
		if e.ev < 0 {
			who := int(e.who)
			if at != c.due[who] {
				continue
			}
			c.due[who] = 0
			out := c.ms[who].Tick(now)
			c.apply(who, at, out.Effects, out.Next)
			continue
		}
		// One queue entry per broadcast, delivered to every other member
		// in member order, as compare.js does.
		ev := &c.events[e.ev]
		for j, m := range c.ms {
			if j == int(e.who) {
				continue
			}
			// Most deliveries change nothing, and ReceiveEffects says so:
			// no effects, the same deadline, as the reference sets no
			// timer then.
			fx, moved := m.ReceiveEffects(now, ev)
			if !moved {
				continue
			}
			// The deadlines all come from the same arithmetic on t0, so
			// == compares them exactly, and more cheaply than Equal.
			if next := m.Next(); len(fx) > 0 || next != c.next[j] {
				c.apply(j, at, fx, next)
			}
		}
	}
	leader, _ := c.ms[0].Leader()
	for _, m := range c.ms {
		if l, _ := m.Leader(); l != leader {
			leader = "disagreement"
		}
	}
	return coldResult{c.broadcasts, leader}
}

// floorLine says, for the cold start name, what its harness alone takes
// (floor, of goNs in all, against the reference's refNs) and so what the
// Machines' share is and would have to be for the goal.
func floorLine(name string, floor, goNs, refNs float64) string {
	s := fmt.Sprintf("- %s, the harness alone: %s, the same queue and deliveries with each member's answer replayed from a recording of the run (`replayCold`), so the Machines' own work is about %s of bellwether's %s. Were that free, bellwether would be %.1f× as fast as the reference", name, dur(floor), dur(max(goNs-floor, 0)), dur(goNs), refNs/floor)
	if need := refNs/goal - floor; need > 0 {
		return s + fmt.Sprintf("; for %.0f× the Machines' share would have to be at most %s, %.0f%% of what it is.", goal, dur(need), 100*need/max(goNs-floor, 1))
	}
	return s + fmt.Sprintf(", short of %.0f× whatever the Machines did.", goal)
}

// goal is the least ratio, reference ÷ Go, every row is to reach.
const goal = 2.0

func report(w io.Writer, all map[string]*measured, rounds int) {
	fmt.Fprintf(w, "Each figure is the best of %d rounds; a round runs every scenario on the reference, then on bellwether. The spread is the slowest round over the fastest, the larger of the two sides': how much the machine's other work moved the figures.\n\n", rounds)
	tableHead(w, "scenario", "bellwether (Go)", "allocations", "reference (Node.js)", "reference ÷ Go", "spread", "broadcasts Go / reference")
	var short []string
	for _, name := range order {
		g, r := best(all[name].goRuns), best(all[name].refRuns)
		bc := ""
		if g.Broadcasts > 0 || r.Broadcasts > 0 {
			bc = fmt.Sprintf("%d / %d", g.Broadcasts, r.Broadcasts)
			if g.Leader != r.Leader {
				bc += fmt.Sprintf(" (leaders differ: %q vs %q)", g.Leader, r.Leader)
			}
		}
		ratio := "n/a"
		if g.NsPerOp > 0 && r.NsPerOp > 0 {
			q := r.NsPerOp / g.NsPerOp
			ratio = fmt.Sprintf("%.1f×", q)
			if q < goal {
				short = append(short, fmt.Sprintf("%s (%.1f×)", name, q))
			}
		}
		sp := max(spread(all[name].goRuns), spread(all[name].refRuns))
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f | %s |\n", name, dur(g.NsPerOp), allocs(g.Allocs), dur(r.NsPerOp), ratio, sp, bc)
	}
	fmt.Fprintln(w)
	if len(short) == 0 {
		fmt.Fprintf(w, "Every row is at least %.0f× faster than the reference.\n\n", goal)
	} else {
		fmt.Fprintf(w, "Below the goal of %.0f× faster than the reference: %s.\n\n", goal, strings.Join(short, "; "))
	}
	for _, n := range []int{10, 100} {
		name := fmt.Sprintf("cold start N=%d", n)
		g, r := best(all[name].goRuns), best(all[name].refRuns)
		if d := float64(g.Broadcasts * (n - 1)); d > 0 {
			fmt.Fprintf(w, "- %s: %d broadcasts, each delivered to %d members; %.0f ns per delivery on bellwether and %.0f ns on the reference, constructing the members included.\n", name, g.Broadcasts, n-1, g.NsPerOp/d, r.NsPerOp/d)
		}
		if runs := all[name].floorRuns; len(runs) > 0 {
			fmt.Fprintln(w, floorLine(name, best(runs).NsPerOp, g.NsPerOp, r.NsPerOp))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Broadcasts for the same cold start in bellwether's default quiet mode:")
	for _, n := range []int{10, 100, 1000} {
		q := coldStart(n, bellwether.ModeQuiet)
		fmt.Fprintf(w, " N=%d: %d (leader %s);", n, q.broadcasts, q.leader)
	}
	fmt.Fprintln(w)
}

// allocs writes allocations per operation: whole when they are (within
// the rounding of a benchmark's count), otherwise to two places.
func allocs(a float64) string {
	if r := math.Round(a); math.Abs(a-r) < 0.01 {
		return fmt.Sprint(int64(r))
	}
	return fmt.Sprintf("%.2f", a)
}

func dur(ns float64) string {
	switch {
	case ns == 0:
		return "n/a"
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

// loadAverage returns the machine's load averages over 1, 5 and 15
// minutes, as /proc/loadavg gives them, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
}

func header(w io.Writer, loadStart, loadEnd string) {
	fmt.Fprintln(w, "# Performance")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "<!-- Generated by bench/compare.sh; do not edit by hand. -->")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Measured %s on %s: %d CPUs (%s), %s, %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), nodeVersion())
	fmt.Fprintf(w, "The machine is shared with other work, so every figure is noisy: its load averages (1, 5 and 15 minutes) were %s when the run began and %s when it ended, on %d CPUs. The comparison with the reference takes the best of several rounds and gives each row's spread; the other tables are single runs.\n\n", loadStart, loadEnd, runtime.NumCPU())
	section(w, "bellwether against the reference",
		"The same scenarios run on bellwether and on the reference LeaderManager of trimerge-sync 0.20.0, unchanged, under Node.js (`bench/compare.js`). Times are per operation:",
		"- *decode* and *encode heartbeat*: one heartbeat's JSON; `ParseEvent` and `Event.AppendJSON` into a reused buffer against `JSON.parse` and `JSON.stringify`.\n"+
			"- *follower heartbeat step*: the Manager's `Receive` of the leader's heartbeat against the reference's `receiveEvent`, each on its runtime's real timers (the reference clears and re-arms a Node timer; the Manager's driver moves its deadline later and wakes no goroutine).\n"+
			"- *follower heartbeat, bytes to state*: a follower's whole path from the bytes it read to its state: decoding, counters, driver step and machine (`BenchmarkHeartbeat/follower-bytes-to-state`), against `receiveEvent(JSON.parse(bytes))`.\n"+
			"- *leader heartbeat, timer to bytes*: a leader's path when its heartbeat is due: the machine's Tick, the driver's queue, the event encoded into the bytes handed to the bus, and the bus's acknowledgement stepped back in (`BenchmarkHeartbeat/leader-timer-to-bytes`), against the reference's interval callback broadcasting a current that the program encodes with `JSON.stringify`. Neither side counts its runtime's timer wheel.\n"+
			"- *cold start*: N members starting at once with 10ms message latency, simulated in virtual time until the election is over, each broadcast delivered to every other member; both sides run the reference protocol and must send the same broadcasts and elect the same leader. Each side's harness is a binary heap of due events; bellwether's delivers with `Machine.ReceiveEffects` and reads the deadline with `Next` when ReceiveEffects says it may have moved (as the reference's harness does work only when a timer is set). These are storms of N² accepts, almost all of a candidate already known; bellwether's answer to the storm is to have none: its default quiet mode elects 100 members with about a dozen broadcasts instead of 10,001 (next section).")
}

// section writes a Markdown section: its heading and paragraphs.
func section(w io.Writer, title string, paragraphs ...string) {
	fmt.Fprintf(w, "## %s\n\n", title)
	for _, p := range paragraphs {
		fmt.Fprintf(w, "%s\n\n", p)
	}
}

// tableHead writes the head of a Markdown table: the first column aligned
// left, the others, figures, right.
func tableHead(w io.Writer, columns ...string) {
	fmt.Fprintf(w, "| %s |\n|---|%s\n", strings.Join(columns, " | "), strings.Repeat("---:|", len(columns)-1))
}

func footer(w io.Writer) {
	fmt.Fprintln(w)
	section(w, "Rerun")
	fmt.Fprint(w, "```sh\n"+
		"bench/compare.sh                                  # prints these tables and rewrites this file\n"+
		"go test -run '^$' -bench . . ./sim               # the Go benchmarks, benchstat-friendly\n"+
		"go test -run '^$' -bench Election ./transport/mem\n"+
		"go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench/manygroups\n"+
		"```\n")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.Index(line, ":"); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return "unknown CPU"
}

func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "Node.js unknown"
	}
	return "Node.js " + strings.TrimSpace(string(out))
}
