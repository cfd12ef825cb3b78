// Package manygroups measures what many groups cost in one process: 1,000
// groups of 3 Electors each, all over one NATS connection, at the default
// timings. Run it with
//
//	go test ./bench/manygroups -run '^$' -bench . -benchtime 1x
//
// It reports, once every group has one leader that its members agree on:
// the time that took, heap and goroutines per group, and the CPU the
// process spends per second of steady state (heartbeats), as a fraction of
// one core. The NATS server runs in the same process, so its share is
// included.
package manygroups

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/nats"
)

const (
	groups  = 1000
	members = 3
)

func BenchmarkManyGroups(b *testing.B) {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server did not start")
	}
	defer srv.Shutdown()
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	tr, err := nats.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()

	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()

		start := time.Now()
		quiet := slog.New(slog.DiscardHandler)
		els := make([]*bellwether.Elector, 0, groups*members)
		for g := 0; g < groups; g++ {
			for m := 0; m < members; m++ {
				e, err := bellwether.Join(context.Background(), tr, bellwether.Config{
					ID: fmt.Sprintf("member-%d", m), Group: fmt.Sprintf("group-%04d", g), Logger: quiet,
				})
				if err != nil {
					b.Fatal(err)
				}
				els = append(els, e)
			}
		}
		if err := waitAgreement(els, 60*time.Second); err != nil {
			b.Fatal(err)
		}
		elected := time.Since(start)

		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		goroutines := runtime.NumGoroutine() - g0

		// Steady state: heartbeats only.
		const window = 10 * time.Second
		cpu0 := cpuTime()
		time.Sleep(window)
		cpu := cpuTime() - cpu0
		if err := waitAgreement(els, time.Second); err != nil {
			b.Fatalf("after %v of steady state: %v", window, err)
		}

		b.ReportMetric(elected.Seconds(), "s-to-elect-all")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/groups, "heap-B/group")
		b.ReportMetric(float64(goroutines)/groups, "goroutines/group")
		b.ReportMetric(cpu.Seconds()/window.Seconds(), "cores-steady")

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for _, e := range els {
			if err := e.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
		cancel()
	}
}

// waitAgreement waits until every group has exactly one leader that all its
// members know.
func waitAgreement(els []*bellwether.Elector, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		bad := ""
		for g := 0; g < groups && bad == ""; g++ {
			leaders := 0
			known := ""
			for m := 0; m < members; m++ {
				st := els[g*members+m].Status()
				if st.IsLeader {
					leaders++
				}
				if m == 0 {
					known = st.Leader
				} else if st.Leader != known {
					bad = fmt.Sprintf("group %d: members disagree (%q vs %q)", g, known, st.Leader)
				}
			}
			if bad == "" && (leaders != 1 || known == "") {
				bad = fmt.Sprintf("group %d: %d leaders, known %q", g, leaders, known)
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no agreement after %v: %s", limit, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
