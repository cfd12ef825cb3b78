// Command failovermeasure measures, on each transport it can reach, how
// long a group of three Electors with the default settings (election
// timeout 1s, heartbeat interval 2s, heartbeat timeout 8s) takes to agree
// on a new leader after the leader leaves: (a) cleanly, by Close, which
// announces its withdrawal, and (b) by crashing, simulated by making its
// transport drop everything it sends and hears and closing its connection,
// without a word. It prints a Markdown table for docs/transports.md.
//
//	go run ./internal/failovermeasure [-n 5] [-only nats,redis]
//
// The transports: mem (in-process), local (Unix datagram sockets in a
// temporary directory), nats (a nats-server embedded in this process, on
// a random loopback port), redis and postgres (the servers named by
// -redis and -postgres, by default the loopback ones that
// scripts/services.sh starts; skipped when unreachable). udp is not
// measured: multicast must not leave the machine, so it runs only inside
// a network namespace of its own, as its tests do.
//
// Each repetition uses a fresh group of three members, each on a
// Transport of its own as in separate processes. A time is from the
// leader's Close (or crash) to the moment every remaining member knows
// the same new leader and exactly one of them leads, polled every
// millisecond.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/crash"
	"github.com/bellwether-go/bellwether/transport/local"
	"github.com/bellwether-go/bellwether/transport/mem"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
	"github.com/bellwether-go/bellwether/transport/postgres"
	"github.com/bellwether-go/bellwether/transport/redis"
	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	n := flag.Int("n", 3, "repetitions of each measurement per transport")
	only := flag.String("only", "", "comma-separated transports to measure (default: all reachable)")
	redisURL := flag.String("redis", envOr("BELLWETHER_TEST_REDIS", "redis://127.0.0.1:6379/0"), "Redis server URL")
	pgURL := flag.String("postgres", envOr("BELLWETHER_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server URL")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "failovermeasure: -n must be at least 1")
		os.Exit(2)
	}
	if err := run(os.Stdout, os.Stderr, *n, *only, *redisURL, *pgURL); err != nil {
		fmt.Fprintf(os.Stderr, "failovermeasure: %v\n", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// bus makes the Transports of one transport kind: one per member.
type bus struct {
	name  string
	note  string // why it is skipped, or ""
	open  func(ctx context.Context) (bellwether.Transport, error)
	close func()
}

func run(out, log io.Writer, n int, only, redisURL, pgURL string) error {
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	makers := []struct {
		name string
		make func() *bus
	}{
		{"mem", memBus},
		{"local", localBus},
		{"nats", natsBus},
		{"redis", func() *bus { return urlBus("redis", redisURL) }},
		{"postgres", func() *bus { return urlBus("postgres", pgURL) }},
		{"udp", func() *bus {
			return &bus{name: "udp", note: "not measured: multicast runs only in a network namespace of its own"}
		}},
	}
	settings := bellwether.Settings{}.WithDefaults()
	fmt.Fprintf(out, "Measured %s on %s, %s/%s, %d CPUs, %s; settings %v/%v/%v (election timeout/heartbeat interval/heartbeat timeout); %d repetitions each.\n\n",
		time.Now().UTC().Format("2006-01-02"), machine(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		settings.ElectionTimeout, settings.HeartbeatInterval, settings.HeartbeatTimeout, n)
	fmt.Fprintln(out, "| transport | first election | clean handover (min / median / max) | crash failover (min / median / max) |")
	fmt.Fprintln(out, "| --- | --- | --- | --- |")
	for _, m := range makers {
		if len(want) > 0 && !want[m.name] {
			continue
		}
		b := m.make()
		if b.close != nil {
			defer b.close()
		}
		if b.note != "" {
			fmt.Fprintf(out, "| %s | %s | | |\n", b.name, b.note)
			continue
		}
		fmt.Fprintf(log, "measuring %s…\n", b.name)
		r, err := measure(context.Background(), b.open, settings, n)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s |\n", b.name, median(r.startup), spread(r.handover), spread(r.failover))
	}
	return nil
}

// machine names the CPU, from /proc/cpuinfo where there is one.
func machine() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "an unknown CPU"
}

func memBus() *bus {
	hub := mem.NewHub()
	return &bus{name: "mem", open: func(context.Context) (bellwether.Transport, error) { return hub.NewTransport(), nil }}
}

func localBus() *bus {
	dir, err := os.MkdirTemp("", "bellwether-failover-")
	if err != nil {
		return &bus{name: "local", note: "skipped: " + err.Error()}
	}
	b := &bus{name: "local", close: func() { os.RemoveAll(dir) }}
	b.open = func(context.Context) (bellwether.Transport, error) { return local.New(dir) }
	if tr, err := local.New(dir); err != nil {
		b.note = "skipped: " + err.Error()
	} else {
		tr.Close()
	}
	return b
}

func natsBus() *bus {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		return &bus{name: "nats", note: "skipped: " + err.Error()}
	}
	s.Start()
	stop := func() {
		s.Shutdown()
		s.WaitForShutdown()
	}
	if !s.ReadyForConnections(10 * time.Second) {
		stop()
		return &bus{name: "nats", note: "skipped: the embedded nats-server did not start"}
	}
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		stop()
		return &bus{name: "nats", note: "skipped: " + err.Error()}
	}
	return &bus{name: "nats (embedded server)", close: stop, open: func(ctx context.Context) (bellwether.Transport, error) {
		return bwnats.FromURL(ctx, u)
	}}
}

// urlBus is redis or postgres at raw, skipped when nothing listens there.
func urlBus(name, raw string) *bus {
	u, err := url.Parse(raw)
	if err != nil {
		return &bus{name: name, note: fmt.Sprintf("skipped: bad URL: %v", err)}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"redis": "6379", "postgres": "5432"}[name]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
		return &bus{name: name, note: fmt.Sprintf("skipped: nothing listens at %s", addr)}
	} else {
		c.Close()
	}
	b := &bus{name: name + " (loopback server)"}
	if name == "redis" {
		b.open = func(ctx context.Context) (bellwether.Transport, error) { return redis.FromURL(ctx, u) }
	} else {
		b.open = func(ctx context.Context) (bellwether.Transport, error) { return postgres.FromURL(ctx, u) }
	}
	return b
}

// results are the measured times of one transport.
type results struct {
	startup, handover, failover []time.Duration
}

// measure runs n clean handovers and n crashes, each in a fresh group of
// three, on the Transports open makes.
func measure(ctx context.Context, open func(context.Context) (bellwether.Transport, error), settings bellwether.Settings, n int) (*results, error) {
	r := &results{}
	// The slowest case is a crash just after a heartbeat: the heartbeat
	// timeout, then an election, with room to spare.
	limit := 3*settings.HeartbeatTimeout + 10*settings.ElectionTimeout
	for i := range 2 * n {
		crashing := i%2 == 1
		g, err := newGroup(ctx, open, settings, fmt.Sprintf("failover-%d-%d", time.Now().UnixNano(), i))
		if err != nil {
			return nil, err
		}
		d, err := g.agree(nil, limit)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("first election: %w", err)
		}
		r.startup = append(r.startup, d)
		leader := g.leader()
		closed := make(chan struct{})
		if crashing {
			// A crash comes at any point of the heartbeat cycle.
			time.Sleep(time.Duration(i) * settings.HeartbeatInterval / time.Duration(2*n))
			g.trs[leader].Crash()
			close(closed)
		} else {
			go func() {
				defer close(closed)
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				g.es[leader].Close(cctx)
			}()
		}
		d, err = g.agree(g.es[leader], limit)
		<-closed
		g.close()
		if err != nil {
			return nil, fmt.Errorf("after the leader left: %w", err)
		}
		if crashing {
			r.failover = append(r.failover, d)
		} else {
			r.handover = append(r.handover, d)
		}
	}
	return r, nil
}

type group struct {
	trs []*crash.Transport
	es  []*bellwether.Elector
}

func newGroup(ctx context.Context, open func(context.Context) (bellwether.Transport, error), settings bellwether.Settings, name string) (*group, error) {
	g := &group{}
	for i := range 3 {
		inner, err := open(ctx)
		if err != nil {
			g.close()
			return nil, err
		}
		tr := crash.Wrap(inner)
		g.trs = append(g.trs, tr)
		e, err := bellwether.Join(ctx, tr, bellwether.Config{
			ID: string(rune('a' + i)), Group: name, Settings: settings,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			g.close()
			return nil, err
		}
		g.es = append(g.es, e)
	}
	return g, nil
}

// leader returns the index of the member that leads.
func (g *group) leader() int {
	return slices.IndexFunc(g.es, func(e *bellwether.Elector) bool { return e.IsLeader() })
}

// agree waits until every member but gone knows one leader, other than
// gone, that alone leads, and returns how long that took.
func (g *group) agree(gone *bellwether.Elector, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		leaders, known := 0, map[string]bool{}
		for _, e := range g.es {
			if e == gone {
				continue
			}
			s := e.Status()
			if s.IsLeader {
				leaders++
			}
			known[s.Leader] = true
		}
		if leaders == 1 && len(known) == 1 && !known[""] && (gone == nil || !known[gone.ID()]) {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, errors.New("no agreement within " + limit.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func (g *group) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range g.es {
		e.Close(ctx)
	}
	for _, tr := range g.trs {
		tr.Close()
	}
}

func median(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmtDur(s[len(s)/2])
}

func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%s / %s / %s", fmtDur(s[0]), fmtDur(s[len(s)/2]), fmtDur(s[len(s)-1]))
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}
