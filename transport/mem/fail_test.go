package mem_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

var errLinkDown = errors.New("link down")

// TestFailSends: a failing member's Send returns the error and sends
// nothing, while it still hears the others; Health reports it; the
// Transport-wide fault covers members that join later; FailSends(nil)
// ends it.
func TestFailSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub, ta, tb := twoTransports(t)
		a, a2, b := join(t, ta, "g"), join(t, ta, "g"), join(t, tb, "g")

		a.FailSends(errLinkDown)
		if err := a.Send(context.Background(), []byte("lost")); !errors.Is(err, errLinkDown) {
			t.Fatalf("Send of a failing member = %v; want it to wrap %v", err, errLinkDown)
		}
		if err := a.Health(); !errors.Is(err, errLinkDown) {
			t.Fatalf("Health() of a failing member = %v", err)
		}
		if err := a2.Health(); err != nil {
			t.Fatalf("Health() of another member of its transport = %v; want nil", err)
		}
		send(t, a2, "from a2")
		send(t, b, "from b")
		hears(t, b, "b, from a2 alone,", "from a2")
		hears(t, a, "the failing member, the others' messages,", "from a2", "from b")
		if st := hub.Stats(); st.Failed != 1 || st.Sent != 2 {
			t.Fatalf("Stats = %+v; want 1 failed, 2 sent", st)
		}

		a.FailSends(nil)
		send(t, a, "back")
		hears(t, b, "b after FailSends(nil)", "back")
		if err := a.Health(); err != nil {
			t.Fatalf("Health() after FailSends(nil) = %v", err)
		}

		// The transport's fault reaches every member, one joining later
		// too; a member's own error comes first.
		tb.FailSends(errLinkDown)
		own := errors.New("own")
		b.FailSends(own)
		late := join(t, tb, "g")
		if err := late.Send(context.Background(), []byte("x")); !errors.Is(err, errLinkDown) {
			t.Fatalf("Send of a member joined after Transport.FailSends = %v", err)
		}
		if err := b.Send(context.Background(), []byte("x")); !errors.Is(err, own) {
			t.Fatalf("Send of a member with its own fault = %v; want %v", err, own)
		}
		b.FailSends(nil)
		if err := b.Health(); !errors.Is(err, errLinkDown) {
			t.Fatalf("Health() = %v; want the transport's fault", err)
		}
		tb.FailSends(nil)
		send(t, late, "late")
		hears(t, a, "a", "late")
		hears(t, b, "b", "late")
		b.Close()
		if err := b.Health(); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Health() after Close = %v; want ErrClosed", err)
		}
	})
}

// TestFailSendsStopsALeader: an Elector whose broadcasts fail steps down,
// and its Health reports why, as on a real bus that is down; the others
// elect among themselves.
func TestFailSendsStopsALeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub()
		quiet := slog.New(slog.DiscardHandler)
		var trs []*mem.Transport
		var es []*bellwether.Elector
		for _, id := range []string{"a", "b"} {
			tr := hub.NewTransport()
			defer tr.Close()
			e, err := bellwether.Join(context.Background(), tr, bellwether.Config{ID: id, Group: "g", Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close(context.Background()) })
			trs, es = append(trs, tr), append(es, e)
		}
		if err := es[0].AwaitLeadership(context.Background()); err != nil {
			t.Fatal(err)
		}
		trs[0].FailSends(errLinkDown)
		// Today it steps down when a failed heartbeat finds the last good
		// one older than HeartbeatTimeout; a lease can only make that
		// sooner.
		s := bellwether.DefaultSettings()
		limit := s.HeartbeatTimeout + 2*s.HeartbeatInterval + s.ElectionTimeout
		start := time.Now()
		for es[0].IsLeader() && time.Since(start) < limit {
			time.Sleep(100 * time.Millisecond)
		}
		if es[0].IsLeader() {
			t.Fatalf("a leader whose sends fail still leads %v later", limit)
		}
		t.Logf("stepped down %v after its sends began to fail", time.Since(start))
		if err := es[0].Health(); !errors.Is(err, errLinkDown) {
			t.Fatalf("Health() = %v; want the send fault", err)
		}
		if st := hub.Stats(); st.Failed == 0 {
			t.Fatal("no failed send counted")
		}
		// b, which heard nothing from a, leads in a's place: it times out
		// HeartbeatTimeout after a's last heartbeat (at most one interval
		// before the fault) and wins an election (plus quiet mode's jitter)
		// later. (a may step down before that, once it finds itself unable
		// to hear either: its Health reports the fault.)
		time.Sleep(s.HeartbeatTimeout + s.HeartbeatInterval + 2*s.ElectionTimeout - time.Since(start))
		synctest.Wait()
		if !es[1].IsLeader() {
			t.Fatalf("b does not lead: %+v", es[1].Status())
		}
		for _, e := range es {
			if err := e.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestInjectMembersFailJoins: a stranger's bytes reach every member of the
// group, paused or not, and no other group; Members lists the open
// members in join order; FailJoins refuses joins until cleared.
func TestInjectMembersFailJoins(t *testing.T) {
	ctx := context.Background()
	h := mem.NewHub()
	tr := h.NewTransport()
	defer tr.Close()
	var cs []bellwether.Conn
	for _, g := range []string{"g", "g", "other", "g"} {
		c, err := tr.Join(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	cs[1].Close()
	if got := h.Members("g"); len(got) != 2 || got[0] != cs[0] || got[1] != cs[3] {
		t.Fatalf("Members(g) = %v, want the first and fourth conns in join order", got)
	}
	cs[3].(*mem.Conn).Pause()
	big := make([]byte, mem.DefaultMaxMessageSize+1) // no size limit for a stranger
	h.Inject("g", big)
	if m, err := cs[0].Recv(ctx); err != nil || len(m) != len(big) {
		t.Fatalf("Recv = %d bytes, %v", len(m), err)
	}
	cs[3].(*mem.Conn).Resume()
	if m, err := cs[3].Recv(ctx); err != nil || len(m) != len(big) {
		t.Fatalf("paused member: Recv = %d bytes, %v", len(m), err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := cs[2].Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another group heard the injection: %v", err)
	}
	if s := h.Stats(); s.Delivered != 2 || s.Sent != 0 {
		t.Fatalf("stats = %+v, want 2 delivered, 0 sent", s)
	}

	tr.FailJoins(errLinkDown)
	if _, err := tr.Join(ctx, "g"); !errors.Is(err, errLinkDown) {
		t.Fatalf("Join during FailJoins = %v", err)
	}
	tr.FailJoins(nil)
	if _, err := tr.Join(ctx, "g"); err != nil {
		t.Fatalf("Join after FailJoins(nil) = %v", err)
	}
}
