//go:build linux

package main

// Tests of the guard: the job's whole process tree goes when the member is
// killed, when the guard is killed, and when the lease runs out. They find
// the job's processes by a marker in their command lines, in /proc, so
// they run on Linux only. The bounds are real time: killBound for a tree
// to go after kill -9 (SIGKILL and a pipe's end are immediate; the rest
// is scheduling on a loaded machine).

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
)

const killBound = 2 * time.Second

// marker returns a sleep duration no other process uses, to find the
// processes that sleep it.
func marker() string {
	return fmt.Sprintf("%d.%06d", 3000+rand.IntN(1000), rand.IntN(1000000))
}

// pidsWith returns the live processes whose command line holds each of
// words, as separate arguments.
func pidsWith(words ...string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		ok := true
		for _, w := range words {
			ok = ok && slices.Contains(args, w)
		}
		if ok && processExists(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// awaitPids waits up to bound until each marker is slept by a process.
func awaitPids(t *testing.T, bound time.Duration, markers ...string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		missing := ""
		for _, m := range markers {
			if len(pidsWith("sleep", m)) == 0 {
				missing = m
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process sleeps %s within %v", missing, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitGone waits up to bound until no process sleeps any of markers, and
// returns how long it took; it fails t (and kills them) if some remain.
func awaitGone(t *testing.T, bound time.Duration, markers ...string) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		var left []int
		for _, m := range markers {
			left = append(left, pidsWith("sleep", m)...)
		}
		if len(left) == 0 {
			return time.Since(t0)
		}
		if time.Since(t0) > bound {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("processes %v of the job still run %v later", left, bound)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startTreeMember starts a member alone in its group, whose job's tree
// holds a wrapper script's foreground child and both sleeps of
// sh -c 'a & b', and waits for that tree. It returns the member, the job's
// command line and the markers its processes sleep.
func startTreeMember(t *testing.T) (m *proc, argv []string, markers []string) {
	argv, markers = treeJob(t)
	args := append([]string{"run", "--bus", "local://" + t.TempDir(), "--group", "tree"}, e2eTimings...)
	m = start(t, "member", append(append(args, "--"), argv...)...)
	awaitPids(t, 10*time.Second, markers...)
	return m, argv, markers
}

func treeJob(t *testing.T) (argv []string, markers []string) {
	m1, m2, m3 := marker(), marker(), marker()
	wrapper := filepath.Join(t.TempDir(), "wrapper.sh")
	// The echo keeps the shell from replacing itself with the sleep.
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nsleep "+m1+"\necho done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`%s & sh -c 'sleep %s & sleep %s'; wait`, wrapper, m2, m3)
	t.Cleanup(func() {
		for _, m := range []string{m1, m2, m3} {
			for _, pid := range pidsWith("sleep", m) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return []string{"sh", "-c", script}, []string{m1, m2, m3}
}

// TestE2EKillMemberKillsJobTree: kill -9 of a member takes its job's whole
// tree down at once, grandchildren included.
func TestE2EKillMemberKillsJobTree(t *testing.T) {
	t.Parallel()
	m, _, markers := startTreeMember(t)
	syscall.Kill(m.pid, syscall.SIGKILL)
	took := awaitGone(t, killBound, markers...)
	t.Logf("the job's tree was gone %v after kill -9 of the member (bound %v)", took, killBound)
}

// TestE2EKillGuardKillsJobTree: kill -9 of the guard does the same, and
// the member, which lost its job, withdraws and exits 1.
func TestE2EKillGuardKillsJobTree(t *testing.T) {
	t.Parallel()
	m, argv, markers := startTreeMember(t)
	guards := pidsWith(guardName, argv[2])
	if len(guards) != 1 {
		t.Fatalf("found guards %v, want one", guards)
	}
	syscall.Kill(guards[0], syscall.SIGKILL)
	took := awaitGone(t, killBound, markers...)
	t.Logf("the job's tree was gone %v after kill -9 of the guard (bound %v)", took, killBound)
	if code := m.wait(t, 10*time.Second); code != exitFailure {
		t.Errorf("the member exited %d, want %d", code, exitFailure)
	}
	if !strings.Contains(m.stderr.String(), "the guard process died") {
		t.Errorf("the member's log does not say the guard died:\n%s", m.stderr)
	}
}

// TestE2EStatusInsideJob: a bellwether status run by the job reports the
// leader with no flags but a generous --wait: the job's environment names
// the member's bus and group but not its id or its --http address.
func TestE2EStatusInsideJob(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	out := filepath.Join(t.TempDir(), "out")
	port := testenv.FreePort(t)
	args := append([]string{"run", "--bus", "local://" + t.TempDir(), "--group", "nested", "--id", "lead-1",
		"--http", fmt.Sprintf("127.0.0.1:%d", port)}, e2eTimings...)
	args = append(args, "--", "sh", "-c", `"$0" status --wait 5s > "$1.tmp" 2>&1; echo "exit $?" >> "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 1000`, bin, out)
	m := start(t, "member", args...)
	var got []byte
	waitFor(t, "the job's status to finish", func() bool {
		var err error
		got, err = os.ReadFile(out)
		return err == nil
	})
	if string(got) != "lead-1\nexit 0\n" {
		t.Errorf("bellwether status inside the job printed %q, want %q; member's log:\n%s", got, "lead-1\nexit 0\n", m.stderr)
	}
}

// TestGuardLeaseExpiry: a guard given a 300ms lease and no renewal kills
// the job's whole group when it ends, not before; a grace period longer
// than the lease ends with the lease; and a lease line written late (the
// member was descheduled between reading its clock and writing) does not
// extend the lease (on Linux, where the line holds the shared clock's
// instant).
func TestGuardLeaseExpiry(t *testing.T) {
	const lease = 300 * time.Millisecond
	for _, tt := range []struct {
		name  string
		term  bool          // send term with a grace of one hour
		trap  string        // the job ignores SIGTERM
		delay time.Duration // the lease line is written this long after it was made
		early time.Duration // the job still runs this long after the lease was made
		late  time.Duration // and is gone this long after, at most
	}{
		{name: "no renewal", early: lease - 100*time.Millisecond, late: lease + killBound},
		{name: "grace past the lease", term: true, trap: `trap "" TERM; `, early: lease - 100*time.Millisecond, late: lease + killBound},
		// Relative to the guard's reading, the lease would end at 700ms.
		{name: "line written late", delay: 400 * time.Millisecond, late: 400*time.Millisecond + 250*time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("starts processes; skipped with -short")
			}
			m1, m2 := marker(), marker()
			argv := []string{"sh", "-c", fmt.Sprintf(`%ssleep %s & sleep %s; wait`, tt.trap, m1, m2)}
			g, err := startGuard("/bin/sh", argv, os.Environ(), nil, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer g.close()
			// Started without a lease, the job runs until told otherwise;
			// the lease is given once its tree is there.
			g.send(guardStart, time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := g.awaitReport(ctx)
			if err != nil || r.kind != guardStarted {
				t.Fatalf("first report %+v, %v; want started", r, err)
			}
			awaitPids(t, 10*time.Second, m1, m2)
			t0 := time.Now()
			line := leaseLine(t0.Add(lease))
			time.Sleep(tt.delay)
			io.WriteString(g.ctl, line+"\n")
			if tt.term {
				g.send(guardTerm, time.Hour)
			}
			if tt.early > 0 {
				time.Sleep(time.Until(t0.Add(tt.early)))
				alive := len(pidsWith("sleep", m1)) > 0 && len(pidsWith("sleep", m2)) > 0
				// Conclusive only if the look ended before the lease did.
				if at := time.Since(t0); !alive && at < lease {
					t.Fatalf("the job was killed before its lease ended (gone %v after it was given)", at)
				}
			}
			awaitGone(t, time.Until(t0.Add(tt.late)), m1, m2)
			took := time.Since(t0)
			t.Logf("the job's group was gone %v after a %v lease was made (bound %v)", took, lease, tt.late)
			if took < lease {
				t.Errorf("the job was killed %v after its %v lease was made", took, lease)
			}
			var kinds []string
			for {
				r, err := g.awaitReport(ctx)
				if err != nil {
					t.Fatalf("after %v: %v", kinds, err)
				}
				kinds = append(kinds, r.kind)
				if r.kind == guardExited {
					if r.n != 128+int(syscall.SIGKILL) {
						t.Errorf("exit status %d, want %d", r.n, 128+int(syscall.SIGKILL))
					}
					break
				}
			}
			want := []string{guardExpired, guardKilling, guardExited}
			if tt.term {
				want = []string{guardKilling, guardExited}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("reports %v, want %v", kinds, want)
			}
		})
	}
}

// TestE2EFrozenLeader: a leader frozen (SIGSTOP) for longer than the
// heartbeat timeout has its job killed by its guard when its lease ends,
// before another member's job starts; after it thaws it does not run the
// job again on its own. Three members on the default local bus, the
// leader frozen three times for 2s: no time with two jobs (sampled every
// 2ms), and one job again within HT + ET + 0.5s of each thaw.
func TestE2EFrozenLeader(t *testing.T) {
	t.Parallel()
	const (
		ht, et, hi = 600 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond
		freeze     = 2 * time.Second
		bound      = ht + et + 500*time.Millisecond
	)
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	group := fmt.Sprintf("frozen-%d", rand.Uint32())
	members := map[string]*proc{}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("f%d", i)
		members[id] = start(t, id, "run", "--group", group, "--id", id,
			"--heartbeat-timeout", ht.String(), "--election-timeout", et.String(), "--heartbeat-interval", hi.String(),
			"--", "sh", "-c", `echo "$BELLWETHER_MEMBER_ID $$" >> "$0"; exec sleep 1000`, started)
	}
	smp := newJobSampler(t, started) // every 2ms, as outSample
	awaitJobs(t, started, 1, 10*time.Second, "first election")
	for i := range 3 {
		leader := smp.single(t, "one job")
		m := members[leader.id]
		frozen := time.Now()
		syscall.Kill(m.pid, syscall.SIGSTOP)
		var killed, next time.Duration
		for time.Since(frozen) < freeze {
			r := smp.current()
			if killed == 0 && !slices.Contains(r, leader) {
				killed = time.Since(frozen)
			}
			if next == 0 && len(r) > 0 && r[0] != leader {
				next = time.Since(frozen)
			}
			time.Sleep(2 * time.Millisecond)
		}
		syscall.Kill(m.pid, syscall.SIGCONT)
		t.Logf("freeze %d of %s: its job killed %v after the freeze, the next job started after %v", i+1, leader.id, killed, next)
		thaw := time.Now()
		for {
			if r := smp.current(); len(r) == 1 {
				t.Logf("freeze %d of %s: one job (%s) again %v after the thaw (bound %v)", i+1, leader.id, r[0].id, time.Since(thaw), bound)
				break
			}
			if time.Since(thaw) > bound {
				t.Fatalf("freeze %d of %s: jobs %v %v after the thaw, want one", i+1, leader.id, smp.current(), bound)
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(bound) // the thawed member must not start a job on its own
	}
	overlap := smp.overlapSoFar()
	t.Logf("time with two jobs: %.2fs", overlap.Seconds())
	if overlap > 0 {
		t.Errorf("two jobs ran at once for %v", overlap)
	}
}
