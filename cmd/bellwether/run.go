package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether"
)

var runCmd = command{
	name:     "run",
	synopsis: "[flags] -- COMMAND [ARGS...]",
	about: `
Joins the group and, while this member leads, runs COMMAND with stdin,
stdout and stderr passed through and BELLWETHER_GROUP and BELLWETHER_ID
added to its environment.

When leadership is lost, COMMAND's process group gets SIGTERM, then SIGKILL
after --grace; the member stays in the group and runs COMMAND again if it
leads again. When COMMAND exits on its own, the member withdraws (so another
is elected at once) and run exits with COMMAND's status (128+N if signal N
killed it); COMMAND is not run again. On SIGINT, SIGTERM or SIGHUP, run stops
COMMAND the same way, withdraws and exits 0; a second signal kills COMMAND
at once. One member never runs two COMMANDs at a time. On Linux, COMMAND is
killed if run itself is killed.

COMMAND runs in a process group of its own, so it cannot read from the
terminal. Start-up errors (bad flag, URL or settings, unreachable bus,
COMMAND not found) print one line and exit 2.`,
	examples: `  # Run a report on one of the hosts where this line runs (from cron, say):
  bellwether run --bus nats://nats.internal:4222 --group nightly-report -- ./report.sh

  # Three local workers; one consumes the queue at a time:
  for i in 1 2 3; do bellwether run --group consumer -- ./consume --queue jobs & done

  # Faster failover, a status server, JSON logs:
  bellwether run --group sync --heartbeat-interval 500ms --heartbeat-timeout 2s \
      --election-timeout 300ms --http 127.0.0.1:9090 --log-format json -- ./sync`,
}

func (c *cli) cmdRun(ctx context.Context, args []string) int {
	fs := newFlagSet(runCmd.name)
	var co common
	co.register(fs)
	var grace time.Duration
	durationVar(fs, &grace, "grace", 10*time.Second, "how long COMMAND has to exit after SIGTERM before it gets SIGKILL")
	if code, done := c.parse(runCmd, fs, args); done {
		return code
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return c.fail(runCmd.name, exitUsage, fmt.Errorf("missing COMMAND; write bellwether run [flags] -- COMMAND [ARGS...]"))
	}
	if err := co.validate(); err != nil {
		return c.fail(runCmd.name, exitUsage, err)
	}
	if grace < 0 {
		return c.fail(runCmd.name, exitUsage, fmt.Errorf("--grace %v: must not be negative", grace))
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return c.fail(runCmd.name, exitUsage, fmt.Errorf("cannot run COMMAND: %v", unwrapExec(err)))
	}
	base := co.logger(c.stderr)
	j := &job{
		log:    memberLog(base, &co),
		path:   path,
		argv:   argv,
		env:    append(append([]string(nil), c.environ...), "BELLWETHER_GROUP="+co.group, "BELLWETHER_ID="+co.id),
		grace:  grace,
		stdin:  c.stdin,
		stdout: c.stdout,
		stderr: c.stderr,
		hurry:  make(chan struct{}),
		exited: make(chan int, 1),
	}
	m, err := c.join(ctx, &co, base, false, bellwether.Callbacks{
		OnStartedLeading: j.lead,
		OnNewLeader: func(id string) {
			if id == "" {
				j.log.Info("no leader known")
			} else {
				j.log.Info("leader", "leader", id, "self", id == co.id)
			}
		},
	})
	if err != nil {
		return c.fail(runCmd.name, exitUsage, err)
	}
	select {
	case code := <-j.exited:
		j.log.Info("withdrawing: COMMAND exited", "status", code)
		m.close()
		return code
	case s := <-c.signals:
		j.log.Info("stopping", "signal", s.String())
	case <-ctx.Done():
		j.log.Info("stopping", "reason", ctx.Err())
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		m.close() // stops COMMAND first, then withdraws
	}()
	var once sync.Once
	for {
		select {
		case <-closed:
			j.log.Info("stopped")
			return exitOK
		case s := <-c.signals:
			once.Do(func() {
				j.log.Warn("second signal: killing COMMAND now", "signal", s.String())
				close(j.hurry)
			})
		}
	}
}

// unwrapExec drops exec's "exec: " prefix.
func unwrapExec(err error) error {
	if e, ok := err.(*exec.Error); ok {
		return fmt.Errorf("%q: %v", e.Name, e.Err)
	}
	return err
}

// job runs COMMAND while the member leads.
type job struct {
	log            *slog.Logger
	path           string
	argv           []string
	env            []string
	grace          time.Duration
	stdin          io.Reader
	stdout, stderr io.Writer
	hurry          chan struct{} // closed to skip the grace period
	exited         chan int      // COMMAND's status, when it exited on its own
	finished       atomic.Bool   // COMMAND exited on its own: never start it again
}

// lead is OnStartedLeading: it runs COMMAND until it exits or ctx, the
// leadership, ends. It returns only once COMMAND and its process group are
// gone, and the Elector starts no other job before it returns, so one
// member never runs two COMMANDs at once.
func (j *job) lead(ctx context.Context) {
	if j.finished.Load() {
		return
	}
	if code, own := j.runOnce(ctx); own {
		j.finished.Store(true)
		j.exited <- code
	}
}

// runOnce runs COMMAND once. own reports that COMMAND exited by itself
// (or could not start), with status code; otherwise it was stopped because
// ctx ended.
func (j *job) runOnce(ctx context.Context) (code int, own bool) {
	// The parent-death signal fires when the thread that started the
	// child exits: keep this goroutine on its thread while the child runs.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := &exec.Cmd{Path: j.path, Args: j.argv, Env: j.env, Stdout: j.stdout, Stderr: j.stderr, WaitDelay: time.Second}
	if j.stdin != nil {
		cmd.Stdin = j.stdin
	}
	prepare(cmd)
	if err := ctx.Err(); err != nil {
		return 0, false // leadership lost before the job could start
	}
	if err := cmd.Start(); err != nil {
		j.log.Error("cannot start COMMAND", "err", err)
		return 126, true
	}
	pid := cmd.Process.Pid
	j.log.Info(msgStarted, "pid", pid)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		cmd.Wait()
	}()
	select {
	case <-waited:
		code := exitStatus(cmd.ProcessState)
		j.log.Info(msgExited, "pid", pid, "status", code)
		return code, true
	case <-ctx.Done():
	}
	j.log.Info("leadership lost: stopping COMMAND", "pid", pid, "grace", j.grace)
	deadline := time.NewTimer(j.grace)
	defer deadline.Stop()
	signalGroup(pid, syscall.SIGTERM)
	killed := false
	kill := func(why string) {
		if !killed {
			j.log.Warn("killing COMMAND: "+why, "pid", pid)
			signalGroup(pid, syscall.SIGKILL)
			killed = true
		}
	}
	select {
	case <-waited:
	case <-deadline.C:
		kill("it did not exit within the grace period")
		<-waited
	case <-j.hurry:
		kill("asked to hurry")
		<-waited
	}
	// What COMMAND started in its process group goes with it.
	for groupExists(pid) && !killed {
		select {
		case <-deadline.C:
			kill("processes it started did not exit within the grace period")
		case <-j.hurry:
			kill("asked to hurry")
		case <-time.After(20 * time.Millisecond):
		}
	}
	j.log.Info(msgStopped, "pid", pid, "status", exitStatus(cmd.ProcessState))
	return 0, false
}

// Log messages the demo reads from its members.
const (
	msgStarted = "COMMAND started"
	msgExited  = "COMMAND exited"
	msgStopped = "COMMAND stopped"
)
