package mem_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

// BenchmarkElection measures a cold-start election among N Electors over
// the mem bus, in real time at the default timings: N members join at once
// (joining a thousand takes a small fraction of the 1s election timeout),
// and the benchmark times until every member knows the same leader, and
// counts the broadcasts it took, in each mode. Reference mode at N = 1,000
// is skipped: it costs about a million broadcasts, a billion deliveries.
//
//	go test ./transport/mem -run '^$' -bench Election
func BenchmarkElection(b *testing.B) {
	settings := bellwether.DefaultSettings()
	quiet := slog.New(slog.DiscardHandler)
	for _, mode := range []bellwether.ElectionMode{bellwether.ModeQuiet, bellwether.ModeReference} {
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/N=%d", mode, n), func(b *testing.B) {
				if mode == bellwether.ModeReference && n > 100 {
					b.Skip("reference mode at N=1000 costs about N² broadcasts and N³ deliveries")
				}
				var sent uint64
				for b.Loop() {
					hub := mem.NewHub(mem.WithBuffer(4 * n))
					tr := hub.NewTransport()
					els := make([]*bellwether.Elector, n)
					for i := range els {
						e, err := bellwether.Join(context.Background(), tr, bellwether.Config{
							ID: fmt.Sprintf("m-%04d", i), Group: "bench", Settings: settings, Mode: mode, Logger: quiet,
						})
						if err != nil {
							b.Fatal(err)
						}
						els[i] = e
					}
					if err := agree(els, time.Minute); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					sent = 0
					for _, e := range els {
						for _, c := range e.Stats().Sent {
							sent += c
						}
					}
					for _, e := range els {
						if err := e.Close(context.Background()); err != nil {
							b.Fatal(err)
						}
					}
					tr.Close()
					b.StartTimer()
				}
				// Heartbeats sent before every member agreed are included.
				b.ReportMetric(float64(sent), "broadcasts/election")
				b.ReportMetric(float64(sent)/float64(n), "broadcasts/N")
			})
		}
	}
}

// agree waits until every Elector knows the same leader and exactly one
// leads.
func agree(els []*bellwether.Elector, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		leader, _ := els[0].Leader()
		ok := leader != ""
		leaders := 0
		for _, e := range els {
			st := e.Status()
			if st.Leader != leader {
				ok = false
			}
			if st.IsLeader {
				leaders++
			}
		}
		if ok && leaders == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no agreement among %d members after %v", len(els), limit)
		}
		time.Sleep(time.Millisecond)
	}
}
