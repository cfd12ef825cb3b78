package bellwether_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

var errBusDown = errors.New("bus is down")

// newBus returns the Elector tests' bus: a Transport on a mem hub of its
// own. Made inside a synctest bubble, it runs in virtual time.
func newBus() plainBus { return plainBus{mem.NewHub().NewTransport()} }

// plainBus hands out mem Conns without their Health: a bus that reports
// no health of its own, so that a failed Send is all an Elector learns of
// a FailSends. (TestElectorHealthFollowsTheTransportAfterAnOutage uses mem
// with its Health.)
type plainBus struct{ *mem.Transport }

func (b plainBus) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	c, err := b.Transport.Join(ctx, group)
	if err != nil {
		return nil, err
	}
	return struct{ bellwether.Conn }{c}, nil
}

func TestElectorHealthFollowsTheTransportAfterAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mem.NewHub().NewTransport() // with Health, as real transports
		leader, err := bellwether.Join(context.Background(), b, bellwether.Config{ID: "a", Group: "g", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		awaitLeadership(t, leader)
		synctest.Wait() // the leader's announcement is out
		// A follower joins during an outage of its connection: its first
		// request fails. (Quiet mode sends it after a jitter, so the
		// outage is in place first.) Its long election timeout lets it
		// hear the leader's next heartbeat first, after which it has
		// nothing to send.
		f, err := bellwether.Join(context.Background(), b, bellwether.Config{ID: "b", Group: "g", Logger: quietLogger,
			Settings: bellwether.Settings{ElectionTimeout: 3 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		h := b.Hub().Members("g")[1]
		h.FailSends(errBusDown) // Send fails and Health says so
		time.Sleep(time.Second)
		synctest.Wait()
		if err := f.Health(); !errors.Is(err, errBusDown) {
			t.Fatalf("Health() during the outage = %v", err)
		}
		if f.Stats().SendErrors != 1 {
			t.Fatalf("send errors = %d, want 1", f.Stats().SendErrors)
		}
		// The bus comes back; the follower has nothing to send.
		h.FailSends(nil)
		synctest.Wait()
		if err := f.Health(); !errors.Is(err, errBusDown) {
			t.Fatalf("Health() just after = %v, want the send error for one heartbeat interval", err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if err := f.Health(); err != nil {
			t.Fatalf("Health() after the outage = %v, want the transport's nil", err)
		}
		if id, _ := f.Leader(); id != "a" {
			t.Fatalf("follower knows %q", id)
		}
		closeAll(t, f, leader)
	})
}

// recorder records an Elector's callbacks in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	ctxs   []context.Context
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) callbacks() bellwether.Callbacks {
	return bellwether.Callbacks{
		OnStartedLeading: func(ctx context.Context) {
			r.mu.Lock()
			r.ctxs = append(r.ctxs, ctx)
			r.events = append(r.events, "started")
			r.mu.Unlock()
			<-ctx.Done()
			r.add("job done")
		},
		OnStoppedLeading: func() { r.add("stopped") },
		OnNewLeader:      func(id string) { r.add("leader=" + id) },
	}
}

func join(t *testing.T, b bellwether.Transport, id string, r *recorder, mut ...func(*bellwether.Config)) *bellwether.Elector {
	t.Helper()
	cfg := bellwether.Config{ID: id, Group: "g", Logger: quietLogger}
	if r != nil {
		cfg.Callbacks = r.callbacks()
	}
	for _, f := range mut {
		f(&cfg)
	}
	e, err := bellwether.Join(context.Background(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// awaitLeadership waits until e leads, failing the test if e closes first.
// soloLeader joins id alone on a new bus, recording its callbacks in r,
// and returns the bus and the Elector once it leads.
func soloLeader(t *testing.T, id string, r *recorder) (plainBus, *bellwether.Elector) {
	t.Helper()
	b := newBus()
	e := join(t, b, id, r)
	awaitLeadership(t, e)
	return b, e
}

// leaderAndFollower joins lead, recording its callbacks in r, and follow
// (the larger id) on a new bus, and returns the bus and both once lead
// leads.
func leaderAndFollower(t *testing.T, lead, follow string, r *recorder) (plainBus, *bellwether.Elector, *bellwether.Elector) {
	t.Helper()
	b := newBus()
	e := join(t, b, lead, r)
	f := join(t, b, follow, nil)
	awaitLeadership(t, e)
	return b, e, f
}

func awaitLeadership(t *testing.T, e *bellwether.Elector) {
	t.Helper()
	if err := e.AwaitLeadership(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func closeAll(t *testing.T, es ...*bellwether.Elector) {
	t.Helper()
	for _, e := range es {
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestElectorElectsAndHandsOver(t *testing.T) {
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBus()
				var ra, rb, rc recorder
				setMode := func(c *bellwether.Config) { c.Mode = mode }
				ea := join(t, b, "a", &ra, setMode)
				eb := join(t, b, "b", &rb, setMode)
				ec := join(t, b, "c", &rc, setMode)
				// A new member does not win before it has listened for the
				// lease's length (HeartbeatTimeout - ElectionTimeout/2).
				ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
				defer cancel()
				if err := ea.AwaitLeadership(ctx); err != nil {
					t.Fatalf("a never led: %v", err)
				}
				synctest.Wait()
				for _, e := range []*bellwether.Elector{ea, eb, ec} {
					if id, ok := e.Leader(); !ok || id != "a" {
						t.Errorf("%s: Leader() = %q, %v", e.ID(), id, ok)
					}
				}
				if !ea.IsLeader() || eb.IsLeader() || ec.IsLeader() {
					t.Fatal("IsLeader wrong")
				}
				if got := ra.get(); !slices.Equal(got, []string{"leader=a", "started"}) {
					t.Fatalf("a's callbacks = %q", got)
				}
				if got := rb.get(); !slices.Equal(got, []string{"leader=a"}) {
					t.Fatalf("b's callbacks = %q", got)
				}
				// A clean close stops a's job first, then hands over within the
				// election timeout (plus quiet mode's jitter).
				start := time.Now()
				ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				closeAll(t, ea)
				if got := ra.get(); !slices.Equal(got, []string{"leader=a", "started", "job done", "stopped"}) {
					t.Fatalf("a's callbacks after Close = %q", got)
				}
				if err := eb.AwaitLeadership(ctx); err != nil {
					t.Fatalf("b did not take over: %v", err)
				}
				if d := time.Since(start); d > 1500*time.Millisecond {
					t.Fatalf("handover took %v", d)
				}
				synctest.Wait()
				if id, _ := ec.Leader(); id != "b" {
					t.Fatalf("c follows %q", id)
				}
				if got := rb.get(); !slices.Equal(got, []string{"leader=a", "leader=", "leader=b", "started"}) {
					t.Fatalf("b's callbacks = %q", got)
				}
				closeAll(t, eb, ec)
				if got := rc.get(); slices.Contains(got, "stopped") || slices.Contains(got, "started") {
					t.Fatalf("c never led, yet got %q", got)
				}
			})
		})
	}
}

func TestElectorLeadershipContextEndsWhenLeadershipIsLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b, e := soloLeader(t, "b", &r)
		synctest.Wait()
		r.mu.Lock()
		ctx := r.ctxs[0]
		r.mu.Unlock()
		// Another leader with a smaller id appears (a healed partition).
		b.Hub().Inject("g", []byte(`{"type":"leader","action":"current","clientId":"a"}`))
		synctest.Wait()
		if ctx.Err() == nil {
			t.Fatal("leadership context still alive after leadership was lost")
		}
		if e.IsLeader() {
			t.Fatal("still leader")
		}
		// The job's context ends at once, ahead of queued notifications;
		// OnStoppedLeading comes after the job returned.
		got := r.get()
		if i := slices.Index(got, "job done"); i < 0 || i > slices.Index(got, "stopped") {
			t.Fatalf("callbacks = %q", got)
		}
		// Quiet mode (the default) follows the smaller leader at once.
		if got = slices.DeleteFunc(got, func(s string) bool { return s == "job done" }); !slices.Equal(got, []string{"leader=b", "started", "leader=a", "stopped"}) {
			t.Fatalf("callbacks = %q", got)
		}
		if s := e.Stats(); s.DuplicateLeaders != 1 || s.Received[bellwether.ActionCurrent] != 1 {
			t.Fatalf("stats = %+v", s)
		}
		closeAll(t, e)
	})
}

func TestElectorResign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ra recorder
		_, ea, eb := leaderAndFollower(t, "a", "b", &ra)
		synctest.Wait() // the job has started
		ea.Resign(context.Background())
		awaitLeadership(t, eb)
		// a, the smallest id, does not take the office back while b leads.
		time.Sleep(time.Minute)
		synctest.Wait()
		if ea.IsLeader() || !eb.IsLeader() {
			t.Fatalf("after resigning: a leads %v, b leads %v", ea.IsLeader(), eb.IsLeader())
		}
		if id, _ := ea.Leader(); id != "b" {
			t.Fatalf("a follows %q", id)
		}
		got := ra.get()
		if !slices.Contains(got, "job done") || !slices.Contains(got, "stopped") {
			t.Fatalf("a's callbacks = %q", got)
		}
		ea.Resign(context.Background()) // not leading: nothing happens
		closeAll(t, ea, eb)
	})
}

func TestElectorObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var ro recorder
		obs := join(t, b, "0-observer", &ro, func(c *bellwether.Config) { c.Observer = true })
		el := join(t, b, "x", nil)
		time.Sleep(8 * time.Second) // a new member first listens for the lease's length
		synctest.Wait()
		if id, _ := obs.Leader(); id != "x" {
			t.Fatalf("observer knows %q, want x", id)
		}
		if obs.IsLeader() {
			t.Fatal("an observer led")
		}
		if err := obs.AwaitLeadership(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("AwaitLeadership = %v", err)
		}
		if s := obs.Stats(); len(s.Sent) != 0 {
			t.Fatalf("observer sent %v", s.Sent)
		}
		closeAll(t, el) // withdraws: the observer knows no leader
		synctest.Wait()
		if _, ok := obs.Leader(); ok {
			t.Fatal("observer still knows a leader after the withdrawal")
		}
		closeAll(t, obs)
		if got := ro.get(); !slices.Equal(got, []string{"leader=x", "leader="}) {
			t.Fatalf("observer callbacks = %q", got)
		}
	})
}

func TestElectorStepsDownWhenBroadcastsFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b, e := soloLeader(t, "a", &r)
		if err := e.Health(); err != nil {
			t.Fatalf("Health() = %v while the bus works", err)
		}
		b.FailSends(errBusDown)
		failedAt := time.Now()
		time.Sleep(7 * time.Second)
		synctest.Wait()
		if !e.IsLeader() {
			t.Fatal("stepped down before HeartbeatTimeout")
		}
		if err := e.Health(); !errors.Is(err, errBusDown) {
			t.Fatalf("Health() = %v, want the bus error", err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if e.IsLeader() {
			t.Fatalf("still leading %v after broadcasts started failing", time.Since(failedAt))
		}
		if got := r.get(); !slices.Contains(got, "stopped") {
			t.Fatalf("callbacks = %q", got)
		}
		if e.Stats().SendErrors == 0 {
			t.Fatal("send errors not counted")
		}
		closeAll(t, e)
	})
}

func TestElectorDropsInvalidMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b, e, follower := leaderAndFollower(t, "m", "n", &r)
		synctest.Wait()
		before := r.get()
		for _, msg := range []string{
			`not json`,
			`{"type":"presence","action":"current","clientId":"a"}`,
			`{"type":"leader","action":"current","clientId":""}`,
			`{"type":"leader","action":"dance","clientId":"a"}`,
			`{"type":"leader","action":"current","clientId":"` + strings.Repeat("a", 70000) + `"}`,
		} {
			b.Hub().Inject("g", []byte(msg))
		}
		synctest.Wait()
		if !e.IsLeader() {
			t.Fatal("invalid messages unseated the leader")
		}
		if got := r.get(); !slices.Equal(got, before) {
			t.Fatalf("callbacks changed: %q -> %q", before, got)
		}
		s := e.Stats()
		want := map[string]uint64{
			bellwether.ReasonSyntax: 1, bellwether.ReasonType: 1, bellwether.ReasonClientID: 1,
			bellwether.ReasonAction: 1, bellwether.ReasonTooLarge: 1,
		}
		for k, v := range want {
			if s.Rejected[k] != v {
				t.Errorf("Rejected[%s] = %d, want %d (all: %v)", k, s.Rejected[k], v, s.Rejected)
			}
		}
		closeAll(t, e, follower)
	})
}

func TestElectorWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		e := join(t, b, "a", nil)
		ch := e.Watch(context.Background())
		first := <-ch
		if first.Group != "g" || first.ID != "a" || first.IsLeader {
			t.Fatalf("first status = %+v", first)
		}
		awaitLeadership(t, e)
		synctest.Wait()
		// A slow reader sees the latest status.
		st := <-ch
		if !st.IsLeader || st.Leader != "a" || st.Since.IsZero() {
			t.Fatalf("latest status = %+v", st)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ch2 := e.Watch(ctx)
		<-ch2
		cancel()
		synctest.Wait()
		if _, ok := <-ch2; ok {
			t.Fatal("watch channel open after its context ended")
		}
		closeAll(t, e)
		for range ch {
		}
		if _, ok := <-e.Watch(context.Background()); ok {
			t.Fatal("Watch after Close must return a closed channel")
		}
		if err := e.AwaitLeadership(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("AwaitLeadership after Close = %v", err)
		}
		if err := e.Health(); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Health after Close = %v", err)
		}
	})
}

func TestElectorCloseFromCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var e *bellwether.Elector
		ready := make(chan struct{})
		returned := make(chan error, 1)
		e = join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnStartedLeading = func(ctx context.Context) {
				<-ready
				returned <- e.Close(ctx)
			}
		})
		close(ready)
		if err := <-returned; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if e.IsLeader() {
			t.Fatal("leading after Close")
		}
		if n := b.Hub().Stats().Sent; n != 3 { // request, current, withdraw
			t.Fatalf("sent %d messages, want 3", n)
		}
	})
}

func TestElectorCloseWaitsForTheJobBeforeWithdrawing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var order []string
		var mu sync.Mutex
		e := join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnStartedLeading = func(ctx context.Context) {
				<-ctx.Done()
				time.Sleep(3 * time.Second) // a job that takes time to stop
				mu.Lock()
				order = append(order, "job stopped")
				mu.Unlock()
			}
		})
		watcher := join(t, b, "z", nil, func(c *bellwether.Config) {
			c.Callbacks.OnNewLeader = func(id string) {
				if id == "" {
					mu.Lock()
					order = append(order, "withdrawal heard")
					mu.Unlock()
				}
			}
		})
		awaitLeadership(t, e)
		synctest.Wait() // the job has started
		closeAll(t, e)
		synctest.Wait()
		mu.Lock()
		got := slices.Clone(order)
		mu.Unlock()
		if !slices.Equal(got, []string{"job stopped", "withdrawal heard"}) {
			t.Fatalf("order = %q", got)
		}
		closeAll(t, watcher)
	})
}

// Close with an expired context returns its error, and a later Close
// waits, under its own context, for the job to return.
func TestElectorCloseTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		release := make(chan struct{})
		e := join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnStartedLeading = func(ctx context.Context) { <-release }
		})
		awaitLeadership(t, e)
		synctest.Wait() // the job has started and ignores its context
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want deadline exceeded", err)
		}
		// Every call waits for the shutdown under its own context: this
		// one returns once the job does.
		second := make(chan error, 1)
		go func() { second <- e.Close(context.Background()) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-second:
			t.Fatalf("second Close returned %v while the job still runs", err)
		default:
		}
		close(release)
		if err := <-second; err != nil {
			t.Fatalf("second Close = %v after the job returned", err)
		}
	})
}

func TestJoinErrors(t *testing.T) {
	b, down := newBus(), newBus()
	down.FailJoins(errBusDown)
	ctx := context.Background()
	for _, c := range []struct {
		t    bellwether.Transport
		cfg  bellwether.Config
		want string
	}{
		{nil, bellwether.Config{ID: "a", Group: "g"}, "transport is nil"},
		{b, bellwether.Config{Group: "g"}, "client id is empty"},
		{b, bellwether.Config{ID: "a"}, "group name is empty"},
		{b, bellwether.Config{ID: "a", Group: "no spaces"}, `has ' ' at byte 2`},
		{b, bellwether.Config{ID: "a", Group: "g", Settings: bellwether.Settings{HeartbeatInterval: -1}}, "HeartbeatInterval -1ns is negative"},
		{b, bellwether.Config{ID: "a", Group: "g", SendTimeout: -1}, "SendTimeout -1ns is negative"},
		{b, bellwether.Config{ID: "a", Group: "g", Mode: 5}, "invalid election mode"},
		{down, bellwether.Config{ID: "a", Group: "g"}, `joining group "g": bellwether/mem: join "g": bus is down`},
	} {
		e, err := bellwether.Join(ctx, c.t, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Join(%+v) = %v, want error saying %q", c.cfg, err, c.want)
		}
		if e != nil {
			t.Error("an Elector returned with an error")
		}
	}
}

func TestValidateGroup(t *testing.T) {
	for _, ok := range []string{"billing-cron", "a.b_c-D9", strings.Repeat("x", bellwether.MaxGroupLength)} {
		if err := bellwether.ValidateGroup(ok); err != nil {
			t.Errorf("ValidateGroup(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "é", "a*", strings.Repeat("x", bellwether.MaxGroupLength+1)} {
		if bellwether.ValidateGroup(bad) == nil {
			t.Errorf("ValidateGroup(%q) accepted", bad)
		}
	}
	// The error shows the character, not a byte of it; a byte that is
	// not UTF-8 is shown as a byte.
	for _, c := range []struct{ name, want string }{
		{"café", `group name "café" has 'é' at byte 3;`},
		{"a b", `group name "a b" has ' ' at byte 1;`},
		{"x\U0001F600", `group name "x😀" has '😀' at byte 1;`},
		{"ab\xff", `group name "ab\xff" has the byte 0xff at byte 2;`},
		{"a\xe2\x98", `group name "a\xe2\x98" has the byte 0xe2 at byte 1;`},
	} {
		err := bellwether.ValidateGroup(c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateGroup(%q) = %v, want %s", c.name, err, c.want)
		}
	}
}

func TestElectorStatsCountsElections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		e := join(t, b, "a", nil)
		f := join(t, b, "b", nil)
		awaitLeadership(t, e)
		synctest.Wait()
		s := e.Stats()
		if s.Elections != 1 || s.ElectionDurations.Count != 1 || !s.IsLeader {
			t.Fatalf("stats = %+v", s)
		}
		// A group's first election lasts until its members have listened
		// for the lease's length: 8s - 1s/2.
		if d := s.ElectionDurations.Sum; d < 7.4 || d > 7.8 {
			t.Fatalf("election lasted %vs, want about the lease's length", d)
		}
		if s.Sent[bellwether.ActionCurrent] == 0 || s.LeaderChanges != 1 {
			t.Fatalf("stats = %+v", s)
		}
		if fs := f.Stats(); fs.Received[bellwether.ActionCurrent] == 0 {
			t.Fatalf("follower stats = %+v", fs)
		}
		closeAll(t, e, f)
		if e.Stats().IsLeader {
			t.Fatal("Stats().IsLeader is true after Close")
		}
	})
}

func TestElectorCloseEndsALeadershipWonWhileTheJobStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		var mu sync.Mutex
		jobs := 0
		e := join(t, b, "a", nil, func(c *bellwether.Config) {
			c.Callbacks.OnStartedLeading = func(ctx context.Context) {
				mu.Lock()
				jobs++
				first := jobs == 1
				mu.Unlock()
				<-ctx.Done()
				if first {
					time.Sleep(3 * time.Second) // a job slow to stop
				}
			}
		})
		awaitLeadership(t, e)
		synctest.Wait() // the first job runs
		closed := make(chan error, 1)
		go func() { closed <- e.Close(context.Background()) }()
		// While the first job stops, a loses the office and wins it back.
		time.Sleep(100 * time.Millisecond)
		b.Hub().Inject("g", []byte(`{"type":"leader","action":"current","clientId":"0"}`))
		time.Sleep(100 * time.Millisecond)
		b.Hub().Inject("g", []byte(`{"type":"leader","action":"withdraw","clientId":"0"}`))
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if e.IsLeader() {
			t.Fatal("leading after Close")
		}
	})
}

// TestElectorAtRestCostsOneGoroutine: a member at rest, leader or
// follower, keeps one goroutine, its receiver; its driver's worker and the
// callbacks' goroutine run only while there is something to do, and the
// driver's timer needs none. The leader's job runs on one of its own.
func TestElectorAtRestCostsOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		before := runtime.NumGoroutine()
		var es []*bellwether.Elector
		for i := 0; i < 20; i++ {
			var r recorder
			es = append(es, join(t, b, fmt.Sprintf("m%d", i), &r))
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		// Two more: the leader's job, and the bus's own, shared by all.
		if n := runtime.NumGoroutine() - before; n > len(es)+2 {
			t.Errorf("%d members at rest keep %d goroutines, want at most 1 each, the job and the bus's", len(es), n)
		}
		closeAll(t, es...)
	})
}
