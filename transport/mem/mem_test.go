package mem_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"net/url"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/transport/mem"
)

func TestConformance(t *testing.T) {
	hub := mem.NewHub()
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
		tr := hub.NewTransport()
		t.Cleanup(func() { tr.Close() })
		return tr
	}, bellwethertest.RecvBuffer(mem.DefaultBuffer))
}

func TestConformanceWithDelay(t *testing.T) {
	// Delayed delivery goes through the hub's timer; with no jitter it
	// keeps each sender's order, which the suite relies on.
	hub := mem.NewHub(mem.WithFaults(mem.Faults{Delay: 100 * time.Microsecond}))
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
		tr := hub.NewTransport()
		t.Cleanup(func() { tr.Close() })
		return tr
	}, bellwethertest.RecvBuffer(mem.DefaultBuffer))
}

// twoTransports returns a new hub and two transports on it, closed when
// the test ends.
func twoTransports(t *testing.T) (*mem.Hub, *mem.Transport, *mem.Transport) {
	hub := mem.NewHub()
	ta, tb := hub.NewTransport(), hub.NewTransport()
	t.Cleanup(func() { ta.Close(); tb.Close() })
	return hub, ta, tb
}

// join joins group on tr, in a synctest bubble or not.
func join(t *testing.T, tr *mem.Transport, group string) *mem.Conn {
	t.Helper()
	c, err := tr.Join(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*mem.Conn)
}

func send(t *testing.T, c *mem.Conn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := c.Send(context.Background(), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
}

// drain reads what c can read now, in virtual time: every message already
// in its buffer and deliverable without time passing.
func drain(t *testing.T, c *mem.Conn) []string {
	t.Helper()
	synctest.Wait()
	var got []string
	for {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		msg, err := c.Recv(ctx)
		if errors.Is(err, context.Canceled) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg))
	}
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// hears fails the test unless what c can read now (drain) is want, in
// order; who says whose reading it is, and when.
func hears(t *testing.T, c *mem.Conn, who string, want ...string) {
	t.Helper()
	if got := drain(t, c); !slices.Equal(got, want) {
		t.Fatalf("%s heard %q, want %q", who, got, want)
	}
}

func TestPauseQueuesAndFlushesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ta, tb := twoTransports(t)
		a, b := join(t, ta, "g"), join(t, tb, "g")

		ta.Pause()
		send(t, a, "a1", "a2", "a3")
		send(t, b, "b1", "b2")
		hears(t, b, "b, from a paused member")
		// a's Recv waits while paused, though b's messages have arrived.
		recvd := make(chan string, 2)
		go func() {
			for range 2 {
				msg, err := a.Recv(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				recvd <- string(msg)
			}
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(recvd) != 0 {
			t.Fatal("a paused member's Recv returned")
		}
		ta.Resume()
		synctest.Wait()
		if got := []string{<-recvd, <-recvd}; !slices.Equal(got, []string{"b1", "b2"}) {
			t.Fatalf("a heard %q after resuming, want [b1 b2]", got)
		}
		hears(t, b, "b after a resumed", "a1", "a2", "a3")
		send(t, a, "a4")
		hears(t, b, "b", "a4")
	})
}

func TestPauseConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ta, tb := twoTransports(t)
		a1, a2, b := join(t, ta, "g"), join(t, ta, "g"), join(t, tb, "g")
		a1.Pause()
		ta.Pause()
		send(t, a1, "from a1")
		send(t, a2, "from a2")
		ta.Resume() // a1 stays paused on its own
		hears(t, b, "b", "from a2")
		a1.Resume()
		hears(t, b, "b", "from a1")
		hears(t, a1, "a1", "from a2")
	})
}

// A member that joins a paused Transport is paused too: it sends nothing
// and reads nothing until Resume, while what is sent to it arrives.
func TestJoinWhilePaused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ta, tb := twoTransports(t)
		b := join(t, tb, "g")
		ta.Pause()
		a := join(t, ta, "g")
		send(t, a, "from a")
		send(t, b, "from b")
		hears(t, b, "b, from a member that joined paused")
		hears(t, a, "a, joined paused,")
		ta.Resume()
		hears(t, b, "b after the resume", "from a")
		hears(t, a, "a after the resume", "from b")
	})
}

func TestLossIsSeeded(t *testing.T) {
	run := func(seed uint64) (heard []string, stats mem.Stats) {
		synctest.Test(t, func(t *testing.T) {
			hub := mem.NewHub(mem.WithSeed(seed), mem.WithFaults(mem.Faults{Loss: 0.3}))
			ta, tb := hub.NewTransport(), hub.NewTransport()
			defer ta.Close()
			defer tb.Close()
			a, b := join(t, ta, "g"), join(t, tb, "g")
			send(t, a, numbered("m", 500)...)
			heard = drain(t, b)
			stats = hub.Stats()
		})
		return heard, stats
	}
	heard, stats := run(7)
	if n := len(heard); n < 300 || n > 400 {
		t.Errorf("heard %d of 500 with 30%% loss", n)
	}
	if stats.Lost+stats.Delivered != 500 || stats.Delivered != uint64(len(heard)) {
		t.Errorf("stats %+v do not add up to 500 sent, %d heard", stats, len(heard))
	}
	if !slices.IsSorted(heard) {
		t.Error("loss alone reordered messages")
	}
	again, _ := run(7)
	if !slices.Equal(heard, again) {
		t.Error("the same seed lost different messages")
	}
	other, _ := run(8)
	if slices.Equal(heard, other) {
		t.Error("seeds 7 and 8 lost the same messages")
	}
}

func TestDelayAndJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay, jitter = 100 * time.Millisecond, 50 * time.Millisecond
		hub := mem.NewHub(mem.WithFaults(mem.Faults{Delay: delay}))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		a, b := join(t, ta, "g"), join(t, tb, "g")

		start := time.Now()
		send(t, a, numbered("d", 20)...)
		for i, want := range numbered("d", 20) {
			msg, err := b.Recv(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if string(msg) != want {
				t.Fatalf("message %d is %q, want %q: Delay alone must keep order", i, msg, want)
			}
			if got := time.Since(start); got != delay {
				t.Fatalf("message arrived after %v, want %v", got, delay)
			}
		}

		hub.SetFaults(mem.Faults{Delay: delay, Jitter: jitter})
		start = time.Now()
		const n = 200
		send(t, a, numbered("j", n)...)
		var arrivals []time.Duration
		var heard []string
		for range n {
			msg, err := b.Recv(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			arrivals = append(arrivals, time.Since(start))
			heard = append(heard, string(msg))
		}
		if arrivals[0] < delay || arrivals[n-1] >= delay+jitter {
			t.Fatalf("arrivals from %v to %v, want within [%v, %v)", arrivals[0], arrivals[n-1], delay, delay+jitter)
		}
		if slices.IsSorted(heard) {
			t.Error("jitter of 50ms on 200 messages sent at once kept their order")
		}
	})
}

func TestDuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithFaults(mem.Faults{Duplicate: 1}))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		a, b := join(t, ta, "g"), join(t, tb, "g")
		send(t, a, "x", "y")
		hears(t, b, "b, each message twice", "x", "x", "y", "y")
		hub.SetFaults(mem.Faults{Duplicate: 0.5})
		send(t, a, numbered("m", 200)...)
		got := drain(t, b)
		if n := len(got); n < 260 || n > 340 {
			t.Errorf("heard %d copies of 200 messages with 50%% duplication", n)
		}
		if s := hub.Stats(); s.Duplicated != uint64(2+len(got)-200) {
			t.Errorf("Stats.Duplicated = %d, heard %d extra copies", s.Duplicated, len(got)-200)
		}
	})
}

func TestReorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithFaults(mem.Faults{Reorder: 0.2, ReorderDelay: 5 * time.Millisecond}))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		a, b := join(t, ta, "g"), join(t, tb, "g")
		want := numbered("r", 100)
		for _, m := range want {
			send(t, a, m)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
		got := drain(t, b)
		if len(got) != len(want) {
			t.Fatalf("heard %d of %d messages; reordering must not lose any", len(got), len(want))
		}
		if slices.IsSorted(got) {
			t.Fatal("20% reordering kept every message in order")
		}
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !slices.Equal(sorted, want) {
			t.Fatal("reordering changed the set of messages")
		}
		// A held-back message is overtaken by those sent within 5ms after.
		late := 0
		for i, m := range got {
			if j := slices.Index(want, m); j < i {
				late++
			}
		}
		if s := hub.Stats(); s.Reordered == 0 || late == 0 {
			t.Fatalf("Stats.Reordered = %d, %d messages late", s.Reordered, late)
		}
	})
}

func TestPartitionAndHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub()
		ta, tb, tc, td := hub.NewTransport(), hub.NewTransport(), hub.NewTransport(), hub.NewTransport()
		for _, tr := range []*mem.Transport{ta, tb, tc, td} {
			defer tr.Close()
		}
		a, a2 := join(t, ta, "g"), join(t, ta, "g")
		b, c, d := join(t, tb, "g"), join(t, tc, "g"), join(t, td, "g")

		hub.Partition([]*mem.Transport{ta, tb}, []*mem.Transport{tc}) // td is in the rest
		send(t, a, "from a")
		send(t, c, "from c")
		send(t, d, "from d")
		for _, check := range []struct {
			name string
			c    *mem.Conn
			want []string
		}{
			{"a2", a2, []string{"from a"}}, // same transport: always connected
			{"b", b, []string{"from a"}},
			{"c", c, nil},
			{"d", d, nil},
			{"a", a, nil},
		} {
			if got := drain(t, check.c); !slices.Equal(got, check.want) {
				t.Errorf("partitioned: %s heard %q, want %q", check.name, got, check.want)
			}
		}
		if s := hub.Stats(); s.Partitioned != 2+4+4 {
			t.Errorf("Stats.Partitioned = %d, want 10", s.Partitioned)
		}

		hub.Heal()
		send(t, c, "healed")
		for _, m := range []*mem.Conn{a, a2, b, d} {
			if got := drain(t, m); !slices.Equal(got, []string{"healed"}) {
				t.Errorf("after Heal heard %q, want [healed]", got)
			}
		}
	})
}

func TestPartitionDropsCopiesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithFaults(mem.Faults{Delay: 10 * time.Millisecond}))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		a, b := join(t, ta, "g"), join(t, tb, "g")
		send(t, a, "in flight")
		hub.Partition([]*mem.Transport{ta})
		time.Sleep(20 * time.Millisecond)
		hears(t, b, "b, across a partition made while it was in flight")
	})
}

func TestFullBufferDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithBuffer(8))
		ta, tb, tc := hub.NewTransport(), hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		defer tc.Close()
		a, stuck, live := join(t, ta, "g"), join(t, tb, "g"), join(t, tc, "g")
		for i, m := range numbered("m", 20) {
			send(t, a, m) // never blocks
			hears(t, live, fmt.Sprintf("message %d: the live member", i), m)
		}
		if n := stuck.Dropped(); n != 12 {
			t.Fatalf("stuck member dropped %d, want 12", n)
		}
		hears(t, stuck, "the stuck member, the last 8", numbered("m", 20)[12:]...)
		if s := hub.Stats(); s.Overflowed != 12 || s.Delivered != 40 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestPausedMemberQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithBuffer(4))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		defer ta.Close()
		defer tb.Close()
		a, b := join(t, ta, "g"), join(t, tb, "g")
		a.Pause()
		send(t, a, numbered("m", 6)...)
		a.Resume()
		hears(t, b, "b, the last 4", numbered("m", 6)[2:]...)
	})
}

func TestCloseDropsPendingAndStopsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub(mem.WithFaults(mem.Faults{Delay: time.Hour}))
		ta, tb := hub.NewTransport(), hub.NewTransport()
		a, b := join(t, ta, "g"), join(t, tb, "g")
		send(t, a, "late")
		tb.Close()
		if _, err := b.Recv(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Recv after Close = %v", err)
		}
		ta.Close()
	})
}

func TestRecvWaitsInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub()
		ta := hub.NewTransport()
		defer ta.Close()
		a := join(t, ta, "g")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		if _, err := a.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv = %v", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("Recv waited %v of virtual time, want 1m", d)
		}
	})
}

func TestInvalidFaultsPanic(t *testing.T) {
	for _, f := range []mem.Faults{{Loss: -0.1}, {Duplicate: 1.5}, {Delay: -time.Second}, {Reorder: 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetFaults(%+v) did not panic", f)
				}
			}()
			mem.NewHub().SetFaults(f)
		}()
	}
}

func TestFromURL(t *testing.T) {
	tr1 := fromURL(t, "mem://urltest")
	tr2 := fromURL(t, "mem://urltest")
	other := fromURL(t, "mem://")
	if tr1.Hub() != tr2.Hub() || tr1.Hub() != mem.Named("urltest") {
		t.Fatal("mem://urltest twice gave different hubs")
	}
	if other.Hub() != mem.Named("") || other.Hub() == tr1.Hub() {
		t.Fatal("mem:// is not the default hub")
	}
	g := bellwethertest.UniqueGroup(t, "url")
	a, b := bellwethertest.Join(t, tr1, g), bellwethertest.Join(t, tr2, g)
	c := bellwethertest.Join(t, other, g)
	bellwethertest.Send(t, a, []byte("hi"))
	bellwethertest.ExpectRecv(t, b, []byte("hi"))
	bellwethertest.Send(t, c, []byte("other hub"))
	bellwethertest.Send(t, b, []byte("same hub"))
	bellwethertest.ExpectRecv(t, a, []byte("same hub"))

	bustest.FromURLErrors(t, mem.FromURL, "mem", []bustest.BadURL{
		{URL: "mem:x", Want: "'//'"},
		{URL: "mem://u@x", Want: "user"},
		{URL: "mem://x/y", Want: "path"},
		{URL: "mem://x?loss=1", Want: "query"},
		{URL: "mem://x:80", Want: "':'"},
	})
}

func fromURL(t *testing.T, s string) *mem.Transport {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := mem.FromURL(context.Background(), u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", s, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}
