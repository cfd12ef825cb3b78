package bellwethertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/timings"
)

// The outage test's timings and bounds, in real time. The settings are
// short so that an outage outlasts many heartbeat timeouts.
var outageSettings = timings.Tight

const (
	// outageLength is how long the server stays frozen or killed.
	outageLength = 6 * time.Second
	// backWithin bounds the wait, after the server's return, for a job to
	// run again.
	backWithin = 5 * time.Second
	// watchAfter is how long after the server's return the jobs are
	// watched: backWithin and time for a second job to show up.
	watchAfter = backWithin + 3*time.Second
)

// TestOutage measures what an outage of the server costs three Electors,
// each on a Transport of its own, whose OnStartedLeading runs a job until
// its context ends. Once they agree on a leader, the server given by
// [WithServer] (required) is frozen for 6s and thawed (subtest Frozen), or
// killed for 6s and started again on the same address (Killed). Watching
// from the first job until 8s after the server's return, it logs and
// checks the total time two or more jobs ran at once, which must be 0.00s
// (the promise: one job at a time), and that a job runs again within 5s
// of the server's return.
//
// A third subtest, KilledMidElection, runs a keyed group (Config.Keys):
// once the job runs, its leader resigns and the server is killed at once,
// in the middle of the election that follows, for 6s; the same checks
// apply, and no message may fail verification.
//
// It runs in real time, about 15s per subtest; the Electors use
// ElectionTimeout 200ms, HeartbeatInterval 150ms and HeartbeatTimeout
// 600ms, so the outage lasts ten heartbeat timeouts.
func TestOutage(t *testing.T, newTransport func(t *testing.T) bellwether.Transport, opts ...Option) {
	c := newConfig(opts)
	if c.server == nil {
		t.Fatal("bellwethertest.TestOutage needs the server's control: pass WithServer")
	}
	s := &suite{newTransport: newTransport, config: c}
	t.Run("Frozen", func(t *testing.T) { s.outage(t, false, s.server.Freeze, s.server.Thaw) })
	t.Run("Killed", func(t *testing.T) { s.outage(t, false, s.server.Kill, s.server.Start) })
	t.Run("KilledMidElection", func(t *testing.T) { s.outage(t, true, s.server.Kill, s.server.Start) })
}

// job is one run of OnStartedLeading; end is zero while it runs.
type job struct {
	id         string
	start, end time.Time
}

// jobLog records the jobs of a group's Electors.
type jobLog struct {
	mu   sync.Mutex
	jobs []job
}

func (l *jobLog) callbacks(id string) bellwether.Callbacks {
	return bellwether.Callbacks{OnStartedLeading: func(ctx context.Context) {
		l.mu.Lock()
		i := len(l.jobs)
		l.jobs = append(l.jobs, job{id: id, start: time.Now()})
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		l.jobs[i].end = time.Now()
		l.mu.Unlock()
	}}
}

// running returns how many jobs run now.
func (l *jobLog) running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, j := range l.jobs {
		if j.end.IsZero() {
			n++
		}
	}
	return n
}

// snapshot returns the jobs so far, those still running ending at now.
func (l *jobLog) snapshot(now time.Time) []job {
	l.mu.Lock()
	defer l.mu.Unlock()
	jobs := slices.Clone(l.jobs)
	for i := range jobs {
		if jobs[i].end.IsZero() || jobs[i].end.After(now) {
			jobs[i].end = now
		}
	}
	return jobs
}

// overlap returns the total time during which two or more of jobs ran.
func overlap(jobs []job) time.Duration {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, j := range jobs {
		edges = append(edges, edge{j.start, +1}, edge{j.end, -1})
	}
	// At equal times ends come first: a job that starts the instant
	// another ends does not overlap it.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	var total time.Duration
	n := 0
	for i, e := range edges {
		if n >= 2 {
			total += e.at.Sub(edges[i-1].at)
		}
		n += e.delta
	}
	return total
}

// firstRunning returns how long after from a job ran, and whether one did
// before until.
func firstRunning(jobs []job, from, until time.Time) (time.Duration, bool) {
	best, ok := time.Duration(0), false
	for _, j := range jobs {
		if !j.end.After(from) || j.start.After(until) {
			continue
		}
		d := max(j.start.Sub(from), 0)
		if !ok || d < best {
			best, ok = d, true
		}
	}
	return best, ok
}

// outage runs one outage; midElection makes the group keyed and has its
// leader resign just before the server goes down.
func (s *suite) outage(t *testing.T, midElection bool, down, up func()) {
	trs := make([]bellwether.Transport, 3)
	for i := range trs {
		trs[i] = s.transport(t)
	}
	var keys *bellwether.Keyring
	if midElection {
		k, err := bellwether.GenerateKey()
		if err == nil {
			keys, err = bellwether.ParseKeyring([]byte(k))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var log jobLog
	es := joinElectors(t, trs, UniqueGroup(t, "outage"), outageSettings, log.callbacks, keys)
	leader := awaitOneLeader(t, es, time.Second, recoverTimeout)
	eventually(t, "the leader's job to run", func() error {
		if n := log.running(); n != 1 {
			return fmt.Errorf("%d jobs run", n)
		}
		return nil
	})
	if midElection {
		for _, e := range es {
			if e.ID() == leader {
				ctx, cancel := context.WithTimeout(context.Background(), Timeout)
				err := e.Resign(ctx)
				cancel()
				if err != nil {
					t.Fatalf("Resign of %s: %v", leader, err)
				}
			}
		}
	}

	downAt := time.Now()
	down()
	time.Sleep(outageLength - time.Since(downAt))
	up()
	back := time.Now()
	time.Sleep(watchAfter)
	end := time.Now()

	jobs := log.snapshot(end)
	var lines []string
	for _, j := range jobs {
		lines = append(lines, fmt.Sprintf("%s [%+.2fs, %+.2fs)", j.id, j.start.Sub(downAt).Seconds(), j.end.Sub(downAt).Seconds()))
	}
	both := overlap(jobs)
	again, ok := firstRunning(jobs, back, back.Add(backWithin))
	t.Logf("leader %s; server down at 0s, back at %+.2fs; jobs (relative to the outage): %s",
		leader, back.Sub(downAt).Seconds(), strings.Join(lines, ", "))
	t.Logf("two or more jobs ran at once for %.2fs", both.Seconds())
	if ok {
		t.Logf("a job ran %.2fs after the server's return", again.Seconds())
	}
	if both > 0 {
		t.Errorf("two or more jobs ran at once for %.2fs; want 0.00s", both.Seconds())
	}
	if !ok {
		t.Errorf("no job ran within %v of the server's return", backWithin)
	}
	if midElection {
		for _, e := range es {
			for _, reason := range []string{bellwether.ReasonUnsigned, bellwether.ReasonBadMAC, bellwether.ReasonUnknownKey, bellwether.ReasonGroup, bellwether.ReasonClock} {
				if n := e.Stats().Rejected[reason]; n != 0 {
					t.Errorf("%s rejected %d messages as %s", e.ID(), n, reason)
				}
			}
		}
	}
}
