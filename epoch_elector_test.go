package bellwether_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

// epochLog records the epoch each leadership's job saw, at its start and
// whenever it changed while the job ran.
type epochLog struct {
	mu   sync.Mutex
	seen []epochSeen
}

type epochSeen struct {
	id    string
	epoch uint64
	start bool // the job's first reading
}

// job runs until its context ends, reading Epoch(ctx) every 100ms.
func (l *epochLog) job(id string) func(context.Context) {
	return func(ctx context.Context) {
		var last uint64
		for {
			ep, ok := bellwether.Epoch(ctx)
			if !ok {
				panic("Epoch: not a leadership context")
			}
			if ep != last {
				l.mu.Lock()
				l.seen = append(l.seen, epochSeen{id: id, epoch: ep, start: last == 0})
				l.mu.Unlock()
				last = ep
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (l *epochLog) starts() []epochSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []epochSeen
	for _, e := range l.seen {
		if e.start {
			s = append(s, e)
		}
	}
	return s
}

func (l *epochLog) startsOf(id string) []epochSeen {
	var s []epochSeen
	for _, e := range l.starts() {
		if e.id == id {
			s = append(s, e)
		}
	}
	return s
}

func (l *epochLog) last(id string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ep uint64
	for _, e := range l.seen {
		if e.id == id {
			ep = e.epoch
		}
	}
	return ep
}

// member is one Elector of these tests on a transport of its own, so that
// it can be cut off alone.
type member struct {
	t *mem.Transport
	e *bellwether.Elector
}

func joinMember(t *testing.T, h *mem.Hub, id string, l *epochLog, mut ...func(*bellwether.Config)) member {
	t.Helper()
	tr := h.NewTransport()
	f := func(c *bellwether.Config) {
		c.Value = id + ":8080"
		c.Callbacks.OnStartedLeading = l.job(id)
	}
	return member{t: tr, e: join(t, plainBus{tr}, id, nil, append([]func(*bellwether.Config){f}, mut...)...)}
}

// wantView checks that every member sees leader at epoch, with its value.
func wantView(t *testing.T, leader string, epoch uint64, ms ...member) {
	t.Helper()
	for _, m := range ms {
		s := m.e.Status()
		if s.Leader != leader || s.Epoch != epoch || s.Value != leader+":8080" {
			t.Fatalf("%s sees leader %q at epoch %d, value %q; want %q at %d, %q", m.e.ID(), s.Leader, s.Epoch, s.Value, leader, epoch, leader+":8080")
		}
	}
}

// TestElectorEpochsGrowOverEveryChangeOfLeader: a first leadership, a
// clean handover (Resign), a failover from a member that fell silent and
// a restart of the whole group each give a greater epoch, which every
// member sees with the leader's value, and which the job reads with
// Epoch(ctx).
func TestElectorEpochsGrowOverEveryChangeOfLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mem.NewHub()
		var l epochLog
		a, b, c := joinMember(t, h, "a", &l), joinMember(t, h, "b", &l), joinMember(t, h, "c", &l)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		e1 := a.e.Status().Epoch
		if e1 == 0 || l.last("a") != e1 {
			t.Fatalf("a leads at epoch %d; its job read %d", e1, l.last("a"))
		}
		wantView(t, "a", e1, a, b, c)

		// A clean handover.
		if err := a.e.Resign(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		e2 := b.e.Status().Epoch
		wantView(t, "b", e2, a, b, c)

		// b falls silent: its sends fail and it hears nobody.
		b.t.FailSends(errBusDown)
		h.Partition([]*mem.Transport{b.t})
		time.Sleep(20 * time.Second)
		synctest.Wait()
		e3 := a.e.Status().Epoch
		wantView(t, "a", e3, a, c)
		closeAll(t, a.e, b.e, c.e)

		// The whole group restarts, with nothing kept.
		time.Sleep(time.Minute)
		h2 := mem.NewHub()
		a2, b2 := joinMember(t, h2, "a", &l), joinMember(t, h2, "b", &l)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		e4 := a2.e.Status().Epoch
		wantView(t, "a", e4, a2, b2)
		closeAll(t, a2.e, b2.e)

		starts := l.starts()
		var got []uint64
		for _, s := range starts {
			got = append(got, s.epoch)
		}
		want := []uint64{e1, e2, e3, e4}
		if len(got) != len(want) {
			t.Fatalf("jobs started at epochs %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] || i > 0 && got[i] <= got[i-1] {
				t.Fatalf("jobs started at epochs %v, want %v, increasing", got, want)
			}
		}
	})
}

// TestElectorEpochAfterAPartitionHeals: both sides of a partition elect a
// leader; when it heals, the survivor's epoch exceeds both sides', its job
// sees the rise through Epoch(ctx), and every member sees the survivor, its
// epoch and its value. In both election modes, and whichever side's epoch
// was higher.
func TestElectorEpochAfterAPartitionHeals(t *testing.T) {
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference} {
		for _, later := range []string{"a", "b"} {
			t.Run(mode.String()+"/"+later+"_won_later", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := mem.NewHub()
					var l epochLog
					setMode := func(c *bellwether.Config) { c.Mode = mode }
					first, second := "b", "a"
					if later == "b" {
						first, second = "a", "b"
					}
					side := map[string]member{}
					side[first] = joinMember(t, h, first, &l, setMode)
					side[first+"2"] = joinMember(t, h, first+"2", &l, setMode)
					h.Partition([]*mem.Transport{side[first].t, side[first+"2"].t})
					time.Sleep(10 * time.Second)
					side[second] = joinMember(t, h, second, &l, setMode)
					side[second+"2"] = joinMember(t, h, second+"2", &l, setMode)
					time.Sleep(10 * time.Second)
					synctest.Wait()
					ea, eb := side["a"].e.Status().Epoch, side["b"].e.Status().Epoch
					if !side["a"].e.IsLeader() || !side["b"].e.IsLeader() || ea == 0 || eb == 0 {
						t.Fatalf("before the heal: a leads %v at %d, b leads %v at %d; want both leading", side["a"].e.IsLeader(), ea, side["b"].e.IsLeader(), eb)
					}
					h.Heal()
					time.Sleep(10 * time.Second)
					synctest.Wait()
					e := side["a"].e.Status().Epoch
					if !side["a"].e.IsLeader() || side["b"].e.IsLeader() {
						t.Fatal("after the heal a should lead alone")
					}
					if e <= ea || e <= eb {
						t.Fatalf("survivor's epoch %d, not above both sides' (%d, %d)", e, ea, eb)
					}
					if l.last("a") != e {
						t.Fatalf("a's job reads epoch %d, want %d", l.last("a"), e)
					}
					// One job of a saw it all: the epoch rose during one
					// leadership.
					if n := len(l.startsOf("a")); n != 1 {
						t.Fatalf("a's job started %d times, want once", n)
					}
					all := []member{side["a"], side["a2"], side["b"], side["b2"]}
					wantView(t, "a", e, all...)
					for _, m := range all {
						closeAll(t, m.e)
					}
				})
			})
		}
	}
}

// TestElectorPreemptionHandsOverCleanly: a member with Preempt and the
// smallest id joins a group led by a larger id; the old leader's job stops
// before the new leader's starts, and the new epoch is greater.
func TestElectorPreemptionHandsOverCleanly(t *testing.T) {
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := mem.NewHub()
				var j jobs
				var l epochLog
				withJob := func(id string, stop time.Duration) func(*bellwether.Config) {
					return func(c *bellwether.Config) {
						c.Mode = mode
						epochs := l.job(id)
						run := j.job(id, stop)
						c.Callbacks.OnStartedLeading = func(ctx context.Context) {
							go epochs(ctx)
							run(ctx)
						}
					}
				}
				b := joinMember(t, h, "b", &l, withJob("b", 3*time.Second))
				c := joinMember(t, h, "c", &l, withJob("c", 0))
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if !b.e.IsLeader() {
					t.Fatal("b does not lead")
				}
				eb := b.e.Status().Epoch
				a := joinMember(t, h, "a", &l, withJob("a", 0), func(c *bellwether.Config) { c.Preempt = true })
				time.Sleep(20 * time.Second)
				synctest.Wait()
				if !a.e.IsLeader() {
					t.Fatalf("a, preempting, does not lead; jobs: %v", &j)
				}
				if ov := j.overlap(); ov != 0 {
					t.Fatalf("jobs overlapped for %v: %v", ov, &j)
				}
				if j.count("b") != 1 || j.count("a") != 1 {
					t.Fatalf("jobs: %v; want b's, then a's", &j)
				}
				ea := a.e.Status().Epoch
				if ea <= eb {
					t.Fatalf("a's epoch %d, not above b's %d", ea, eb)
				}
				wantView(t, "a", ea, a, b, c)
				// It stays settled: b does not take the office back.
				time.Sleep(time.Minute)
				synctest.Wait()
				if !a.e.IsLeader() || j.count("a") != 1 {
					t.Fatalf("not settled after a minute: %v", &j)
				}
				closeAll(t, a.e, b.e, c.e)
			})
		})
	}
}

// TestElectorPreemptDoesNotAskAReferenceLeader: a reference client (here
// the reference's port, a Manager's messages without epochs) cannot be
// asked to hand over; the preempting member follows it.
func TestElectorPreemptFollowsAReferenceLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mem.NewHub()
		bus := h.NewTransport()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		conn, err := bus.Join(ctx, "g")
		if err != nil {
			t.Fatal(err)
		}
		// "b" heartbeats as a reference leader and counts the takeover
		// requests it hears.
		var asked atomicCount
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				msg, err := conn.Recv(ctx)
				if err != nil {
					return
				}
				if e, err := bellwether.ParseEvent(msg); err == nil && e.Takeover != "" {
					asked.add()
				}
			}
		}()
		go func() {
			defer wg.Done()
			msg := bellwether.NewEvent(bellwether.ActionCurrent, "b").AppendJSON(nil)
			for ctx.Err() == nil {
				conn.Send(ctx, msg)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
		var l epochLog
		a := joinMember(t, h, "a", &l, func(c *bellwether.Config) { c.Preempt = true })
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if s := a.e.Status(); s.Leader != "b" || s.Epoch != 0 || s.Value != "" {
			t.Fatalf("a's view: %+v; want b, no epoch, no value", s)
		}
		if n := asked.get(); n != 0 {
			t.Fatalf("a asked a reference leader to hand over %d times", n)
		}
		closeAll(t, a.e)
		cancel()
		wg.Wait()
		conn.Close()
	})
}

func TestJoinRejectsABadValue(t *testing.T) {
	for _, v := range []string{strings.Repeat("v", bellwether.MaxValueLength+1), "\xff"} {
		_, err := bellwether.Join(context.Background(), newBus(), bellwether.Config{ID: "a", Group: "g", Value: v})
		if err == nil || !strings.Contains(err.Error(), "Value") {
			t.Errorf("Value %q: err = %v, want one naming Value", v, err)
		}
	}
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestElectorAnswersRequestsAtABoundedRate: however many requests arrive,
// forged or not, a leader answers at most one current per
// ElectionTimeout/4 beyond its heartbeats, and a member electing in
// ModeReference at most one accept per ElectionTimeout/4; a flood from one
// sender is counted. Without the bound (the Manager, as the reference)
// every request is answered.
func TestElectorAnswersRequestsAtABoundedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := mem.NewHub()
		a := join(t, plainBus{h.NewTransport()}, "a", nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !a.IsLeader() {
			t.Fatal("a does not lead")
		}
		tap, err := h.NewTransport().Join(context.Background(), "g")
		if err != nil {
			t.Fatal(err)
		}
		before := a.Stats()
		// 2,000 requests over two seconds, from one sender and from many.
		for i := 0; i < 2000; i++ {
			id := "flood"
			if i%2 == 1 {
				id = fmt.Sprintf("x%d", i)
			}
			tap.Send(context.Background(), bellwether.NewEvent(bellwether.ActionRequest, id).AppendJSON(nil))
			time.Sleep(time.Millisecond)
			synctest.Wait()
		}
		after := a.Stats()
		sent := after.Sent[bellwether.ActionCurrent] - before.Sent[bellwether.ActionCurrent]
		// Two seconds: one heartbeat (HeartbeatInterval 1s... 2s by
		// default: at most 2) plus at most one answer per 250ms.
		if limit := uint64(2 + 2*4 + 1); sent > limit {
			t.Errorf("the leader sent %d currents in 2s of requests, want at most %d", sent, limit)
		}
		if sent < 4 {
			t.Errorf("the leader sent %d currents: requests must still be answered", sent)
		}
		if n := after.Flooded - before.Flooded; n < 900 {
			t.Errorf("Flooded = %d, want the one sender's thousand requests beyond the limit", n)
		}
		tap.Close()
		closeAll(t, a)
	})
}
