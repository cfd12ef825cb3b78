package nats

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testserver"
)

// heartbeats has n members of one group, on one Transport, send one
// message each at once, while more reports true, and returns the Transport's
// flusher counts.
func heartbeats(tb testing.TB, u *url.URL, n int, more func() bool) (flushes, acked uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := FromURL(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	defer tr.Close()
	members := make([]*Conn, n)
	for i := range members {
		c, err := tr.Join(ctx, fmt.Sprintf("ack-%d", n))
		if err != nil {
			tb.Fatal(err)
		}
		members[i] = c.(*Conn)
	}
	msg := []byte(`{"type":"leader","action":"current","clientId":"node-7"}`)
	f0, a0 := tr.acks.flushes.Load(), tr.acks.acked.Load()
	for more() {
		var wg sync.WaitGroup
		for _, c := range members {
			wg.Go(func() {
				if err := c.Send(ctx, msg); err != nil {
					tb.Errorf("Send: %v", err)
				}
			})
		}
		wg.Wait()
	}
	return tr.acks.flushes.Load() - f0, tr.acks.acked.Load() - a0
}

// times returns a function that reports true n times.
func times(n int) func() bool {
	return func() bool {
		n--
		return n >= 0
	}
}

// TestSendsShareFlushes: 64 members of one connection sending at once
// share flushes instead of flushing once each.
func TestSendsShareFlushes(t *testing.T) {
	const members, rounds = 64, 20
	_, u := testserver.InProcessNATS(t)
	flushes, acked := heartbeats(t, u, members, times(rounds))
	if acked != members*rounds {
		t.Fatalf("%d Sends acknowledged; want %d", acked, members*rounds)
	}
	// Sends that publish together need two flushes (the one under way,
	// and the next); goroutines that start late need more. A flush per
	// Send would be 1280; a quarter of that leaves slack for a busy
	// machine.
	if limit := acked / 4; flushes > limit {
		t.Fatalf("%d flushes for %d Sends in %d rounds; want at most %d", flushes, acked, rounds, limit)
	}
	t.Logf("%d flushes for %d Sends (%.3f per Send)", flushes, acked, float64(flushes)/float64(acked))
}

// BenchmarkHeartbeats: N members on one NATS connection each send a
// heartbeat at once; one op is one round, all N acknowledged. It reports
// flushes per publish (1 would be a flush per member per message).
func BenchmarkHeartbeats(b *testing.B) {
	_, u := testserver.InProcessNATS(b)
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			flushes, acked := heartbeats(b, u, n, b.Loop)
			b.ReportMetric(float64(flushes)/float64(acked), "flushes/publish")
			b.ReportMetric(float64(flushes)/float64(b.N), "flushes/op")
		})
	}
}
