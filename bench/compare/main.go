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
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/minheap"
)

type result struct {
	Name       string  `json:"name"`
	NsPerOp    float64 `json:"nsPerOp"`
	Broadcasts int     `json:"broadcasts"`
	Leader     string  `json:"leader"`
}

func main() {
	write := flag.String("write", "", "also write the report as Markdown to this file (docs/performance.md)")
	node := flag.String("node", "node", "the Node.js binary")
	flag.Parse()
	if err := run(*node, *write, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(node, write string, stdout io.Writer) error {
	ref, err := runNode(node)
	if err != nil {
		return err
	}
	goRes := runGo()
	var md bytes.Buffer
	report(&md, ref, goRes)
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return err
	}
	if write == "" {
		return nil
	}
	var doc bytes.Buffer
	header(&doc)
	doc.Write(md.Bytes())
	fmt.Fprintln(&doc)
	for _, section := range []func(io.Writer) error{simCurve, memElection, simScale, manyGroups, goBenchmarks} {
		var b bytes.Buffer
		if err := section(&b); err != nil {
			return err
		}
		if _, err := stdout.Write(b.Bytes()); err != nil {
			return err
		}
		doc.Write(b.Bytes())
	}
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
var order = []string{"decode heartbeat", "encode heartbeat", "follower heartbeat step", "cold start N=10", "cold start N=100"}

func runGo() map[string]result {
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
	return res
}

func bench(name string, f func(b *testing.B)) result {
	r := testing.Benchmark(f)
	return result{Name: name, NsPerOp: float64(r.T.Nanoseconds()) / float64(r.N)}
}

type coldResult struct {
	broadcasts int
	leader     string
}

// simEv is one entry of the virtual network's queue: a member's timer, or a
// broadcast that reaches every other member at once. One entry per
// broadcast processes its deliveries in member order, exactly as
// compare.js's consecutive per-member entries are.
type simEv struct {
	at   time.Duration
	seq  int
	who  int // the ticking member, or the sender
	tick bool
	ev   int // index into the broadcast events
}

type simQ = minheap.Heap[simEv]

func (e simEv) Less(f simEv) bool {
	if e.at != f.at {
		return e.at < f.at
	}
	return e.seq < f.seq
}

// coldNet is the virtual network of a cold start: the members, the queue,
// and what each member last asked for.
type coldNet struct {
	t0         time.Time
	q          simQ
	seq        int
	events     []bellwether.Event
	ms         []*bellwether.Machine
	due        []time.Duration // each member's pending tick, 0 for none
	next       []time.Time     // each member's last Output.Next
	broadcasts int
}

const coldLatency = 10 * time.Millisecond

func (c *coldNet) push(e simEv) {
	c.seq++
	e.seq = c.seq
	c.q.Push(e)
}

// apply carries out member i's step at now: its broadcasts go on the
// queue, and a new deadline becomes a tick.
func (c *coldNet) apply(i int, now time.Duration, effects []bellwether.Effect, next time.Time) {
	if len(effects) == 0 && next.Equal(c.next[i]) {
		return // the common case: nothing to do
	}
	c.next[i] = next
	for _, e := range effects {
		if e.Kind != bellwether.EffectBroadcast {
			continue
		}
		c.broadcasts++
		c.events = append(c.events, e.Event)
		c.push(simEv{at: now + coldLatency, who: i, ev: len(c.events) - 1})
	}
	if !next.IsZero() {
		if d := next.Sub(c.t0); d != c.due[i] {
			c.due[i] = d
			c.push(simEv{at: d, who: i, tick: true})
		}
	}
}

// coldStart is compare.js's coldStart on bellwether's Machine: N members
// start at once, every message takes 10ms, and it runs until the election
// is over.
func coldStart(n int, mode bellwether.ElectionMode) coldResult {
	c := &coldNet{
		t0:   time.Unix(0, 0),
		ms:   make([]*bellwether.Machine, n),
		due:  make([]time.Duration, n),
		next: make([]time.Time, n),
	}
	for i := range c.ms {
		m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: fmt.Sprintf("m-%05d", i), Mode: mode, Seed: uint64(i)})
		if err != nil {
			panic(err)
		}
		c.ms[i] = m
	}
	for i, m := range c.ms {
		out := m.Start(c.t0)
		c.apply(i, 0, out.Effects, out.Next)
	}
	end := time.Second + 2*coldLatency
	if mode == bellwether.ModeQuiet {
		end += time.Second / 4
	}
	for len(c.q) > 0 && c.q[0].at <= end {
		e := c.q.Pop()
		now := c.t0.Add(e.at)
		if e.tick {
			if e.at != c.due[e.who] {
				continue
			}
			c.due[e.who] = 0
			out := c.ms[e.who].Tick(now)
			c.apply(e.who, e.at, out.Effects, out.Next)
			continue
		}
		// One queue entry per broadcast, delivered to every other member
		// in member order, as compare.js does.
		ev := c.events[e.ev]
		for j, m := range c.ms {
			if j != e.who {
				out := m.Receive(now, ev)
				c.apply(j, e.at, out.Effects, out.Next)
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

func report(w io.Writer, ref, goRes map[string]result) {
	fmt.Fprintf(w, "| scenario | bellwether (Go) | reference (Node.js) | reference ÷ Go | broadcasts Go / reference |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|\n")
	for _, name := range order {
		g, r := goRes[name], ref[name]
		bc := ""
		if g.Broadcasts > 0 || r.Broadcasts > 0 {
			bc = fmt.Sprintf("%d / %d", g.Broadcasts, r.Broadcasts)
			if g.Leader != r.Leader {
				bc += fmt.Sprintf(" (leaders differ: %q vs %q)", g.Leader, r.Leader)
			}
		}
		ratio := "n/a"
		if g.NsPerOp > 0 && r.NsPerOp > 0 {
			ratio = fmt.Sprintf("%.1f×", r.NsPerOp/g.NsPerOp)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, dur(g.NsPerOp), dur(r.NsPerOp), ratio, bc)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Broadcasts for the same cold start in bellwether's default quiet mode:")
	for _, n := range []int{10, 100, 1000} {
		q := coldStart(n, bellwether.ModeQuiet)
		fmt.Fprintf(w, " N=%d: %d (leader %s);", n, q.broadcasts, q.leader)
	}
	fmt.Fprintln(w)
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

func header(w io.Writer) {
	fmt.Fprintln(w, "# Performance")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "<!-- Generated by bench/compare.sh; do not edit by hand. -->")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Measured %s on %s: %d CPUs (%s), %s, %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version(), nodeVersion())
	fmt.Fprintln(w, "## bellwether against the reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The same scenarios run on bellwether and on the reference LeaderManager of trimerge-sync 0.20.0, unchanged, under Node.js. Times are per operation. The heartbeat step is the driver-level cost of a follower hearing the leader (the reference re-arms a Node timer; the Manager re-arms a Go timer). A cold start is N members starting at once with 10ms message latency, simulated in virtual time until the election is over; both sides run the reference protocol and must send the same number of broadcasts.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Read the cold starts with care: they are storms of N² accepts, and there V8 is faster per delivery, because each accept is an insertion into a Set of strings V8 has already hashed, where bellwether hashes the id into a Go map (about 15 ns of its step). bellwether's answer to the storm is not a faster insertion but no storm: its default quiet mode elects 100 members with about a dozen broadcasts instead of 10,001 (next section).")
	fmt.Fprintln(w)
}

func footer(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Rerun")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "```sh")
	fmt.Fprintln(w, "bench/compare.sh                                  # prints these tables and rewrites this file")
	fmt.Fprintln(w, "go test -run '^$' -bench . . ./sim               # the Go benchmarks, benchstat-friendly")
	fmt.Fprintln(w, "go test -run '^$' -bench Election ./transport/mem")
	fmt.Fprintln(w, "go test -run '^$' -bench . -benchtime 1x ./bench/manygroups")
	fmt.Fprintln(w, "```")
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
