package bellwether_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/timings"
)

// jobs records, in (virtual) time, when each member's job ran.
type jobs struct {
	mu   sync.Mutex
	runs []jobRun
}

type jobRun struct {
	id         string
	start, end time.Time // end is zero while it runs
}

// job returns an OnStartedLeading for id that runs until its context ends,
// then takes stop to wind down.
func (j *jobs) job(id string, stop time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		j.mu.Lock()
		i := len(j.runs)
		j.runs = append(j.runs, jobRun{id: id, start: time.Now()})
		j.mu.Unlock()
		<-ctx.Done()
		time.Sleep(stop)
		j.mu.Lock()
		j.runs[i].end = time.Now()
		j.mu.Unlock()
	}
}

// overlap returns how long two or more jobs ran at once, up to now.
func (j *jobs) overlap() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	var total time.Duration
	now := time.Now()
	for i, a := range j.runs {
		for _, b := range j.runs[i+1:] {
			ae, be := a.end, b.end
			if ae.IsZero() {
				ae = now
			}
			if be.IsZero() {
				be = now
			}
			lo, hi := a.start, ae
			if b.start.After(lo) {
				lo = b.start
			}
			if be.Before(hi) {
				hi = be
			}
			if hi.After(lo) {
				total += hi.Sub(lo)
			}
		}
	}
	return total
}

func (j *jobs) count(id string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, r := range j.runs {
		if r.id == id {
			n++
		}
	}
	return n
}

func (j *jobs) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for _, r := range j.runs {
		fmt.Fprintf(&b, "%s[%v..%v] ", r.id, r.start.Format("05.000"), r.end.Format("05.000"))
	}
	return b.String()
}

var shortSettings = timings.Tight

// TestElectorLeaseNoTwoJobsWhenTheLeadersBroadcastsFail: the leader's bus
// stops taking its broadcasts (it still hears the others) at several
// phases of its heartbeat. Its job's context is cancelled before another
// member's job starts, at default and short timings. (Before the lease, the
// old leader stepped down only once a failed send found the failure older
// than HeartbeatTimeout: about 3s with two jobs by default.)
func TestElectorLeaseNoTwoJobsWhenTheLeadersBroadcastsFail(t *testing.T) {
	for _, tm := range []struct {
		name string
		s    bellwether.Settings
	}{{"default", bellwether.Settings{}}, {"short", shortSettings}} {
		s := tm.s.WithDefaults()
		for _, phase := range []float64{0, 0.25, 0.5, 0.75, 0.99} {
			t.Run(fmt.Sprintf("%s/phase%.2f", tm.name, phase), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					b := newBus()
					var j jobs
					var es []*bellwether.Elector
					for _, id := range []string{"a", "b", "c"} {
						es = append(es, join(t, b, id, nil, func(c *bellwether.Config) {
							c.Settings = tm.s
							c.Callbacks.OnStartedLeading = j.job(id, 0)
						}))
					}
					awaitLeadership(t, es[0])
					time.Sleep(3*s.HeartbeatInterval + time.Duration(phase*float64(s.HeartbeatInterval)))
					b.Hub().Members("g")[0].FailSends(errBusDown) // the first to join
					time.Sleep(s.HeartbeatTimeout + 4*s.ElectionTimeout + 2*s.HeartbeatInterval)
					synctest.Wait()
					if j.count("b") == 0 {
						t.Fatalf("b never took over: %v", &j)
					}
					if es[0].IsLeader() {
						t.Fatal("a still leads")
					}
					if o := j.overlap(); o != 0 {
						t.Fatalf("two jobs ran at once for %v: %v", o, &j)
					}
					closeAll(t, es...)
				})
			})
		}
	}
}

// TestElectorTwoMembersWithOneID: a second member given the leader's id.
// The leader hears it and stands aside at once, says why in Health and
// counts it; it leads no more while it hears its id. The twin, which may
// not have heard the other (a silent member is not heard), can then lead
// the group: never both, and no two jobs at once. Before, both led.
func TestElectorTwoMembersWithOneID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var j jobs
		a := join(t, b, "a", nil, func(c *bellwether.Config) { c.Callbacks.OnStartedLeading = j.job("a", 0) })
		z := join(t, b, "z", nil, func(c *bellwether.Config) { c.Callbacks.OnStartedLeading = j.job("z", 0) })
		awaitLeadership(t, a)
		twin := join(t, b, "a", nil, func(c *bellwether.Config) { c.Callbacks.OnStartedLeading = j.job("a'", 0) })
		time.Sleep(time.Second)
		synctest.Wait()
		if a.IsLeader() || twin.IsLeader() {
			t.Fatal("a member whose id is used twice leads")
		}
		if err := a.Health(); err == nil || !strings.Contains(err.Error(), `uses this member's id "a"`) {
			t.Fatalf("Health() = %v", err)
		}
		if a.Stats().Rejected[bellwether.ReasonOwnID] == 0 {
			t.Fatal("own_id not counted")
		}
		for i := 0; i < 60; i++ {
			time.Sleep(time.Second)
			synctest.Wait()
			if a.IsLeader() && twin.IsLeader() {
				t.Fatal("both members of one id lead")
			}
		}
		if j.count("a") != 1 {
			t.Fatalf("the first a led again while its id was used twice: %v", &j)
		}
		if n := j.count("a'") + j.count("z"); n != 1 {
			t.Fatalf("%d takeovers, want one: %v", n, &j)
		}
		if twin.IsLeader() {
			// Its heartbeats keep the first a aside, and unhealthy.
			if err := a.Health(); err == nil {
				t.Fatal("the first a reports healthy while it hears its id")
			}
		}
		if o := j.overlap(); o != 0 {
			t.Fatalf("two jobs ran at once for %v: %v", o, &j)
		}
		closeAll(t, a, twin, z)
	})
}

// TestElectorCloseConcurrently: Close from the program and from the job,
// in both orders, and from many goroutines at once, never deadlocks, and
// every call returns once the job has returned.
func TestElectorCloseConcurrently(t *testing.T) {
	for _, order := range []string{"program first", "job first"} {
		t.Run(order, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBus()
				var e *bellwether.Elector
				jobReturned := make(chan struct{})
				quit := make(chan struct{})
				e = join(t, b, "a", nil, func(c *bellwether.Config) {
					c.Callbacks.OnStartedLeading = func(ctx context.Context) {
						defer close(jobReturned)
						defer e.Close(ctx) // a deferred clean-up in the job
						select {
						case <-ctx.Done():
						case <-quit:
						}
						time.Sleep(time.Second)
					}
				})
				awaitLeadership(t, e)
				synctest.Wait() // the job runs
				if order == "job first" {
					close(quit)
					time.Sleep(10 * time.Millisecond)
				}
				var wg sync.WaitGroup
				var early atomic.Int32
				for i := 0; i < 5; i++ {
					wg.Go(func() {
						if err := e.Close(context.Background()); err != nil {
							t.Error(err)
						}
						select {
						case <-jobReturned:
						default:
							early.Add(1)
						}
					})
				}
				wg.Wait()
				if early.Load() != 0 {
					t.Fatalf("%d Close calls returned before the job", early.Load())
				}
				if _, ok := e.Leader(); ok || e.Status().Leader != "" || e.IsLeader() {
					t.Fatalf("status after Close = %+v", e.Status())
				}
			})
		})
	}
}

func TestElectorCloseFromOnNewLeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var e *bellwether.Elector
		returned := make(chan error, 1)
		ready := make(chan struct{})
		e = join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnNewLeader = func(id string) {
				<-ready
				if id == "a" {
					returned <- e.Close(context.Background())
				}
			}
		})
		close(ready)
		if err := <-returned; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := b.Hub().Stats().Sent; n < 3 { // request, current, withdraw
			t.Fatalf("sent %d messages", n)
		}
	})
}

// TestElectorResignWaitsForTheJob: Resign returns after the job returned
// and the withdrawal went out; the next leader's job starts after ours
// stopped. Before, Resign returned at once and withdrew while the job ran.
func TestElectorResignWaitsForTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var j jobs
		a := join(t, b, "a", nil, func(c *bellwether.Config) { c.Callbacks.OnStartedLeading = j.job("a", 3*time.Second) })
		bb := join(t, b, "b", nil, func(c *bellwether.Config) { c.Callbacks.OnStartedLeading = j.job("b", 0) })
		awaitLeadership(t, a)
		synctest.Wait() // the job runs
		start := time.Now()
		if err := a.Resign(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 3*time.Second {
			t.Fatalf("Resign returned after %v, before the job's 3s wind-down", d)
		}
		awaitLeadership(t, bb)
		if o := j.overlap(); o != 0 {
			t.Fatalf("two jobs ran at once for %v: %v", o, &j)
		}
		// A Resign that gives up waiting still withdraws once the job is done.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := bb.Resign(ctx); err != nil { // b's job stops at once
			t.Fatal(err)
		}
		closeAll(t, a, bb)
		if err := a.Resign(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Resign after Close = %v", err)
		}
	})
}

// TestElectorWatchOneStatusPerChange: the leader and whether this member
// leads change together.
func TestElectorWatchOneStatusPerChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		a := join(t, b, "a", nil)
		var mu sync.Mutex
		var seen []bellwether.Status
		ch := a.Watch(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for s := range ch {
				mu.Lock()
				seen = append(seen, s)
				mu.Unlock()
			}
		}()
		other := join(t, b, "0", nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		closeAll(t, other) // a takes over
		time.Sleep(10 * time.Second)
		synctest.Wait()
		closeAll(t, a)
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, s := range seen {
			if s.IsLeader != (s.Leader == "a") {
				t.Fatalf("half a change: %+v (all: %+v)", s, seen)
			}
		}
		if !slices.ContainsFunc(seen, func(s bellwether.Status) bool { return s.IsLeader }) {
			t.Fatalf("never led: %+v", seen)
		}
	})
}

// deafConn is a Conn whose socket reader can be made to fail: Recv then
// returns an error, at once and on every call, as a real transport does.
// (It hides the mem Conn's Health, as a bus with no health report.)
type deafConn struct {
	bellwether.Conn
	mu     sync.Mutex
	broke  chan struct{} // closed while deaf
	closed chan struct{} // closed by Close
	once   sync.Once
}

func (c *deafConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

var errDeaf = errors.New("socket reader failed")

func (c *deafConn) setDeaf(deaf bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.broke:
		if !deaf {
			c.broke = make(chan struct{})
		}
	default:
		if deaf {
			close(c.broke)
		}
	}
}

func (c *deafConn) Recv(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	broke := c.broke
	c.mu.Unlock()
	if err := c.fault(broke); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-broke:
			cancel()
		case <-ctx.Done():
		}
	}()
	m, err := c.Conn.Recv(ctx)
	if err := c.fault(broke); err != nil {
		return nil, err
	}
	return m, err
}

// fault is what Recv returns instead of a message: ErrClosed after Close,
// the reader's failure while deaf, else nil.
func (c *deafConn) fault(broke <-chan struct{}) error {
	select {
	case <-c.closed:
		return bellwether.ErrClosed
	case <-broke:
		return errDeaf
	default:
		return nil
	}
}

type deafBus struct {
	bellwether.Transport
	conns []*deafConn
}

func (b *deafBus) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	c, err := b.Transport.Join(ctx, group)
	if err != nil {
		return nil, err
	}
	d := &deafConn{Conn: c, broke: make(chan struct{}), closed: make(chan struct{})}
	b.conns = append(b.conns, d)
	return d, nil
}

// TestElectorDeafMemberStandsAside: a member whose receiving fails reports
// it in Health and does not stand, even alone; a deaf leader steps down.
// Before, a deaf member reported nil, elected itself and led.
func TestElectorDeafMemberStandsAside(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := deafBus{Transport: newBus()}
		e, err := bellwether.Join(context.Background(), &b, bellwether.Config{ID: "a", Group: "g", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		b.conns[0].setDeaf(true)
		time.Sleep(time.Minute)
		synctest.Wait()
		if e.IsLeader() {
			t.Fatal("a deaf member led")
		}
		if err := e.Health(); !errors.Is(err, errDeaf) {
			t.Fatalf("Health() = %v, want the receive error", err)
		}
		b.conns[0].setDeaf(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !e.IsLeader() || e.Health() != nil {
			t.Fatalf("after hearing again: leading %v, health %v", e.IsLeader(), e.Health())
		}
		// A leader that goes deaf steps down.
		b.conns[0].setDeaf(true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if e.IsLeader() {
			t.Fatal("a deaf leader kept leading")
		}
		closeAll(t, e)
	})
}

// floodConn delivers n copies of msg as fast as the member reads, and
// takes slow for every Send: a leader on a slow bus under a flood.
type floodConn struct {
	msgs   func(i int) []byte
	n      int
	start  chan struct{}
	slow   time.Duration
	closed chan struct{}
	once   sync.Once
	i      atomic.Int64 // messages delivered; read by the test while the receiver runs
}

func (c *floodConn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-time.After(c.slow):
		return nil
	case <-c.closed:
		return bellwether.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *floodConn) Recv(ctx context.Context) ([]byte, error) {
	if c.i.Load() == 0 {
		select {
		case <-c.start:
		case <-c.closed:
			return nil, bellwether.ErrClosed
		}
	}
	if i := c.i.Load(); i < int64(c.n) {
		c.i.Store(i + 1)
		return c.msgs(int(i + 1)), nil
	}
	select {
	case <-c.closed:
		return nil, bellwether.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *floodConn) MaxMessageSize() int { return 64 << 10 }
func (c *floodConn) Close() error        { c.once.Do(func() { close(c.closed) }); return nil }

type floodBus struct{ c *floodConn }

func (b floodBus) Join(context.Context, string) (bellwether.Conn, error) { return b.c, nil }
func (b floodBus) Close() error                                          { return nil }

// flood lets the flood through and fails t if it grew the heap by more
// than a few MB.
func (c *floodConn) flood(t *testing.T, what string) {
	t.Helper()
	const limit = 4 << 20
	before := heapInUse()
	close(c.start)
	for c.i.Load() < int64(c.n) { // the flood runs in virtual time: wait for it
		time.Sleep(time.Millisecond)
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %.2f MB over %s", float64(grew)/(1<<20), what)
	if grew > limit {
		t.Fatalf("heap grew by %d bytes over %s", grew, what)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestElectorFloodsCostNoMemory: 300,000 requests to a leader whose bus
// takes a second per send, and 60,000 accepts with 900-byte ids during an
// election, each grow the heap by no more than a few MB. (Before, one
// answer was queued per request, 26 MB, and every candidate kept, 61 MB.)
func TestElectorFloodsCostNoMemory(t *testing.T) {
	t.Run("requests to a leader on a slow bus", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &floodConn{n: 300_000, start: make(chan struct{}), slow: time.Second, closed: make(chan struct{}),
				msgs: func(i int) []byte {
					return []byte(fmt.Sprintf(`{"type":"leader","action":"request","clientId":"r%d"}`, i))
				}}
			e, err := bellwether.Join(context.Background(), floodBus{c}, bellwether.Config{ID: "a", Group: "g", Logger: quietLogger,
				Settings: bellwether.Settings{HeartbeatTimeout: 20 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			awaitLeadership(t, e)
			c.flood(t, fmt.Sprintf("%d requests", c.n))
			if !e.IsLeader() {
				t.Fatal("the flood unseated the leader")
			}
			closeAll(t, e)
		})
	})
	t.Run("alternating broadcasts on a slow bus", func(t *testing.T) {
		// current from a, withdraw from a, request from b, over and over:
		// the member sends request, accept, request, accept ... and its
		// bus takes a second per send.
		synctest.Test(t, func(t *testing.T) {
			cycle := []string{
				`{"type":"leader","action":"current","clientId":"a"}`,
				`{"type":"leader","action":"withdraw","clientId":"a"}`,
				`{"type":"leader","action":"request","clientId":"b"}`,
			}
			c := &floodConn{n: 300_000, start: make(chan struct{}), slow: time.Second, closed: make(chan struct{}),
				msgs: func(i int) []byte { return []byte(cycle[i%3]) }}
			e, err := bellwether.Join(context.Background(), floodBus{c}, bellwether.Config{ID: "zz", Group: "g", Logger: quietLogger, Mode: bellwether.ModeReference})
			if err != nil {
				t.Fatal(err)
			}
			c.flood(t, fmt.Sprintf("%d messages", c.n))
			closeAll(t, e)
		})
	})
	t.Run("keyed leader under forged and garbage messages", func(t *testing.T) {
		// A keyed leader on a slow bus hears 200,000 messages it cannot
		// verify: unsigned forgeries, signatures with a wrong key, a
		// changed id or an unknown key id, and plain garbage. It keeps
		// its office, its heap stays put, and every one is counted.
		synctest.Test(t, func(t *testing.T) {
			r, _ := bellwether.NewKeyring(bytes.Repeat([]byte{1}, 32))
			other, _ := bellwether.NewKeyring(bytes.Repeat([]byte{2}, 32))
			forge := bellwether.NewSigner(other, "g")
			signed := bellwether.NewSigner(r, "g")(bellwether.NewEvent(bellwether.ActionWithdraw, "b"), time.Now())
			changed := bytes.Replace(signed, []byte(`"clientId":"b"`), []byte(`"clientId":"!"`), 1)
			c := &floodConn{n: 200_000, start: make(chan struct{}), slow: time.Second, closed: make(chan struct{}),
				msgs: func(i int) []byte {
					switch i % 4 {
					case 0:
						return []byte(fmt.Sprintf(`{"type":"leader","action":"current","clientId":"!%d"}`, i))
					case 1:
						return forge(bellwether.NewEvent(bellwether.ActionWithdraw, "a"), time.Now())
					case 2:
						return changed
					}
					return []byte(fmt.Sprintf(`{"type":"leader","action":%d`, i))
				}}
			e, err := bellwether.Join(context.Background(), floodBus{c}, bellwether.Config{ID: "a", Group: "g", Logger: quietLogger, Keys: r,
				Settings: bellwether.Settings{HeartbeatTimeout: 20 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.AwaitLeadership(context.Background()); err != nil {
				t.Fatal(err)
			}
			c.flood(t, fmt.Sprintf("%d unverifiable messages", c.n))
			if !e.IsLeader() {
				t.Fatal("the flood unseated the keyed leader")
			}
			st := e.Stats()
			if got := st.Rejected[bellwether.ReasonUnsigned] + st.Rejected[bellwether.ReasonUnknownKey] + st.Rejected[bellwether.ReasonBadMAC] + st.Rejected[bellwether.ReasonSyntax]; got != uint64(c.n) {
				t.Fatalf("rejected %d of %d: %v", got, c.n, st.Rejected)
			}
			closeAll(t, e)
		})
	})
	t.Run("accepts with long ids during an election", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			pad := strings.Repeat("x", 890)
			c := &floodConn{n: 60_000, start: make(chan struct{}), closed: make(chan struct{}),
				msgs: func(i int) []byte {
					return []byte(fmt.Sprintf(`{"type":"leader","action":"accept","clientId":"%s%09d"}`, pad, 60_000-i))
				}}
			e, err := bellwether.Join(context.Background(), floodBus{c}, bellwether.Config{ID: "zz", Group: "g", Logger: quietLogger, Mode: bellwether.ModeReference})
			if err != nil {
				t.Fatal(err)
			}
			c.flood(t, fmt.Sprintf("%d accepts of %d-byte ids", c.n, len(pad)+9))
			time.Sleep(2 * time.Second) // the election (1s) is over
			if id, _ := e.Leader(); id != pad+"000000000" {
				t.Fatalf("leader %.20q..., want the smallest candidate", id)
			}
			closeAll(t, e)
		})
	})
}

// Close on another goroutine while OnNewLeader runs waits for it, callbacks
// included; only a Close from inside the callback returns without waiting
// for its caller (TestElectorCloseFromCallback). It took any Close during a
// callback for one from inside and returned with the callback still
// running.
func TestElectorCloseWhileCallbackRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		release := make(chan struct{})
		var mu sync.Mutex
		var calls []string
		e := join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnNewLeader = func(id string) {
				mu.Lock()
				calls = append(calls, "new leader "+id)
				mu.Unlock()
				if id == "a" {
					<-release // slow user code
				}
			}
			c.Callbacks.OnStoppedLeading = func() {
				mu.Lock()
				calls = append(calls, "stopped leading")
				mu.Unlock()
			}
		})
		awaitLeadership(t, e)
		synctest.Wait() // OnNewLeader("a") runs
		got := waitsForCallback(t, release, func() {
			if err := e.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}, func() []string {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(calls)
		})
		// The job's turn came after OnNewLeader, once Close had begun: it
		// never started, so no OnStoppedLeading is owed.
		if want := []string{"new leader a"}; !slices.Equal(got, want) {
			t.Fatalf("callbacks when Close returned = %q, want %q", got, want)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(calls, got) {
			t.Fatalf("callbacks after Close returned: %q", calls[len(got):])
		}
	})
}
