package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether/internal/timings"
)

// The demo's timings: short, so that the whole show takes seconds.
var demoSettings = timings.Fast

const (
	demoMembers = 5
	demoGroup   = "demo"
	demoJobName = "_demo-job"
	demoStep    = 10 * time.Second // the longest any step may take
)

// demo is one showing: the script in this file, the members' supervision
// in demo_proc.go, the rendering in demo_render.go.
type demo struct {
	c       *cli
	out     io.Writer
	color   bool
	start   time.Time
	dir     string
	members []*demoMember
	events  chan demoEvent
}

func (c *cli) cmdDemo(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	if code, done := c.parse(cmd, fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("unexpected argument %q; demo takes no arguments", fs.Arg(0)))
	}
	exe, err := os.Executable()
	if err != nil {
		return c.fail(cmd.name, exitFailure, fmt.Errorf("cannot find this program to start members: %v", err))
	}
	dir, err := os.MkdirTemp("", "bellwether-demo-")
	if err != nil {
		return c.fail(cmd.name, exitFailure, fmt.Errorf("cannot make the bus directory: %v", err))
	}
	defer os.RemoveAll(dir)
	// Members die with the thread that started them (see prepare).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	d := &demo{c: c, out: c.stdout, color: c.isTerminal(c.stdout), dir: dir, events: make(chan demoEvent, 64)}
	code, err := d.show(ctx, exe)
	d.stopAll()
	if err != nil {
		fmt.Fprintln(d.out)
		if errors.Is(err, errInterrupted) {
			fmt.Fprintf(d.out, "Interrupted: stopped every member and removed %s.\n", dir)
			return 128 + int(syscall.SIGINT)
		}
		return c.fail(cmd.name, code, err)
	}
	fmt.Fprintf(d.out, "\nAll %d members and their jobs have exited; removed %s.\n", demoMembers, dir)
	return exitOK
}

var errInterrupted = errors.New("interrupted")

// show runs the demo's script.
func (d *demo) show(ctx context.Context, exe string) (int, error) {
	s := demoSettings
	bus := "local://" + d.dir
	d.title("bellwether demo")
	d.printf("%d members, each a \"bellwether run\" process, on a private local bus in %s.\n", demoMembers, d.dir)
	d.printf("Timings: election timeout %v, heartbeat every %v, heartbeat timeout %v.\n", s.ElectionTimeout, s.HeartbeatInterval, s.HeartbeatTimeout)
	d.printf("Each member runs a job while it leads; the column on the right shows the members:\n")
	d.printf("L leads and runs its job, . follows, x killed, - stopped.\n")

	// An observer, in this process, tells when the group knows a leader.
	stop, err := d.observe(ctx, bus)
	if err != nil {
		return exitFailure, err
	}
	defer stop()

	// 1. Election.
	d.section("1. Election")
	d.start = time.Now()
	for i := 1; i <= demoMembers; i++ {
		if err := d.spawn(exe, bus, i); err != nil {
			return exitFailure, err
		}
	}
	d.line(time.Now(), "started member-1 to member-%d (pids %s)", demoMembers, d.memberPids())
	first, err := d.waitFor(func(ev demoEvent) bool { return ev.m != nil && ev.event == eventStarted })
	if err != nil {
		return exitFailure, err
	}
	election := first.at.Sub(d.start)
	d.note("%s was elected and started its job %s after the members started", first.m.id, fmtDur(election))
	if err := d.settle(1500 * time.Millisecond); err != nil {
		return exitFailure, err
	}

	// 2. Failover.
	d.section("2. Failover: kill -9 the leader")
	leader := first.m
	killedJob := leader.jobPid
	leader.ending, leader.state = true, 'x'
	next, failover, err := d.replace(leader, syscall.SIGKILL, "SIGKILL")
	if err != nil {
		return exitFailure, err
	}
	d.note("failover took %s (expected: heartbeat timeout + election timeout = %s, give or take a heartbeat)",
		fmtDur(failover), fmtDur(s.HeartbeatTimeout+s.ElectionTimeout))
	if killedJob != 0 {
		if processExists(killedJob) {
			signalProcess(killedJob, syscall.SIGKILL)
			d.note("%s's job (pid %d) outlived it and was killed now", leader.id, killedJob)
		} else {
			d.note("%s's job (pid %d) died with it", leader.id, killedJob)
		}
	}
	if err := d.settle(1500 * time.Millisecond); err != nil {
		return exitFailure, err
	}

	// 3. Handover.
	d.section("3. Handover: stop the leader cleanly")
	leader = next.m
	leader.ending = true
	third, handover, err := d.replace(leader, syscall.SIGTERM, "SIGTERM")
	if err != nil {
		return exitFailure, err
	}
	d.note("handover took %s (expected: about the election timeout, %s)", fmtDur(handover), fmtDur(s.ElectionTimeout))
	if err := d.settle(time.Second); err != nil {
		return exitFailure, err
	}

	d.section("Summary")
	d.printf("  %-10s %-10s %-8s %s\n", "step", "measured", "leader", "expected")
	d.printf("  %-10s %-10s %-8s %s\n", "election", fmtDur(election), first.m.id, fmt.Sprintf("about %s after start-up: a new member listens for the lease's length", fmtDur(s.HeartbeatTimeout-s.ElectionTimeout/2)))
	d.printf("  %-10s %-10s %-8s %s\n", "failover", fmtDur(failover), next.m.id, fmt.Sprintf("about %s: heartbeat timeout + election timeout", fmtDur(s.HeartbeatTimeout+s.ElectionTimeout)))
	d.printf("  %-10s %-10s %-8s %s\n", "handover", fmtDur(handover), third.m.id, fmt.Sprintf("about %s: election timeout", fmtDur(s.ElectionTimeout)))
	d.printf("\nA crashed leader is replaced once its heartbeats time out; a leader that\n")
	d.printf("stops cleanly withdraws, and the next is elected at once. Try it for real:\n")
	d.printf("  bellwether run --group mygroup -- COMMAND   (on several hosts, add --bus nats://...)\n")

	d.section("Stopping the other members")
	return exitOK, nil
}

// replace sends the leader sig (named name) and waits for another member's
// job to start; it returns that event and how long it took.
func (d *demo) replace(leader *demoMember, sig syscall.Signal, name string) (demoEvent, time.Duration, error) {
	t0 := time.Now()
	signalProcess(leader.pid, sig)
	d.line(t0, "sent %s to %s (pid %d)", name, leader.id, leader.pid)
	next, err := d.waitFor(func(ev demoEvent) bool { return ev.m != nil && ev.m != leader && ev.event == eventStarted })
	return next, next.at.Sub(t0), err
}
