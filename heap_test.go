package bellwether_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

// Members at rest after an election, leader and followers, hold nothing
// they make on demand (bellwether.Held), but for the leader's buffer of
// heartbeats, and make it when asked: a wait for leadership, a watch, a
// Close.
func TestAtRestHoldsNothingOnDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mem.NewHub().NewTransport()
		var es []*bellwether.Elector
		for _, id := range []string{"a", "b", "c"} {
			e, err := bellwether.Join(context.Background(), tr, bellwether.Config{ID: id, Group: "g", Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		time.Sleep(10 * es[0].Settings().HeartbeatTimeout)
		synctest.Wait()
		for _, e := range es {
			if id, _ := e.Leader(); id != "a" {
				t.Fatalf("%s knows leader %q, want a", e.ID(), id)
			}
			held := bellwether.Held(e)
			if e.IsLeader() && slices.Equal(held, []string{"driver queue", "machine out", "send buffer"}) {
				// The buffers of its heartbeats, of one effect each,
				// whatever its election grew them to.
				if q, out := bellwether.EffectBuffers(e); q != 1 || out != 1 {
					t.Errorf("the leader's buffers have room for %d and %d effects, want 1 and 1", q, out)
				}
				continue
			}
			if len(held) > 0 {
				t.Errorf("%s at rest holds %v", e.ID(), held)
			}
		}

		// A follower's wait for leadership makes the channel, and the next
		// change gives it back.
		f := es[1]
		waited := make(chan error, 1)
		go func() { waited <- f.AwaitLeadership(context.Background()) }()
		synctest.Wait()
		if held := bellwether.Held(f); len(held) != 1 || held[0] != "changed" {
			t.Errorf("waiting for leadership, b holds %v, want [changed]", held)
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := f.Watch(ctx)
		if st := <-w; st.Leader != "a" {
			t.Errorf("watch: leader %q, want a", st.Leader)
		}
		if err := es[0].Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * f.Settings().HeartbeatTimeout)
		synctest.Wait()
		if err := <-waited; err != nil {
			t.Errorf("b's wait for leadership: %v", err)
		}
		if !f.IsLeader() {
			t.Fatal("b does not lead after a closed")
		}
		cancel()
		synctest.Wait()
		for range w {
		}
		if held := bellwether.Held(f); !slices.Equal(held, []string{"watchers"}) && !slices.Equal(held, []string{"watchers", "driver queue", "machine out", "send buffer"}) {
			t.Errorf("after its wait and watch, b, leading, holds %v, want [watchers] (an empty map) and its buffers", held)
		}
		for _, e := range es[1:] {
			if err := e.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// A Close after the shutdown waits for nothing.
		for _, e := range es {
			if err := e.Close(context.Background()); err != nil {
				t.Errorf("%s: second Close: %v", e.ID(), err)
			}
		}
	})
}

// An Elector fits the 512-byte size class: a pointerful object over 512
// bytes carries an 8-byte header besides, which took it to the 576 or 640
// class (heap, per member of every group in the process).
func TestElectorSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(bellwether.Elector{}); n > 512 {
		t.Errorf("an Elector is %d bytes, over 512", n)
	}
}

// A Machine, with its 8-byte malloc header, fits the 640-byte size class
// (a 24-byte timer took it to 704).
func TestMachineSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(bellwether.Machine{}); n+8 > 640 {
		t.Errorf("a Machine is %d bytes, with its header over 640", n)
	}
}

// A follower gives back the buffers of the step that told it of its
// leader as soon as their effects are carried out, not at its next step:
// the next heartbeat is a HeartbeatInterval away.
func TestFollowerHoldsNoBuffersOnceLeaderKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := mem.NewHub().NewTransport()
		var es []*bellwether.Elector
		for _, id := range []string{"a", "b", "c"} {
			e, err := bellwether.Join(context.Background(), tr, bellwether.Config{ID: id, Group: "g", Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close(context.Background())
			es = append(es, e)
		}
		step := es[0].Settings().HeartbeatInterval / 100
		for {
			time.Sleep(step)
			synctest.Wait()
			if id, _ := es[1].Leader(); id == "a" {
				break
			}
		}
		if held := bellwether.Held(es[1]); len(held) > 0 {
			t.Errorf("b, having just heard its leader, holds %v", held)
		}
	})
}

// The flood counter keeps the first two senders of a window in slots of
// its own and the others in a map, which counts as the slots do, and
// which a window with no more senders than slots gives back.
func TestFloodCounterMapOnlyForManySenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, hb := joinFollower(t, "web-2", "web-17", func(*bellwether.Elector) { synctest.Wait() })
		interval := e.Settings().HeartbeatInterval
		time.Sleep(interval)
		bellwether.ReceiveBytes(e, hb)
		synctest.Wait()
		if held := bellwether.Held(e); len(held) > 0 {
			t.Fatalf("hearing its leader, the follower holds %v", held)
		}
		before := e.Stats().Flooded
		for _, id := range []string{"web-3", "web-4", "web-5"} {
			msg := bellwether.NewEvent(bellwether.ActionAccept, id).AppendJSON(nil)
			for range bellwether.FloodLimit + 1 {
				bellwether.ReceiveBytes(e, msg)
			}
		}
		synctest.Wait()
		if got := e.Stats().Flooded - before; got != 3 {
			t.Errorf("three senders one beyond FloodLimit: Flooded rose by %d, want 3", got)
		}
		// The flood was logged, which keeps the rare state ("rare") and
		// the logger.
		if held := bellwether.Held(e); !slices.Equal(held, []string{"rare", "flood map", "logger"}) {
			t.Errorf("after four senders in a window, the follower holds %v, want [rare flood map logger]", held)
		}
		for range 2 { // a window of three senders keeps the map; one of one gives it back
			time.Sleep(interval)
			bellwether.ReceiveBytes(e, hb)
		}
		synctest.Wait()
		if held := bellwether.Held(e); !slices.Equal(held, []string{"rare", "logger"}) {
			t.Errorf("after a window with its leader alone, the follower holds %v, want [rare logger]", held)
		}
	})
}

// A member makes its logger, with its group and id, when it first logs.
func TestLoggerMadeOnFirstLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		e, err := bellwether.Join(context.Background(), mem.NewHub().NewTransport(), bellwether.Config{ID: "web-2", Group: "g", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		time.Sleep(time.Second)
		synctest.Wait()
		if held := bellwether.Held(e); slices.Contains(held, "logger") {
			t.Fatalf("before logging, the member holds %v", held)
		}
		msg := bellwether.NewEvent(bellwether.ActionAccept, "web-9").AppendJSON(nil)
		for range bellwether.FloodLimit + 1 {
			bellwether.ReceiveBytes(e, msg)
		}
		synctest.Wait()
		if !slices.Contains(bellwether.Held(e), "logger") {
			t.Error("after logging, the member holds no logger")
		}
		if out := buf.String(); !strings.Contains(out, "floods the group") || !strings.Contains(out, "group=g id=web-2") {
			t.Errorf("the flood's log line lacks the group and id:\n%s", out)
		}
	})
}
