//go:build unix

package main

// Broker outages at the process level: three `bellwether run` members on a
// private server of each server bus (NATS, Redis, PostgreSQL, MQTT), the
// server frozen (SIGSTOP) for 6s, then killed for 6s and started again on
// the same port. A sampler looks every 2ms at which of the jobs the members
// started still run. Asserted: no time at all with two or more jobs (during
// the outage and after the server's return), and one job again within 5s
// of the return, or on PostgreSQL, whose transport waits up to 5s between
// reconnection attempts, within that wait plus HT + ET + a margin (7.3s). Sampling misses an overlap shorter than the time between
// two samples (on a loaded machine up to a few hundred ms), so each job
// also takes an exclusive flock(1) on a file of the test's, held by its
// process until it dies: a job that starts while another still runs finds
// the lock taken and records so, however short the overlap.
//
// Real time: each bus takes about 20s (start-up, two 6s outages, up to 5s
// to a job after each return, and a 2s look after that for a second job).
// The buses run in parallel, as many at once as -parallel allows: about
// 45s in all with -parallel 2, the default on a 2-core machine.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testserver"
)

// A NATS server of the test's own is this test binary run again (see
// testserver.NATS). init runs before TestMain, so TestMain needs no
// change; in any other process ServeNATSIfAsked returns at once.
func init() { testserver.ServeNATSIfAsked() }

// The outage tests' timings and bounds.
const (
	outET, outHI, outHT = 200 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond
	outFor              = 6 * time.Second // how long the server is frozen or down
	outBack             = 5 * time.Second // one job again within this of its return, at least
	outMargin           = 1500 * time.Millisecond
	// outSettle is how long the test goes on looking for a second job once
	// one runs again: more than a heartbeat timeout and an election, so a
	// member that concluded an election while cut off has had its chance.
	outSettle = 2 * time.Second
	outSample = 2 * time.Millisecond
)

// TestE2EBrokerOutage: on each server bus, three members through a frozen
// and then a killed server. See the top of the file.
func TestE2EBrokerOutage(t *testing.T) {
	t.Parallel()
	binary(t)
	for _, bus := range []struct {
		name   string
		server func(testing.TB) *testserver.Server
		// retry is the transport's longest wait between reconnection
		// attempts (see each transport's doc): a server that returns just
		// after an attempt is found this much later.
		retry time.Duration
	}{
		{"NATS", testserver.NATS, 500 * time.Millisecond},
		{"Redis", testserver.Redis, 2 * time.Second},
		{"PostgreSQL", testserver.Postgres, 5 * time.Second},
		{"MQTT", testserver.Mosquitto, 500 * time.Millisecond},
	} {
		// Once reconnected, a member listens afresh and elects: HT + ET.
		bound := max(outBack, bus.retry+outHT+outET+outMargin)
		t.Run(bus.name, func(t *testing.T) {
			t.Parallel()
			outageScenario(t, bus.server(t), bound)
		})
	}
}

// lockedJob is the members' job when flock(1) is there: it records, as
// jobScript does, its member's id and pid in $0, and whether it got the
// lock on $1 ("locked") or found it held by a job still running
// ("CONFLICT"); its sleep holds the lock until it dies.
const lockedJob = `exec 9>>"$1"; if flock -n 9; then s=locked; else s=CONFLICT; fi; echo "$BELLWETHER_MEMBER_ID $$ $s" >> "$0"; exec sleep 1000`

// outageScenario runs the members on s and takes s down twice; after each
// return one job must run again within bound.
func outageScenario(t *testing.T, s *testserver.Server, bound time.Duration) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	t.Cleanup(func() { killJobs(t, started) })
	job := []string{"sh", "-c", lockedJob, started, filepath.Join(dir, "lock")}
	if _, err := exec.LookPath("flock"); err != nil {
		t.Logf("no flock(1) (%v): the jobs are only sampled", err)
		job = []string{"sh", "-c", jobScript, started}
	}
	group := fmt.Sprintf("outage-%d", rand.Uint32())
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("o%d", i)
		args := []string{"run", "--bus", s.URL().String(), "--group", group, "--id", id,
			"--election-timeout", outET.String(), "--heartbeat-interval", outHI.String(), "--heartbeat-timeout", outHT.String(),
			"--log-level", "debug", "--"}
		start(t, id, append(args, job...)...)
	}
	smp := newJobSampler(t, started)
	awaitJobs(t, started, 1, 10*time.Second, "first election")
	time.Sleep(outHT + outET)
	// Under load a heartbeat can miss its send timeout and the lease lapse
	// (no job for a moment, never two): wait, within a bound, for the
	// group to settle on one job before taking the server down.
	settled := time.Now().Add(10 * time.Second)
	for r := smp.next(); len(r) != 1; r = smp.next() {
		if time.Now().After(settled) {
			t.Fatalf("running jobs %v before the outages, want one; starts: %v", r, readJobs(t, started))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, f := range []struct {
		name         string
		fault, again func()
	}{
		{"Frozen", s.Freeze, s.Thaw},
		{"Killed", s.Kill, s.Start},
	} {
		t.Run(f.name, func(t *testing.T) { outage(t, smp, f.fault, f.again, bound) })
	}
}

// outage takes the server down with fault for outFor, brings it back with
// again, and checks and logs the jobs.
func outage(t *testing.T, smp *jobSampler, fault, again func(), bound time.Duration) {
	// A fresh sample: on a loaded machine the sampler may have been
	// descheduled, and the leader changed meanwhile.
	leader := smp.single(t, "one job before the outage")
	overlap0 := smp.overlapSoFar()
	smp.maxGap()
	conflicts0 := len(smp.conflicts())
	down := time.Now()
	fault()
	time.Sleep(time.Until(down.Add(outFor)))
	calledBack := time.Now()
	again()
	back := time.Now() // the server takes clients again
	var one time.Duration
	var next jobRecord
	for {
		if r := smp.next(); len(r) == 1 {
			one, next = time.Since(back), r[0]
			break
		}
		if time.Since(back) > bound {
			one = -1
			break
		}
	}
	time.Sleep(outSettle)
	end := time.Now()
	overlap := smp.overlapSoFar() - overlap0

	spans := smp.spans(down, end)
	stopped := "still ran at the return"
	if sp, ok := spans[leader]; !ok {
		stopped = "stopped before the outage began" // between the last sample and down
	} else if !sp.end.IsZero() && sp.end.Before(back) {
		stopped = fmt.Sprintf("stopped %.2fs into the outage", sp.end.Sub(down).Seconds())
	}
	var during []string
	for j, sp := range spans {
		if j != leader && sp.start.Before(calledBack) {
			during = append(during, j.id)
		}
	}
	slices.Sort(during)
	t.Logf("the leader's job (%s) %s; other jobs started during the outage: %d %v; server ready %.2fs after the return began",
		leader.id, stopped, len(during), during, back.Sub(calledBack).Seconds())
	t.Logf("timeline (seconds from the server's return; the outage began at %+.2f):\n%s",
		-back.Sub(down).Seconds(), smp.timeline(down, end, back))
	if one < 0 {
		t.Errorf("no single job within %v of the server's return: running %v", bound, smp.current())
	} else {
		t.Logf("one job (%s) %.2fs after the server's return (bound %v)", next.id, one.Seconds(), bound)
		if one > outBack {
			t.Logf("that is more than %v: the transport's wait between reconnection attempts", outBack)
		}
	}
	conflicts := smp.conflicts()[conflicts0:]
	t.Logf("time with two or more jobs: %.2fs (the longest time between two samples: %v); jobs that found the lock held: %d",
		overlap.Seconds(), smp.maxGap().Round(time.Millisecond), len(conflicts))
	if overlap > 0 {
		t.Errorf("two or more jobs ran at once for %v: %s", overlap, smp.overlapsSince(down, back))
	}
	if len(conflicts) > 0 {
		t.Errorf("jobs started while another still ran (they found its lock held): %v", conflicts)
	}
	if r := smp.next(); len(r) != 1 {
		t.Errorf("running jobs %v %v after one ran again, want one", r, outSettle)
	}
}

// span is when a job was seen running: from its first sample to the first
// sample that found it gone (zero while it runs).
type span struct{ start, end time.Time }

// overlapSpan is a stretch between two samples with several jobs running.
type overlapSpan struct {
	from, to time.Time
	jobs     []jobRecord
}

// jobSampler looks every outSample at which jobs recorded in a file run.
type jobSampler struct {
	file     string
	mu       sync.Mutex
	seen     map[jobRecord]*span
	now      []jobRecord
	at       time.Time // of the last sample
	overlap  time.Duration
	overlaps []overlapSpan
	gap      time.Duration // the longest time between two samples
}

// newJobSampler starts sampling the jobs recorded in file; t's cleanup
// stops it.
func newJobSampler(t *testing.T, file string) *jobSampler {
	smp := &jobSampler{file: file, seen: map[jobRecord]*span{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(outSample):
			}
			jobs := readJobs(t, file)
			r := running(jobs)
			at := time.Now()
			smp.mu.Lock()
			for _, j := range r {
				if smp.seen[j] == nil {
					smp.seen[j] = &span{start: at}
				}
			}
			for j, sp := range smp.seen {
				if sp.end.IsZero() && !slices.Contains(r, j) {
					sp.end = at
				}
			}
			// A job that started and ended between two samples.
			for _, j := range jobs {
				if smp.seen[j] == nil && !slices.Contains(r, j) {
					smp.seen[j] = &span{start: at, end: at}
				}
			}
			if len(r) > 1 {
				smp.overlap += at.Sub(last)
				if n := len(smp.overlaps); n > 0 && smp.overlaps[n-1].to.Equal(last) && slices.Equal(smp.overlaps[n-1].jobs, r) {
					smp.overlaps[n-1].to = at
				} else {
					smp.overlaps = append(smp.overlaps, overlapSpan{last, at, r})
				}
			}
			smp.gap = max(smp.gap, at.Sub(last))
			smp.now, smp.at, last = r, at, at
			smp.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return smp
}

// next waits for a sample taken after the call and returns its jobs; if
// none comes within 10s (the sampler is gone), it returns nil.
func (smp *jobSampler) next() []jobRecord {
	t0 := time.Now()
	for time.Since(t0) < 10*time.Second {
		smp.mu.Lock()
		r, at := smp.now, smp.at
		smp.mu.Unlock()
		if at.After(t0) {
			return r
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// single waits until a fresh sample finds one job running, and returns
// it; what names the wait if it times out.
func (smp *jobSampler) single(t *testing.T, what string) jobRecord {
	t.Helper()
	var job jobRecord
	waitFor(t, what, func() bool {
		r := smp.next()
		if len(r) == 1 {
			job = r[0]
		}
		return len(r) == 1
	})
	return job
}

// current returns the jobs of the last sample.
func (smp *jobSampler) current() []jobRecord {
	smp.mu.Lock()
	defer smp.mu.Unlock()
	return smp.now
}

// conflicts returns the lines of the jobs that found the lock held.
func (smp *jobSampler) conflicts() []string {
	b, _ := os.ReadFile(smp.file)
	var c []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, " CONFLICT") {
			c = append(c, line)
		}
	}
	return c
}

// maxGap returns the longest time between two samples since the last
// call: an overlap shorter than that may have gone unseen.
func (smp *jobSampler) maxGap() time.Duration {
	smp.mu.Lock()
	defer smp.mu.Unlock()
	g := smp.gap
	smp.gap = 0
	return g
}

func (smp *jobSampler) overlapSoFar() time.Duration {
	smp.mu.Lock()
	defer smp.mu.Unlock()
	return smp.overlap
}

// spans returns the jobs seen running at some time in [from, to].
func (smp *jobSampler) spans(from, to time.Time) map[jobRecord]span {
	smp.mu.Lock()
	defer smp.mu.Unlock()
	m := map[jobRecord]span{}
	for j, sp := range smp.seen {
		if sp.start.After(to) || (!sp.end.IsZero() && sp.end.Before(from)) {
			continue
		}
		m[j] = *sp
	}
	return m
}

// timeline describes the jobs seen running in [from, to], in seconds
// from ref.
func (smp *jobSampler) timeline(from, to, ref time.Time) string {
	spans := smp.spans(from, to)
	jobs := make([]jobRecord, 0, len(spans))
	for j := range spans {
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b jobRecord) int { return spans[a].start.Compare(spans[b].start) })
	var b strings.Builder
	for _, j := range jobs {
		sp := spans[j]
		end := "running"
		if !sp.end.IsZero() {
			end = fmt.Sprintf("%+.3f", sp.end.Sub(ref).Seconds())
		}
		fmt.Fprintf(&b, "\t%s (pid %d): %+.3f to %s\n", j.id, j.pid, sp.start.Sub(ref).Seconds(), end)
	}
	return b.String()
}

// overlapsSince describes the stretches with several jobs since from, in
// seconds from ref.
func (smp *jobSampler) overlapsSince(from, ref time.Time) string {
	smp.mu.Lock()
	defer smp.mu.Unlock()
	var parts []string
	for _, o := range smp.overlaps {
		if o.to.Before(from) {
			continue
		}
		var ids []string
		for _, j := range o.jobs {
			ids = append(ids, j.id)
		}
		parts = append(parts, fmt.Sprintf("%+.3f..%+.3f %v", o.from.Sub(ref).Seconds(), o.to.Sub(ref).Seconds(), ids))
	}
	if len(parts) > 20 {
		parts = append(parts[:10], append([]string{"…"}, parts[len(parts)-10:]...)...)
	}
	return strings.Join(parts, "; ")
}
