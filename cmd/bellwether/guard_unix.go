//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// prepareGuard puts the guard in a process group of its own, so that a
// signal meant for the member's group (Ctrl-C, Ctrl-Z on a terminal, kill
// of a process group) does not stop the guard with it. The guard has no
// parent-death signal: when the member dies it must live on long enough
// to kill the job, which its pipe closing tells it to.
func prepareGuard(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// cmdGuard is the guard process: see guard.go.
func (c *cli) cmdGuard(cmd *command, ctx context.Context, args []string) int {
	// The job's own descriptors 3 and 4 must not be the guard's pipes: a
	// job holding the report pipe open would hide the guard's death.
	syscall.CloseOnExec(guardCtlFD)
	syscall.CloseOnExec(guardReportFD)
	ctl := os.NewFile(guardCtlFD, "guard-control")
	rep := os.NewFile(guardReportFD, "guard-report")
	if ctl == nil || rep == nil || len(args) < 2 {
		fmt.Fprintln(c.stderr, "bellwether _guard: started by bellwether run only")
		return exitUsage
	}
	// The job's parent-death signal fires when the thread that started it
	// exits: this one, which stays locked until the guard exits.
	runtime.LockOSThread()
	g := &guardProc{rep: rep, path: args[0], argv: args[1:], env: c.environ}
	return g.loop(readLines(ctl))
}

// readLines delivers r's lines, and closes the channel at EOF or error.
func readLines(r io.ReadCloser) <-chan string {
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// guardProc is the guard's state.
type guardProc struct {
	rep  io.Writer
	path string
	argv []string
	env  []string

	lease   time.Time // the lease's end; zero until the member gives one
	expired bool      // the lease ran out
	grace   time.Duration

	job     *exec.Cmd
	pid     int           // the job's first process and its group, once started
	waited  chan struct{} // closed when the first process was reaped
	exited  bool          // the first process exited
	killAt  time.Time     // SIGKILL for the group at this instant, unless zero
	killed  bool          // SIGKILL was sent
	orphan  bool          // the member's pipe closed
	stopped bool          // term or kill was asked for
}

func (g *guardProc) report(format string, args ...any) {
	fmt.Fprintf(g.rep, format+"\n", args...)
}

// loop runs the guard until the job and its group are gone, or until the
// member's pipe closes before any job started.
func (g *guardProc) loop(lines <-chan string) int {
	var poll <-chan time.Time
	for {
		var timer <-chan time.Time
		var t *time.Timer
		if at := g.nextKill(); !at.IsZero() {
			t = time.NewTimer(time.Until(at))
			timer = t.C
		}
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				g.orphan = true
				if g.job == nil {
					return exitOK
				}
				g.kill("run is gone")
				break
			}
			g.handle(line)
		case <-timer:
			why := "it did not exit within the grace period"
			if !g.lease.IsZero() && !time.Now().Before(g.lease) {
				why = "the lease ended before it exited"
				if !g.expired && !g.stopped {
					g.expired = true
					if g.job != nil {
						g.report(guardExpired)
					}
				}
				g.expired = true
			}
			g.kill(why)
		case <-g.waitedChan():
			g.exited, g.waited = true, nil
			if !g.stopped && !g.killed {
				// The first process exited on its own: what it left in
				// its group stops too, before the member withdraws.
				g.term(g.grace)
			}
			poll = time.Tick(10 * time.Millisecond)
		case <-poll:
		}
		if t != nil {
			t.Stop()
		}
		if g.exited && !groupExists(g.pid) {
			g.report("%s %d", guardExited, exitStatus(g.job.ProcessState))
			return exitOK
		}
		if g.killed && g.job != nil {
			// Again, for what was forked since.
			signalGroup(g.pid, syscall.SIGKILL)
		}
	}
}

func (g *guardProc) waitedChan() <-chan struct{} {
	if g.waited == nil {
		return nil
	}
	return g.waited
}

// nextKill is when the group must get SIGKILL: the end of the lease or of
// the grace period, whichever comes first; zero for never (yet).
func (g *guardProc) nextKill() time.Time {
	if g.killed || (g.job == nil && g.expired) {
		return time.Time{}
	}
	at := g.lease
	if !g.killAt.IsZero() && (at.IsZero() || g.killAt.Before(at)) {
		at = g.killAt
	}
	return at
}

// handle obeys one line from the member.
func (g *guardProc) handle(line string) {
	kind, arg, _ := strings.Cut(line, " ")
	var d time.Duration
	if kind != guardKill {
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			g.report("%s bad line %q", guardFailed, line)
			return
		}
		d = time.Duration(n)
	}
	switch kind {
	case guardLease:
		if !g.expired {
			g.lease = time.Now().Add(d)
		}
	case guardUntil:
		// time.Now first: a pause before monotonicNow makes the deadline
		// earlier, never later.
		now := time.Now()
		mono, ok := monotonicNow()
		if !ok {
			g.report("%s cannot read CLOCK_MONOTONIC", guardFailed)
			mono = d // the lease ends now
		}
		if !g.expired {
			g.lease = now.Add(d - mono)
		}
	case guardStart:
		g.grace = max(d, 0)
		switch {
		case g.job != nil:
			g.report("%s started twice", guardFailed)
		case g.expired || !g.lease.IsZero() && !time.Now().Before(g.lease):
			g.expired = true
			g.report(guardExpired)
		default:
			g.start()
		}
	case guardTerm:
		g.stopped = true
		g.term(d)
	case guardKill:
		g.stopped = true
		g.kill("asked to hurry")
	default:
		g.report("%s unknown command %q", guardFailed, line)
	}
}

func (g *guardProc) start() {
	cmd := &exec.Cmd{Path: g.path, Args: g.argv, Env: g.env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	prepare(cmd)
	if err := cmd.Start(); err != nil {
		g.report("%s %s", guardFailed, oneLine(err))
		return
	}
	g.job, g.pid = cmd, cmd.Process.Pid
	g.waited = make(chan struct{})
	go func(waited chan struct{}) {
		defer close(waited)
		cmd.Wait()
	}(g.waited)
	g.report("%s %d", guardStarted, g.pid)
}

// term sends SIGTERM to the job's group and SIGKILL after grace, or at
// the end of the lease if that comes first.
func (g *guardProc) term(grace time.Duration) {
	if g.job == nil || g.killed {
		return
	}
	signalGroup(g.pid, syscall.SIGTERM)
	at := time.Now().Add(max(grace, 0))
	if g.killAt.IsZero() || at.Before(g.killAt) {
		g.killAt = at
	}
}

// kill sends SIGKILL to the job's group, and tells the member why.
func (g *guardProc) kill(why string) {
	if g.job == nil {
		return
	}
	signalGroup(g.pid, syscall.SIGKILL)
	if !g.killed && !g.exited || !g.killed && groupExists(g.pid) {
		g.report("%s %s", guardKilling, why)
	}
	g.killed = true
}
