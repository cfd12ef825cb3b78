package bellwether_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

var heartbeatJSON = []byte(`{"type":"leader","action":"current","clientId":"web-17"}`)

// A follower's step on the leader's heartbeat, the protocol's steady state,
// allocates nothing; decoding a heartbeat allocates only the id string.
func TestSteadyStateAllocations(t *testing.T) {
	m := followerMachine(t, "web-2", "web-17")
	hb := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
	now := at(time.Second)
	if n := testing.AllocsPerRun(1000, func() {
		now = now.Add(2 * time.Second)
		m.Receive(now, hb)
	}); n != 0 {
		t.Errorf("follower heartbeat step: %v allocations, want 0", n)
	}
	l := leaderMachine(t, "a")
	lnow := at(time.Second)
	if n := testing.AllocsPerRun(1000, func() {
		lnow = lnow.Add(2 * time.Second)
		l.Tick(lnow)
	}); n != 0 {
		t.Errorf("leader heartbeat step: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := bellwether.ParseEvent(heartbeatJSON); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("decoding a heartbeat: %v allocations, want at most 1 (the id)", n)
	}
	buf := make([]byte, 0, 128)
	e := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
	if n := testing.AllocsPerRun(1000, func() { buf = e.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("encoding into a buffer: %v allocations, want 0", n)
	}
}

// joinFollower joins id to a bus that brings it nothing and makes it a
// follower of leader by handing its receive path leader's heartbeat, as
// ReceiveBytes does for the rest of the test. settle waits for the worker
// to have handled the follow.
func joinFollower(tb testing.TB, id, leader string, settle func(*bellwether.Elector)) (*bellwether.Elector, []byte) {
	tb.Helper()
	e, err := bellwether.Join(context.Background(), mem.NewHub().NewTransport(), bellwether.Config{ID: id, Group: "g", Logger: quietLogger})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	hb := bellwether.NewEvent(bellwether.ActionCurrent, leader).AppendJSON(nil)
	bellwether.ReceiveBytes(e, hb)
	settle(e)
	if got, _ := e.Leader(); got != leader {
		tb.Fatalf("follower knows leader %q, want %q", got, leader)
	}
	return e, hb
}

// A follower's heartbeat from its known leader, from the received bytes
// to its state (parse, counters, driver step, machine), allocates nothing
// and does not wake the driver's worker: it only moves the heartbeat
// deadline later, which the armed timer finds when it fires.
func TestFollowerHeartbeatAllocNothingAndWakesNoWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, hb := joinFollower(t, "web-2", "web-17", func(*bellwether.Elector) { synctest.Wait() })
		interval := e.Settings().HeartbeatInterval
		time.Sleep(interval)
		synctest.Wait() // the worker has handled the follow and armed its timer
		wakes := bellwether.WorkerWakes(e)
		before := e.Stats()
		const beats = 200
		// A millisecond short of the interval, so that no heartbeat lands
		// at the very instant the worker's timer fires for an earlier
		// deadline (HeartbeatTimeout is a multiple of the interval): there
		// the two goroutines race, and a heartbeat that finds the timer
		// being re-armed wakes the worker once, harmlessly.
		gap := interval - time.Millisecond
		for range beats {
			time.Sleep(gap)
			bellwether.ReceiveBytes(e, hb)
		}
		synctest.Wait()
		if got := bellwether.WorkerWakes(e) - wakes; got != 0 {
			t.Errorf("%d heartbeats woke the worker %d times, want 0", beats, got)
		}
		after := e.Stats()
		if got := after.Received[bellwether.ActionCurrent] - before.Received[bellwether.ActionCurrent]; got != beats {
			t.Errorf("counted %d heartbeats received, want %d", got, beats)
		}
		if id, _ := e.Leader(); id != "web-17" {
			t.Fatalf("follower knows leader %q after the heartbeats", id)
		}
		if bellwether.RaceEnabled {
			return // allocation counts are meaningless under the race detector
		}
		if n := testing.AllocsPerRun(beats, func() {
			time.Sleep(interval)
			bellwether.ReceiveBytes(e, hb)
		}); n != 0 {
			t.Errorf("follower heartbeat, bytes to state: %v allocations, want 0", n)
		}
		// Another sender's id is new bytes: one string, and nothing else.
		other := bellwether.NewEvent(bellwether.ActionAccept, "web-9").AppendJSON(nil)
		var flip bool
		if n := testing.AllocsPerRun(beats, func() {
			time.Sleep(interval)
			if flip = !flip; flip {
				bellwether.ReceiveBytes(e, other)
			} else {
				bellwether.ReceiveBytes(e, hb)
			}
		}); n > 0.5 {
			t.Errorf("alternating senders: %v allocations per message, want at most 1 per other sender", n)
		}
	})
}

func BenchmarkMachineStep(b *testing.B) {
	b.Run("heartbeat-follower", func(b *testing.B) {
		m := followerMachineB(b, "web-2", "web-17")
		hb := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
		now := at(time.Second)
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(time.Second)
			m.Receive(now, hb)
		}
	})
	b.Run("heartbeat-leader-tick", func(b *testing.B) {
		m := newMachineB(b, "a")
		m.Start(t0)
		m.Tick(at(time.Second))
		now := at(time.Second)
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(2 * time.Second)
			m.Tick(now)
		}
	})
	b.Run("request-to-leader", func(b *testing.B) {
		m := newMachineB(b, "a")
		m.Start(t0)
		m.Tick(at(time.Second))
		req := bellwether.NewEvent(bellwether.ActionRequest, "b")
		now := at(time.Second)
		b.ReportAllocs()
		for b.Loop() {
			m.Receive(now, req)
		}
	})
	b.Run("accept-during-election", func(b *testing.B) {
		m := newMachineB(b, "a")
		m.Start(t0)
		ids := make([]bellwether.Event, 1024)
		for i := range ids {
			ids[i] = bellwether.NewEvent(bellwether.ActionAccept, fmt.Sprintf("m-%d", i))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Receive(t0, ids[i&1023])
			i++
		}
	})
	b.Run("election-cycle", func(b *testing.B) {
		// request from another member, election end, deferral to a smaller
		// leader, withdrawal: one full election per iteration.
		m := newMachineB(b, "b")
		m.Start(t0)
		now := at(time.Second)
		m.Tick(now)
		cur := bellwether.NewEvent(bellwether.ActionCurrent, "a")
		wd := bellwether.NewEvent(bellwether.ActionWithdraw, "a")
		acc := bellwether.NewEvent(bellwether.ActionAccept, "c")
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(10 * time.Second)
			m.Receive(now, cur)
			m.Receive(now, wd)
			m.Receive(now, acc)
			now = now.Add(time.Second)
			m.Tick(now)
		}
	})
}

// BenchmarkHeartbeat measures the protocol's steady state as users run
// it: a follower's heartbeat from the received bytes to its state (decode,
// counters, driver step, machine), and a leader's from its timer to the
// bytes handed to the bus (machine tick, driver queue, encoding, the
// acknowledgement stepped in).
func BenchmarkHeartbeat(b *testing.B) {
	b.Run("follower-bytes-to-state", func(b *testing.B) {
		// Real time: wait, at most a second, for the worker to follow.
		e, hb := joinFollower(b, "web-2", "web-17", func(e *bellwether.Elector) {
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if id, _ := e.Leader(); id != "" {
					return
				}
			}
		})
		b.ReportAllocs()
		b.SetBytes(int64(len(hb)))
		for b.Loop() {
			bellwether.ReceiveBytes(e, hb)
		}
	})
	b.Run("leader-timer-to-bytes", func(b *testing.B) {
		var sent int
		beat, err := bellwether.LeaderBeat("a", bellwether.Settings{}, func(msg []byte) { sent += len(msg) })
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		sent = 0
		for b.Loop() {
			beat()
		}
		if sent == 0 {
			b.Fatal("the leader sent nothing")
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	b.Run("encode", func(b *testing.B) {
		e := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
		buf := make([]byte, 0, 128)
		b.ReportAllocs()
		for b.Loop() {
			buf = e.AppendJSON(buf[:0])
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(heartbeatJSON)))
		for b.Loop() {
			if _, err := bellwether.ParseEvent(heartbeatJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-reordered-unknown-fields", func(b *testing.B) {
		msg := []byte(`{"clientId":"web-17","extra":{"a":[1,2,3]},"action":"current","type":"leader"}`)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bellwether.ParseEvent(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkManagerReceive measures how many heartbeats per second a
// Manager takes in, from one goroutine.
func BenchmarkManagerReceive(b *testing.B) {
	m, err := bellwether.NewManager(bellwether.ManagerConfig{ID: "web-2", Broadcast: func(bellwether.Event) {}, Mode: bellwether.ModeReference, Logger: quietLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(false)
	hb := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
	b.ReportAllocs()
	for b.Loop() {
		m.Receive(hb)
	}
}

func newMachineB(b *testing.B, id string) *bellwether.Machine {
	m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: testSettings, Mode: bellwether.ModeReference})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func followerMachineB(b *testing.B, id, leader string) *bellwether.Machine {
	m := newMachineB(b, id)
	m.Start(t0)
	m.Receive(at(time.Millisecond), bellwether.NewEvent(bellwether.ActionCurrent, leader))
	return m
}
