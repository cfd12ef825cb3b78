package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether"
)

func (c *cli) cmdRun(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	var co common
	co.register(fs)
	var grace time.Duration
	durationVar(fs, &grace, "grace", 10*time.Second, "how long COMMAND has to exit after SIGTERM before it gets SIGKILL\n(never past the end of this member's lease)")
	fs.StringVar(&co.value, "value", "", fmt.Sprintf("a `STRING` this member announces while it leads, typically its address (at most\n%d bytes of UTF-8); watch, status --json and GET /leader show the leader's", bellwether.MaxValueLength))
	boolVar(fs, &co.preempt, "preempt", "take over from a leader whose id sorts after this member's: that leader\nstops its COMMAND and hands over; this member's COMMAND starts after")
	if code, done := c.parse(cmd, fs, args); done {
		return code
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("missing COMMAND; write bellwether run [flags] -- COMMAND [ARGS...]"))
	}
	if err := c.validate(&co); err != nil {
		return c.fail(cmd.name, exitUsage, err)
	}
	if grace < 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("--grace %v: must not be negative", grace))
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("cannot run COMMAND: %v", unwrapExec(err)))
	}
	base := co.logger(c.stderr)
	j := &job{
		log:    memberLog(base, &co),
		path:   path,
		argv:   argv,
		env:    jobEnv(c.environ, &co),
		grace:  grace,
		renew:  renewEvery(co.settings.HeartbeatInterval),
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
		return c.fail(cmd.name, exitUsage, err)
	}
	select {
	case code := <-j.exited:
		j.log.Info("withdrawing: COMMAND exited", "status", code)
		m.close()
		return code
	case s := <-c.signals:
		j.stopping.Store(true)
		j.log.Info("stopping", "event", eventStopping, "signal", s.String())
	case <-ctx.Done():
		j.stopping.Store(true)
		j.log.Info("stopping", "event", eventStopping, "reason", ctx.Err())
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

// envEpoch is the variable that gives COMMAND the epoch of the
// leadership it was started in, its fencing token (docs/fencing.md).
const envEpoch = "BELLWETHER_EPOCH"

// jobEnv is COMMAND's environment, but for BELLWETHER_EPOCH, which each
// start adds: environ without the variables that name this one member's
// flags (a bellwether command run by the job would take them for its
// own: the leader's id, its --http address, its --value and --preempt)
// and without an inherited BELLWETHER_EPOCH, with the member's group, bus
// and timings, so that such a command looks at the same group, and
// BELLWETHER_MEMBER_ID, which no flag reads.
func jobEnv(environ []string, co *common) []string {
	set := []string{
		"BELLWETHER_MEMBER_ID=" + co.id,
		"BELLWETHER_GROUP=" + co.group,
		"BELLWETHER_BUS=" + co.busURL(),
		envName("election-timeout") + "=" + co.settings.ElectionTimeout.String(),
		envName("heartbeat-interval") + "=" + co.settings.HeartbeatInterval.String(),
		envName("heartbeat-timeout") + "=" + co.settings.HeartbeatTimeout.String(),
	}
	drop := map[string]bool{envName("id"): true, envName("http"): true, envName("value"): true, envName("preempt"): true, envEpoch: true}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}

// job runs COMMAND, under a guard, while the member leads.
type job struct {
	log            *slog.Logger
	path           string
	argv           []string
	env            []string
	grace          time.Duration
	renew          time.Duration // how often the guard's lease is renewed
	stdin          io.Reader
	stdout, stderr io.Writer
	hurry          chan struct{} // closed to skip the grace period
	exited         chan int      // COMMAND's status, when it exited on its own
	finished       atomic.Bool   // COMMAND exited on its own: never start it again
	stopping       atomic.Bool   // run is stopping on a signal, not losing leadership
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

// runOnce runs COMMAND once, under a guard. own reports that COMMAND
// exited by itself (or could not start, or its guard died), with status
// code; otherwise it was stopped because ctx ended or the lease ran out.
func (j *job) runOnce(ctx context.Context) (code int, own bool) {
	if ctx.Err() != nil {
		return 0, false // leadership lost before the job could start
	}
	epoch, _ := bellwether.Epoch(ctx)
	env := append(slices.Clip(j.env), envEpoch+"="+strconv.FormatUint(epoch, 10))
	g, err := startGuard(j.path, j.argv, env, j.stdin, j.stdout, j.stderr)
	if err != nil {
		j.log.Error("cannot start COMMAND", "err", err)
		return 126, true
	}
	defer g.close()
	var last time.Time
	// renew passes the lease on to the guard when it moved; false when it
	// is over.
	renew := func() bool {
		exp, ok := bellwether.LeaseExpiry(ctx)
		if !ok || exp.Equal(last) {
			return !ok || time.Now().Before(exp)
		}
		last = exp
		g.lease(exp)
		return time.Now().Before(exp)
	}
	if !renew() {
		j.log.Info("lease over before COMMAND could start")
		return 0, false
	}
	g.send(guardStart, j.grace)
	tick := time.NewTicker(j.renew)
	defer tick.Stop()
	pid := 0
	stop, hurry := ctx.Done(), j.hurry
	stopping, expired, lapsed := false, false, false
wait:
	for {
		select {
		case <-tick.C:
			if !renew() && pid > 0 && !lapsed {
				// The guard should have killed the group by now; should it
				// be stopped or wedged itself, the member does.
				lapsed = true
				signalGroup(pid, syscall.SIGKILL)
			}
		case <-stop:
			stop, stopping = nil, true
			if j.stopping.Load() {
				j.log.Info("stopping COMMAND", "pid", pid, "grace", j.grace)
			} else {
				j.log.Info("leadership lost: stopping COMMAND", "pid", pid, "grace", j.grace)
			}
			g.send(guardTerm, j.grace) // the guard kills at the lease's end if sooner
		case <-hurry:
			hurry = nil
			g.send(guardKill, 0)
		case r, ok := <-g.reports:
			if !ok {
				return j.guardGone(pid, stopping)
			}
			switch r.kind {
			case guardStarted:
				pid = r.n
				j.log.Info(msgStarted, "event", eventStarted, "pid", pid, "epoch", epoch)
			case guardFailed:
				if pid == 0 {
					j.log.Error("cannot start COMMAND", "err", r.msg)
					return 126, true
				}
				j.log.Warn("guard", "err", r.msg)
			case guardKilling:
				j.log.Warn("killing COMMAND: "+r.msg, "pid", pid)
			case guardExpired:
				expired = true
				if pid == 0 {
					j.log.Warn("lease over before COMMAND could start")
					break wait
				}
				j.log.Warn("lease over before this member could renew it (was it frozen?): killing COMMAND", "event", eventKilled, "pid", pid)
			case guardExited:
				code = r.n
				break wait
			}
		}
	}
	switch {
	case stopping:
		j.log.Info(msgStopped, "event", eventStopped, "pid", pid, "status", code)
		return 0, false
	case expired:
		// The member will lead again only by the rules; until its
		// leadership ends it runs no job.
		j.log.Info(msgStopped, "event", eventStopped, "pid", pid, "status", code)
		<-ctx.Done()
		return 0, false
	}
	j.log.Info(msgExited, "event", eventExited, "pid", pid, "status", code)
	return code, true
}

// guardGone handles the guard's death before it reported the job's end:
// the job's group is killed here (the guard's children die with it on
// Linux, the rest of the group does not). Unless run was stopping anyway,
// it counts as COMMAND failing: run withdraws and exits 1.
func (j *job) guardGone(pid int, stopping bool) (int, bool) {
	if pid > 0 {
		deadline := time.Now().Add(5 * time.Second)
		for groupExists(pid) && time.Now().Before(deadline) {
			signalGroup(pid, syscall.SIGKILL)
			time.Sleep(5 * time.Millisecond)
		}
	}
	j.log.Error("the guard process died: killed COMMAND's process group", "event", eventKilled, "pid", pid)
	if stopping {
		return 0, false
	}
	return exitFailure, true
}

// Log messages, and the events the demo reads from its members' JSON logs
// (the "event" attribute).
const (
	msgStarted = "COMMAND started"
	msgExited  = "COMMAND exited"
	msgStopped = "COMMAND stopped"

	eventStarted  = "job_started" // with its pid
	eventExited   = "job_exited"  // it exited on its own, with its status
	eventStopped  = "job_stopped" // it was stopped, with its status
	eventKilled   = "job_killed"  // the guard killed it: the lease ran out or the guard died
	eventStopping = "stopping"    // run was told to stop
)
