package bellwether_test

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/bellwether-go/bellwether"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBus delivers every broadcast synchronously, from inside the
// sender's broadcast callback, to every other Manager. A member is on the
// bus before its Manager starts, so that it hears the answers to its first
// request: what it hears before NewManager returns waits in early.
type syncBus struct {
	mu    sync.Mutex
	mgrs  map[string]*bellwether.Manager // nil while the member's Manager starts
	early map[string][]bellwether.Event
	log   []string
}

// join adds a Manager in ModeReference unless a mut says otherwise.
func (b *syncBus) join(t *testing.T, id string, s bellwether.Settings, mut ...func(*bellwether.ManagerConfig)) *bellwether.Manager {
	t.Helper()
	cfg := bellwether.ManagerConfig{ID: id, Settings: s, Mode: bellwether.ModeReference, Logger: quietLogger}
	cfg.OnLeaderChange = func(leading bool) {
		b.mu.Lock()
		if leading {
			b.log = append(b.log, id+" leads")
		} else {
			b.log = append(b.log, id+" follows")
		}
		b.mu.Unlock()
	}
	cfg.Broadcast = func(e bellwether.Event) {
		b.mu.Lock()
		var to []*bellwether.Manager
		for oid, o := range b.mgrs {
			switch {
			case oid == id:
			case o == nil:
				b.early[oid] = append(b.early[oid], e)
			default:
				to = append(to, o)
			}
		}
		b.mu.Unlock()
		for _, o := range to {
			o.Receive(e)
		}
	}
	for _, f := range mut {
		f(&cfg)
	}
	b.mu.Lock()
	if b.mgrs == nil {
		b.mgrs, b.early = map[string]*bellwether.Manager{}, map[string][]bellwether.Event{}
	}
	b.mgrs[id] = nil
	b.mu.Unlock()
	m, err := bellwether.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.mgrs[id] = m
	for _, e := range b.early[id] {
		m.Receive(e) // never blocks, so it may run under the lock
	}
	delete(b.early, id)
	b.mu.Unlock()
	return m
}

func TestManagerSynchronousBusDoesNotDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b syncBus
		var ms []*bellwether.Manager
		for _, id := range []string{"c", "a", "e", "b", "d"} {
			ms = append(ms, b.join(t, id, bellwether.Settings{}))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, m := range ms {
			id, ok := m.Leader()
			if !ok || id != "a" {
				t.Errorf("%s: Leader() = %q, %v; want a", m.ID(), id, ok)
			}
			if m.IsLeader() != (m.ID() == "a") {
				t.Errorf("%s: IsLeader() = %v", m.ID(), m.IsLeader())
			}
		}
		// Heartbeats for a minute keep everything stable.
		time.Sleep(time.Minute)
		synctest.Wait()
		b.mu.Lock()
		if len(b.log) != 1 || b.log[0] != "a leads" {
			t.Errorf("leadership log = %q, want only [a leads]", b.log)
		}
		b.mu.Unlock()
		// A clean shutdown of the leader hands over at once.
		ms[1].Shutdown(true)
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		if id, _ := ms[3].Leader(); id != "b" || !ms[3].IsLeader() {
			t.Errorf("after a withdrew, leader = %q", id)
		}
		for _, m := range ms {
			m.Shutdown(true)
		}
	})
}

func TestManagerCallbacksInOrderOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seq []string
		running := 0
		enter := func(s string) {
			mu.Lock()
			running++
			if running > 1 {
				t.Error("callbacks overlap")
			}
			seq = append(seq, s)
			mu.Unlock()
			time.Sleep(time.Millisecond) // a slow callback
			mu.Lock()
			running--
			mu.Unlock()
		}
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "b", OnLeaderChange: func(l bool) {
			if l {
				enter("leading")
			} else {
				enter("not leading")
			}
		}, Broadcast: func(e bellwether.Event) { enter("send " + string(e.Action)) }, Mode: bellwether.ModeReference, Logger: quietLogger})

		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		m.Receive(bellwether.NewEvent(bellwether.ActionCurrent, "a")) // defer to a
		m.Receive(bellwether.NewEvent(bellwether.ActionRequest, "z")) // joins election
		time.Sleep(10 * time.Millisecond)
		m.Shutdown(true)
		want := []string{"send request", "leading", "send current", "not leading", "send request", "send accept", "send withdraw"}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(seq, ",") != strings.Join(want, ",") {
			t.Fatalf("callbacks = %q\nwant        %q", seq, want)
		}
	})
}

func TestManagerReceiveDoesNotWaitForCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		calls := 0 // only the worker calls broadcast after NewManager
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", Broadcast: func(bellwether.Event) {

			if calls++; calls > 1 {
				<-release
			}
		}, Mode: bellwether.ModeReference, Logger: quietLogger})

		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			for i := 0; i < 100; i++ {
				m.Receive(bellwether.NewEvent(bellwether.ActionRequest, "b"))
			}
			close(done)
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Receive blocked behind a blocked broadcast callback")
		}
		close(release)
		m.Shutdown(false)
	})
}

func TestManagerShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []bellwether.Action
		calls := 0
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", OnLeaderChange: func(bool) { mu.Lock(); calls++; mu.Unlock() }, Broadcast: func(e bellwether.Event) { mu.Lock(); sent = append(sent, e.Action); mu.Unlock() }, Mode: bellwether.ModeReference, Logger: quietLogger})

		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if !m.IsLeader() {
			t.Fatal("not leader")
		}
		m.Shutdown(true)
		// The withdrawal has been handed to broadcast when Shutdown returns.
		mu.Lock()
		last := sent[len(sent)-1]
		n, c := len(sent), calls
		mu.Unlock()
		if last != bellwether.ActionWithdraw {
			t.Fatalf("last broadcast = %s, want withdraw", last)
		}
		if c != 1 {
			t.Fatalf("onLeaderChange calls = %d; Shutdown must not report the loss", c)
		}
		m.Shutdown(true) // twice is fine
		m.Receive(bellwether.NewEvent(bellwether.ActionRequest, "b"))
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != n || calls != c {
			t.Fatal("callbacks ran after Shutdown")
		}
	})
}

func TestManagerShutdownFromCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []bellwether.Action
		var m *bellwether.Manager
		ready := make(chan struct{})
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", OnLeaderChange: func(leading bool) {
			<-ready
			if leading {
				m.Shutdown(true)
			}
		}, Broadcast: func(e bellwether.Event) { mu.Lock(); sent = append(sent, e.Action); mu.Unlock() }, Mode: bellwether.ModeReference, Logger: quietLogger})

		if err != nil {
			t.Fatal(err)
		}
		close(ready)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		// The effects queued before the Shutdown (the leader's first
		// announcement) still run, in order, then the withdrawal.
		want := "request,current,withdraw"
		var got []string
		for _, a := range sent {
			got = append(got, string(a))
		}
		if strings.Join(got, ",") != want {
			t.Fatalf("broadcasts = %v, want %s", got, want)
		}
	})
}

// Shutdown on another goroutine while a callback runs waits for it: when
// Shutdown returns the withdrawal has been handed to broadcast, so that a
// program that leaves the bus next does not lose it. (It returned at once,
// taking the call for one from inside the callback; the reference tests'
// bus, which drops what a member sends after it left, then lost the
// withdrawal now and then.)
func TestManagerShutdownWhileCallbackRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []bellwether.Action
		release := make(chan struct{})
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", Broadcast: func(e bellwether.Event) {
			mu.Lock()
			sent = append(sent, e.Action)
			mu.Unlock()
			if e.Action == bellwether.ActionAccept {
				<-release // a slow bus
			}
		}, Mode: bellwether.ModeReference, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		m.Receive(bellwether.NewEvent(bellwether.ActionRequest, "b"))
		synctest.Wait() // the worker is inside broadcast(accept)
		got := waitsForCallback(t, release, func() { m.Shutdown(true) }, func() []bellwether.Action {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(sent)
		})
		if want := []bellwether.Action{bellwether.ActionRequest, bellwether.ActionAccept, bellwether.ActionWithdraw}; !slices.Equal(got, want) {
			t.Fatalf("broadcasts when it returned = %v, want %v", got, want)
		}
	})
}

// waitsForCallback calls stop (a Shutdown or a Close) on a goroutine of its
// own while a callback waits for release, in a synctest bubble, and fails
// unless stop returns only once release is closed. It returns what seen
// saw right after stop returned.
func waitsForCallback[T any](t *testing.T, release chan struct{}, stop func(), seen func() T) T {
	t.Helper()
	returned := make(chan T)
	go func() {
		stop()
		returned <- seen()
	}()
	synctest.Wait()
	select {
	case got := <-returned:
		close(release)
		t.Fatalf("it returned while the callback ran, having seen %v", got)
	default:
	}
	close(release)
	return <-returned
}

func TestManagerLogsWarnings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil)
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "b", Broadcast: func(bellwether.Event) {}, Mode: bellwether.ModeReference, Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		m.Receive(bellwether.NewEvent(bellwether.ActionCurrent, "a"))
		time.Sleep(9 * time.Second)
		synctest.Wait()
		m.Shutdown(false)
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(buf.String(), `level=WARN msg="leader timeout" id=b`) {
			t.Fatalf("log = %q", buf.String())
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNewManagerErrors(t *testing.T) {
	if _, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "", Broadcast: func(bellwether.Event) {}, Mode: bellwether.ModeReference}); err == nil || !strings.Contains(err.Error(), "client id is empty") {
		t.Errorf("empty id: %v", err)
	}
	if _, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", Broadcast: nil, Mode: bellwether.ModeReference}); err == nil || !strings.Contains(err.Error(), "broadcast function is nil") {
		t.Errorf("nil broadcast: %v", err)
	}
	if _, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "a", Broadcast: func(bellwether.Event) {}, Settings: bellwether.Settings{HeartbeatTimeout: time.Second}, Mode: bellwether.ModeReference}); err == nil || !strings.Contains(err.Error(), "HeartbeatTimeout 1s") {
		t.Errorf("bad settings: %v", err)
	}
}

func TestManagerQuietMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b syncBus
		var ms []*bellwether.Manager
		for i, id := range []string{"c", "a", "b"} {
			ms = append(ms, b.join(t, id, bellwether.Settings{}, func(c *bellwether.ManagerConfig) { c.Mode, c.Seed = bellwether.ModeQuiet, uint64(i) }))
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		for _, m := range ms {
			if id, _ := m.Leader(); id != "a" {
				t.Errorf("%s follows %q, want a", m.ID(), id)
			}
		}
		for _, m := range ms {
			m.Shutdown(true)
		}
	})
}

func TestManagerIgnoresInvalidEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "b", Broadcast: func(bellwether.Event) {}, Mode: bellwether.ModeReference, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		m.Receive(bellwether.Event{Type: "presence", Action: bellwether.ActionCurrent, ClientID: "a"})
		m.Receive(bellwether.Event{Type: "leader", Action: "bogus", ClientID: "a"})
		m.Receive(bellwether.Event{Type: "leader", Action: bellwether.ActionCurrent})
		synctest.Wait()
		if _, ok := m.Leader(); ok {
			t.Fatal("an invalid event changed the known leader")
		}
		m.Shutdown(false)
	})
}
