package main

// The guard: a small process between a member and its job, so that the
// job obeys the lease even when the member cannot (it is frozen, wedged
// or killed). run starts one guard per job, as "bellwether _guard PATH
// ARGV...". The guard starts the job when told to, in a process group of
// its own, and kills that whole group with SIGKILL when
//
//   - the lease the member last gave it runs out (the member did not renew
//     it in time: frozen by SIGSTOP, a long pause, a wedged process);
//   - its pipe from the member closes (the member died, kill -9 included);
//   - the member tells it to (the grace period after SIGTERM is over, or
//     a second signal).
//
// The member learns of the guard's death from its report pipe closing and
// then kills the job's group itself; on Linux the job's first process also
// dies with the guard (parent-death signal).
//
// The member writes lines on the guard's file descriptor 3, the guard
// answers on its descriptor 4:
//
//	member → guard                     guard → member
//	until MONO     renew the lease     started PID    the job runs, in group PID
//	lease NANOS    renew the lease     failed MSG     the job could not start
//	start GRACE    start the job       expired        the lease ran out: SIGKILL sent
//	term GRACE     SIGTERM the group   killing WHY    SIGKILL sent, and why
//	kill           SIGKILL the group   exited STATUS  the job and its group are gone
//
// MONO is the lease's end on the host's CLOCK_MONOTONIC (Linux), which
// both processes read, so the guard's deadline is the member's however
// long the line took to be written and read: a member descheduled or
// frozen just before it writes cannot extend the lease. Where that clock
// cannot be read, NANOS is the time left on the lease when the member
// wrote it, each process measuring time on its own monotonic clock: the
// guard's deadline is then the instant it read the line plus NANOS, later
// than the member's by the time between the member's reading of its clock
// and the guard's reading of the line. GRACE, in nanoseconds, is how long
// the group has between SIGTERM and SIGKILL (never past the lease): after
// term, and when the job's first process exits on its own while others of
// its group still run. The guard exits after "exited", or at once when its
// pipe closes before a job was started.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

const guardName = "_guard"

// Messages between a member and its guard.
const (
	guardUntil   = "until"
	guardLease   = "lease"
	guardStart   = "start"
	guardTerm    = "term"
	guardKill    = "kill"
	guardStarted = "started"
	guardFailed  = "failed"
	guardExpired = "expired"
	guardKilling = "killing"
	guardExited  = "exited"
)

// guardFD are the guard's descriptors: from the member, to the member.
const (
	guardCtlFD    = 3
	guardReportFD = 4
)

// renewEvery is how often a member passes its lease on to the guard. The
// lease moves on with each acknowledged heartbeat, one every
// HeartbeatInterval; a fraction of it keeps the guard's deadline within a
// few milliseconds of the member's.
func renewEvery(heartbeatInterval time.Duration) time.Duration {
	return min(max(heartbeatInterval/8, 5*time.Millisecond), 50*time.Millisecond)
}

// guardReport is one line from the guard.
type guardReport struct {
	kind string
	n    int    // started: the pid; exited: the status
	msg  string // failed: why
}

func parseGuardReport(line string) (guardReport, error) {
	kind, rest, _ := strings.Cut(line, " ")
	r := guardReport{kind: kind}
	switch kind {
	case guardStarted, guardExited:
		n, err := strconv.Atoi(rest)
		if err != nil {
			return r, fmt.Errorf("bad %s report %q", kind, line)
		}
		r.n = n
	case guardFailed, guardKilling:
		r.msg = rest
	case guardExpired:
	default:
		return r, fmt.Errorf("unknown report %q", line)
	}
	return r, nil
}

// guardClient is a member's end of a guard.
type guardClient struct {
	cmd *exec.Cmd
	ctl *os.File // the guard reads it as its descriptor 3
	// reports delivers the guard's reports, and is closed when the guard's
	// report pipe closes: the guard exited or was killed.
	reports <-chan guardReport
	done    chan struct{} // closed when the guard process was reaped
}

// startGuard starts a guard for the job argv (path resolved), with env
// and the given standard files, which the job inherits. The job does not
// start until start.
func startGuard(path string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (*guardClient, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to start the guard: %v", err)
	}
	// The guard must speak this program's protocol: on Linux, run this
	// very binary even if an upgrade has replaced the file since.
	prog := exe
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		prog = "/proc/self/exe"
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:       prog,
		Args:       append([]string{exe, guardName, path}, argv...),
		Env:        env,
		Stdin:      stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{ctlR, repW}, // descriptors 3 and 4
		WaitDelay:  time.Second,
	}
	prepareGuard(cmd)
	err = cmd.Start()
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, fmt.Errorf("cannot start the guard: %v", err)
	}
	reports := make(chan guardReport, 8)
	g := &guardClient{cmd: cmd, ctl: ctlW, reports: reports, done: make(chan struct{})}
	go func() {
		defer close(reports)
		defer repR.Close()
		sc := bufio.NewScanner(repR)
		for sc.Scan() {
			r, err := parseGuardReport(sc.Text())
			if err != nil {
				r = guardReport{kind: guardFailed, msg: "guard: " + err.Error()}
			}
			reports <- r
		}
	}()
	go func() {
		defer close(g.done)
		cmd.Wait()
	}()
	return g, nil
}

// send writes one line to the guard.
func (g *guardClient) send(kind string, d time.Duration) error {
	line := kind
	if kind != guardKill {
		line += " " + strconv.FormatInt(int64(d), 10)
	}
	_, err := io.WriteString(g.ctl, line+"\n")
	return err
}

// leaseLine is the line that gives the guard a lease ending at exp.
func leaseLine(exp time.Time) string {
	// The shared clock first: a pause before time.Until makes the
	// deadline earlier, never later.
	mono, ok := monotonicNow()
	left := time.Until(exp)
	if ok {
		return guardUntil + " " + strconv.FormatInt(int64(mono+left), 10)
	}
	return guardLease + " " + strconv.FormatInt(int64(left), 10)
}

// lease gives the guard a lease ending at exp.
func (g *guardClient) lease(exp time.Time) error {
	_, err := io.WriteString(g.ctl, leaseLine(exp)+"\n")
	return err
}

// close closes the guard's pipe, which makes it kill what is left of the
// job, and waits for it to exit.
func (g *guardClient) close() {
	g.ctl.Close()
	for range g.reports {
	}
	<-g.done
}

// errGuardGone is the report pipe closing before "exited".
var errGuardGone = errors.New("the guard process died")

// awaitReport returns the guard's next report, or errGuardGone.
func (g *guardClient) awaitReport(ctx context.Context) (guardReport, error) {
	select {
	case r, ok := <-g.reports:
		if !ok {
			return r, errGuardGone
		}
		return r, nil
	case <-ctx.Done():
		return guardReport{}, ctx.Err()
	}
}
