package bellwether_test

import (
	"container/heap"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/bellwether-go/bellwether"
)

// The property: after any schedule of joins, leaves, crashes, restarts,
// message loss and partitions, once the network is connected and quiet,
// within convergeBound exactly one live member leads and every live member
// knows it; and from then on, with the network connected and quiet, no
// leadership changes at all.
//
// convergeBound, with the default timings and at most maxLatency per
// message: a follower of a dead leader times out within HeartbeatTimeout
// (8s) and elects (1s, plus up to 250ms of jitter in quiet mode); the
// reference's followers may all win their own elections then, and leaders
// meet within a HeartbeatInterval (2s); the larger defers and elects again
// (1s); a member the winner answered may need one more heartbeat interval
// to hear it. That chain is HT + 2·HI + 3·E ≈ 15s plus a few latencies. The
// test allows 20s. docs/guarantees.md explains the bound.
const (
	maxLatency    = 50 * time.Millisecond
	convergeBound = 20 * time.Second
	stableFor     = 2 * time.Minute
)

type simEvent struct {
	at   time.Time
	seq  int
	kind int // evDeliver, evTick
	to   int
	inc  int // incarnation of the member the event is for
	e    bellwether.Event
	from int
}

const (
	evDeliver = iota
	evTick
)

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

type simMember struct {
	id   string
	mode bellwether.ElectionMode
	m    *bellwether.Machine // nil when down
	inc  int
	side int // partition side
	tick time.Time
}

type simNet struct {
	t        *rapid.T
	now      time.Time
	q        simQueue
	seq      int
	members  []*simMember
	loss     float64
	changes  int // leadership changes since counting started
	counting bool
	log      []string
}

func (n *simNet) push(ev simEvent) {
	n.seq++
	ev.seq = n.seq
	heap.Push(&n.q, ev)
}

func (n *simNet) logf(format string, args ...any) {
	n.log = append(n.log, fmt.Sprintf("%8.3fs ", n.now.Sub(t0).Seconds())+fmt.Sprintf(format, args...))
}

func (n *simNet) apply(i int, out bellwether.Output) {
	mb := n.members[i]
	for _, e := range out.Effects {
		switch e.Kind {
		case bellwether.EffectBroadcast:
			n.logf("%s sends %s", mb.id, e.Event.Action)
			for j, o := range n.members {
				if j == i || o.m == nil || o.side != mb.side {
					continue
				}
				if n.loss > 0 && rapid.Float64Range(0, 1).Draw(n.t, "lossdraw") < n.loss {
					continue
				}
				lat := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(maxLatency)).Draw(n.t, "latency"))
				n.push(simEvent{at: n.now.Add(lat), kind: evDeliver, to: j, inc: o.inc, e: e.Event, from: i})
			}
		case bellwether.EffectLeading:
			n.logf("%s leading=%v", mb.id, e.Leading)
			if n.counting {
				n.changes++
			}
		case bellwether.EffectLeader:
			n.logf("%s follows %q", mb.id, e.Leader)
			if n.counting {
				n.changes++
			}
		}
	}
	if !out.Next.IsZero() && (mb.tick.IsZero() || !out.Next.Equal(mb.tick)) {
		mb.tick = out.Next
		n.push(simEvent{at: out.Next, kind: evTick, to: i, inc: mb.inc})
	}
}

func (n *simNet) runUntil(end time.Time) {
	for n.q.Len() > 0 && !n.q[0].at.After(end) {
		ev := heap.Pop(&n.q).(simEvent)
		n.now = ev.at
		mb := n.members[ev.to]
		if mb.m == nil || mb.inc != ev.inc {
			continue
		}
		switch ev.kind {
		case evDeliver:
			n.apply(ev.to, mb.m.Receive(n.now, ev.e))
		case evTick:
			if !ev.at.Equal(mb.tick) {
				continue // superseded
			}
			mb.tick = time.Time{}
			n.apply(ev.to, mb.m.Tick(n.now))
		}
	}
	n.now = end
}

func (n *simNet) start(i int) {
	mb := n.members[i]
	mb.inc++
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: mb.id, Mode: mb.mode, Seed: uint64(i*1000 + mb.inc)})
	if err != nil {
		n.t.Fatal(err)
	}
	mb.m, mb.tick = m, time.Time{}
	n.logf("%s starts (%s)", mb.id, mb.mode)
	n.apply(i, m.Start(n.now))
}

func (n *simNet) stop(i int, clean bool) {
	mb := n.members[i]
	n.logf("%s stops clean=%v", mb.id, clean)
	n.apply(i, mb.m.Shutdown(n.now, clean))
	mb.m = nil
	mb.inc++
}

// check returns the single leader every live member agrees on, or an error.
func (n *simNet) check() (string, error) {
	leader := ""
	var leaders []string
	for _, mb := range n.members {
		if mb.m != nil && mb.m.IsLeader() {
			leaders = append(leaders, mb.id)
		}
	}
	if len(leaders) != 1 {
		return "", fmt.Errorf("%d leaders: %q", len(leaders), leaders)
	}
	leader = leaders[0]
	for _, mb := range n.members {
		if mb.m == nil {
			continue
		}
		if id, _ := mb.m.Leader(); id != leader {
			return "", fmt.Errorf("%s follows %q, not %q", mb.id, id, leader)
		}
	}
	return leader, nil
}

func propertyCheck(t *rapid.T, modes func(i int) bellwether.ElectionMode) {
	n := &simNet{t: t, now: t0}
	count := rapid.IntRange(2, 7).Draw(t, "members")
	used := map[string]bool{}
	for i := 0; i < count; i++ {
		id := rapid.StringMatching(`[a-c0-9]{1,3}|[éa😀\x{ffff}]{1,2}`).Filter(func(s string) bool { return !used[s] }).Draw(t, "id")
		used[id] = true
		n.members = append(n.members, &simMember{id: id, mode: modes(i)})
	}
	// Chaos: a random schedule of faults over up to a minute.
	steps := rapid.IntRange(0, 25).Draw(t, "faults")
	for _, i := range rapid.Permutation(intsUpTo(count)).Draw(t, "startorder")[:rapid.IntRange(1, count).Draw(t, "initial")] {
		n.start(i)
	}
	for s := 0; s < steps; s++ {
		n.runUntil(n.now.Add(time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "gap"))))
		i := rapid.IntRange(0, count-1).Draw(t, "who")
		switch rapid.IntRange(0, 5).Draw(t, "fault") {
		case 0: // join or restart
			if n.members[i].m == nil {
				n.start(i)
			}
		case 1:
			if n.members[i].m != nil {
				n.stop(i, true)
			}
		case 2:
			if n.members[i].m != nil {
				n.stop(i, false)
			}
		case 3: // partition: move a member to side 0 or 1
			n.members[i].side = rapid.IntRange(0, 1).Draw(t, "side")
			n.logf("%s moves to side %d", n.members[i].id, n.members[i].side)
		case 4:
			n.loss = rapid.Float64Range(0, 0.5).Draw(t, "loss")
			n.logf("loss %.2f", n.loss)
		case 5: // heal
			for _, mb := range n.members {
				mb.side = 0
			}
			n.loss = 0
			n.logf("heal")
		}
	}
	// Quiet from here: connected, lossless, at least one member up.
	for _, mb := range n.members {
		mb.side = 0
	}
	n.loss = 0
	alive := false
	for _, mb := range n.members {
		alive = alive || mb.m != nil
	}
	if !alive {
		n.start(0)
	}
	n.logf("quiet")
	quiet := n.now
	n.runUntil(quiet.Add(convergeBound))
	leader, err := n.check()
	if err != nil {
		t.Fatalf("not converged %v after the network became quiet: %v\n%s", convergeBound, err, tail(n.log, 60))
	}
	n.counting = true
	n.runUntil(n.now.Add(stableFor))
	if n.changes != 0 {
		t.Fatalf("%d leadership changes in a connected quiet network after convergence on %q\n%s", n.changes, leader, tail(n.log, 60))
	}
	if l2, err := n.check(); err != nil || l2 != leader {
		t.Fatalf("leader changed from %q: %q %v", leader, l2, err)
	}
}

func intsUpTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func tail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestPropertyConvergesOnceQuietReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		propertyCheck(t, func(int) bellwether.ElectionMode { return bellwether.ModeReference })
	})
}

func TestPropertyConvergesOnceQuietQuietMode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		propertyCheck(t, func(int) bellwether.ElectionMode { return bellwether.ModeQuiet })
	})
}

func TestPropertyConvergesOnceQuietMixed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		propertyCheck(t, func(i int) bellwether.ElectionMode {
			if i%2 == 0 {
				return bellwether.ModeQuiet
			}
			return bellwether.ModeReference
		})
	})
}
