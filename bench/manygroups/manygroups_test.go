//go:build unix

// Package manygroups measures what many groups cost in one process:
// 1,000 and 10,000 groups of 3 Electors each, all over one NATS
// connection, at the default timings. Run it with
//
//	go test ./bench/manygroups -run '^$' -bench . -benchtime 1x -timeout 30m
//
// It is a benchmark only, so the unit suite never runs it. For each size
// it reports, once every group has one leader that its members agree on:
// the time from the first join and from the last join until then, the
// heap and stack bytes and the goroutines per member at rest, and the CPU
// the process spends per second of steady state (heartbeats and their
// acknowledgements), as a fraction of one core. The NATS server is the
// shared one on loopback (-manygroups.nats), a process of its own, so its
// CPU is not counted; -manygroups.nats=inprocess runs one in the process,
// counted.
package manygroups

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/nats"
)

const members = 3

var (
	natsURL = flag.String("manygroups.nats", "nats://127.0.0.1:4222", `the NATS server's URL, or "inprocess" to run one in this process`)
	sizes   = flag.String("manygroups.groups", "1000,10000", "comma-separated numbers of groups to measure")
	window  = flag.Duration("manygroups.window", 10*time.Second, "how long the steady state is measured")
	limit   = flag.Duration("manygroups.limit", 2*time.Minute, "the longest joining, electing or closing may take before the benchmark fails")
	profile = flag.String("manygroups.cpuprofile", "", "write a CPU profile of the steady state to this file (the last size's)")
	heap    = flag.String("manygroups.heapprofile", "", "write a heap profile at rest, after the elections, to this file (the last size's)")
)

func BenchmarkManyGroups(b *testing.B) {
	var groupCounts []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("-manygroups.groups: %q is not a positive number", f)
		}
		groupCounts = append(groupCounts, n)
	}
	nc := connect(b)
	tr, err := nats.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	for _, groups := range groupCounts {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			for b.Loop() {
				measure(b, tr, groups)
			}
		})
	}
}

// connect opens the benchmark's one NATS connection.
func connect(b *testing.B) *natsgo.Conn {
	url := *natsURL
	if url == "inprocess" {
		srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if err != nil {
			b.Fatal(err)
		}
		go srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			b.Fatal("nats-server did not start")
		}
		b.Cleanup(srv.Shutdown)
		url = srv.ClientURL()
	}
	nc, err := natsgo.Connect(url, natsgo.Timeout(5*time.Second))
	if err != nil {
		b.Fatalf("connecting to NATS at %s (-manygroups.nats; \"inprocess\" runs a server here): %v", url, err)
	}
	b.Cleanup(nc.Close)
	return nc
}

func measure(b *testing.B, tr *nats.Transport, groups int) {
	n := groups * members
	quiet := slog.New(slog.DiscardHandler)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	// A unique prefix per run: the server is shared with other tests.
	prefix := fmt.Sprintf("manygroups-%d-%d", time.Now().UnixNano(), groups)
	start := time.Now()
	els := make([]*bellwether.Elector, 0, n)
	defer func() { closeAll(b, els) }()
	for g := range groups {
		for m := range members {
			ctx, cancel := context.WithTimeout(context.Background(), *limit)
			e, err := bellwether.Join(ctx, tr, bellwether.Config{
				ID: fmt.Sprintf("member-%d", m), Group: fmt.Sprintf("%s-%05d", prefix, g), Logger: quiet,
			})
			cancel()
			if err != nil {
				b.Fatalf("joining member %d of group %d: %v", m, g, err)
			}
			els = append(els, e)
		}
		if time.Since(start) > *limit {
			b.Fatalf("joining took more than %v (-manygroups.limit): %d of %d groups joined", *limit, g+1, groups)
		}
	}
	lastJoin := time.Now()
	electionTimeout := els[0].Settings().ElectionTimeout
	if err := waitAgreement(els, groups, *limit); err != nil {
		b.Fatal(err)
	}
	elected := time.Now()

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine() - g0
	if *heap != "" {
		f, err := os.Create(*heap)
		if err != nil {
			b.Fatal(err)
		}
		err = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}

	// Steady state: heartbeats and their acknowledgements only.
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	time.Sleep(*window)
	cpu := cpuTime() - cpu0
	if *profile != "" {
		pprof.StopCPUProfile()
	}
	wall := time.Since(t0)
	if err := waitAgreement(els, groups, time.Second); err != nil {
		b.Fatalf("after %v of steady state: %v", *window, err)
	}

	b.ReportMetric(elected.Sub(start).Seconds(), "s-to-elect-all")
	b.ReportMetric(elected.Sub(lastJoin).Seconds(), "s-after-last-join")
	b.ReportMetric(elected.Sub(lastJoin).Seconds()/electionTimeout.Seconds(), "election-timeouts-after-last-join")
	b.ReportMetric(lastJoin.Sub(start).Seconds(), "s-to-join-all")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-B/member")
	b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/float64(n), "stack-B/member")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/member")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores-steady")
}

// closeAll closes every Elector, cleanly (each broadcasts its withdrawal).
func closeAll(b *testing.B, els []*bellwether.Elector) {
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	for _, e := range els {
		if err := e.Close(ctx); err != nil {
			b.Errorf("closing: %v", err)
			return
		}
	}
}

// waitAgreement waits until every group has exactly one leader that all its
// members know.
func waitAgreement(els []*bellwether.Elector, groups int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	from := 0 // groups before it agreed at the last look
	for {
		bad := ""
		for ; from < groups; from++ {
			if bad = groupAgrees(els[from*members : (from+1)*members]); bad != "" {
				bad = fmt.Sprintf("group %d: %s", from, bad)
				break
			}
		}
		if bad == "" {
			// Every group agreed when it was looked at; look at all once
			// more, so that none has changed its mind meanwhile.
			for g := range groups {
				if bad = groupAgrees(els[g*members : (g+1)*members]); bad != "" {
					bad = fmt.Sprintf("group %d: %s", g, bad)
					from = g
					break
				}
			}
			if bad == "" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no agreement after %v: %s", limit, bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAgrees returns "" if the group has one leader all its members know,
// or what is wrong.
func groupAgrees(g []*bellwether.Elector) string {
	leaders := 0
	known := ""
	for m, e := range g {
		st := e.Status()
		if st.IsLeader {
			leaders++
		}
		if m == 0 {
			known = st.Leader
		} else if st.Leader != known {
			return fmt.Sprintf("members disagree (%q vs %q)", known, st.Leader)
		}
	}
	if leaders != 1 || known == "" {
		return fmt.Sprintf("%d leaders, known %q", leaders, known)
	}
	return ""
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
