package nats_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
)

// BenchmarkManyGroups runs 1,000 groups of 3 members, either all 3,000
// members on one Transport (one NATS connection) or spread over 3
// Transports of 1,000 members each. One op is one heartbeat round: every
// member sends a 60-byte message and receives its 2 peers' messages.
//
// Besides time and allocations per round it reports cpu-ns/op (user and
// system CPU time of the whole process per round), heap-B/group (live heap
// per group after joining) and goroutines/group. The NATS server runs in
// the same process, so all three include the server's share of the work.
func BenchmarkManyGroups(b *testing.B) {
	for _, transports := range []int{1, 3} {
		b.Run(fmt.Sprintf("transports=%d", transports), func(b *testing.B) {
			benchManyGroups(b, transports)
		})
	}
}

func benchManyGroups(b *testing.B, transports int) {
	const groups, members = 1000, 3
	_, u := testserver.InProcessNATS(b)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	trs := make([]bellwether.Transport, transports)
	for i := range trs {
		trs[i] = newTransport(b, u)
	}
	prefix := testenv.Group(b)
	conns := make([][members]bellwether.Conn, groups)
	for g := range conns {
		name := fmt.Sprintf("%s-%d", prefix, g)
		for m := range conns[g] {
			conns[g][m] = bellwethertest.Join(b, trs[m%transports], name)
		}
	}

	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / groups
	goroutines := float64(runtime.NumGoroutine()-goroutinesBefore) / groups

	msg := []byte(`{"kind":"heartbeat","term":42,"leader":"node-7","seq":123456}`)
	b.ReportAllocs()
	cpuBefore := cpuTime()
	rounds := 0
	for b.Loop() {
		rounds++
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for g := range conns {
			for _, c := range conns[g] {
				if err := c.Send(ctx, msg); err != nil {
					b.Fatalf("Send: %v", err)
				}
			}
		}
		for g := range conns {
			for _, c := range conns[g] {
				for range members - 1 {
					if _, err := c.Recv(ctx); err != nil {
						b.Fatalf("Recv in group %d: %v", g, err)
					}
				}
			}
		}
		cancel()
	}
	if cpu := cpuTime() - cpuBefore; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(rounds), "cpu-ns/op")
	}
	b.ReportMetric(heap, "heap-B/group")
	b.ReportMetric(goroutines, "goroutines/group")
	runtime.KeepAlive(conns)
}
