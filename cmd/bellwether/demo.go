package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport"
)

var demoCmd = command{
	name:     "demo",
	synopsis: "",
	about: `
Shows bellwether at work on this host, with no set-up and no server. It
starts 5 members as real processes ("bellwether run" on a private local bus
in a temporary directory, with short timings), each ready to run a job while
it leads, and prints what happens as it happens:

  1. the election of a first leader, whose job starts;
  2. a failover: the leader is killed with SIGKILL, and another member takes
     over once the leader's heartbeats have timed out;
  3. a handover: the next leader is stopped cleanly with SIGTERM; it stops
     its job and withdraws, and the others elect at once.

Each step shows its measured time; a summary follows. The demo takes about
6 seconds, leaves nothing running and removes its directory, also when
interrupted. Its output is plain text when not written to a terminal.`,
	examples: `  bellwether demo
  bellwether demo | tee demo.txt`,
}

// The demo's timings: short, so that the whole show takes seconds.
var demoSettings = bellwether.Settings{
	ElectionTimeout:   200 * time.Millisecond,
	HeartbeatInterval: 250 * time.Millisecond,
	HeartbeatTimeout:  time.Second,
}

const (
	demoMembers = 5
	demoGroup   = "demo"
	demoJobName = "_demo-job"
	demoStep    = 10 * time.Second // the longest any step may take
)

// cmdDemoJob is the demo's job: it waits to be stopped.
func (c *cli) cmdDemoJob(ctx context.Context, args []string) int {
	select {
	case <-c.signals:
	case <-ctx.Done():
	}
	return exitOK
}

type demoMember struct {
	n       int // 1-based
	id      string
	cmd     *exec.Cmd
	pid     int
	jobPid  int       // the running job's pid, or 0
	state   byte      // '.' follower, 'L' leads (its job runs), 'x' killed, '-' stopped
	ending  bool      // the demo killed or stopped it
	lastErr string    // its last error or unexpected output
	done    chan bool // receives once the process was reaped
}

// demoEvent is something a member logged, a member's exit, or a change of
// the leader the demo's observer knows.
type demoEvent struct {
	at     time.Time
	m      *demoMember // nil for the observer
	msg    string
	level  string
	pid    int
	exit   bool // the member's process ended
	status string
	leader *string // observer: the new leader, nil for none
}

type demo struct {
	c       *cli
	out     io.Writer
	color   bool
	start   time.Time
	dir     string
	members []*demoMember
	events  chan demoEvent
}

func (c *cli) cmdDemo(ctx context.Context, args []string) int {
	fs := newFlagSet(demoCmd.name)
	if code, done := c.parse(demoCmd, fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(demoCmd.name, exitUsage, fmt.Errorf("unexpected argument %q; demo takes no arguments", fs.Arg(0)))
	}
	exe, err := os.Executable()
	if err != nil {
		return c.fail(demoCmd.name, exitFailure, fmt.Errorf("cannot find this program to start members: %v", err))
	}
	dir, err := os.MkdirTemp("", "bellwether-demo-")
	if err != nil {
		return c.fail(demoCmd.name, exitFailure, fmt.Errorf("cannot make the bus directory: %v", err))
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
		return c.fail(demoCmd.name, code, err)
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
	tr, err := transport.Open(ctx, bus)
	if err != nil {
		return exitFailure, fmt.Errorf("cannot open the bus: %v", err)
	}
	defer tr.Close()
	obs, err := bellwether.Join(ctx, tr, bellwether.Config{
		ID: "demo-observer", Group: demoGroup, Settings: s, Observer: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return exitFailure, fmt.Errorf("cannot join the bus: %v", err)
	}
	defer obs.Close(context.Background())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		last := ""
		for st := range obs.Watch(wctx) {
			if st.Leader == last {
				continue
			}
			last = st.Leader
			ev := demoEvent{at: time.Now()}
			if st.Leader != "" {
				ev.leader = &st.Leader
			} else {
				ev.leader = nil
				ev.msg = "none"
			}
			select {
			case d.events <- ev:
			case <-wctx.Done():
				return
			}
		}
	}()

	// 1. Election.
	d.section("1. Election")
	d.start = time.Now()
	for i := 1; i <= demoMembers; i++ {
		if err := d.spawn(exe, bus, i); err != nil {
			return exitFailure, err
		}
	}
	d.line(time.Now(), "started member-1 to member-%d (pids %s)", demoMembers, d.memberPids())
	first, err := d.waitFor(func(ev demoEvent) bool { return ev.m != nil && ev.msg == msgStarted })
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
	t0 := time.Now()
	leader.ending, leader.state = true, 'x'
	signalProcess(leader.pid, syscall.SIGKILL)
	d.line(t0, "sent SIGKILL to %s (pid %d)", leader.id, leader.pid)
	next, err := d.waitFor(func(ev demoEvent) bool { return ev.m != nil && ev.m != leader && ev.msg == msgStarted })
	if err != nil {
		return exitFailure, err
	}
	failover := next.at.Sub(t0)
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
	t1 := time.Now()
	leader.ending = true
	signalProcess(leader.pid, syscall.SIGTERM)
	d.line(t1, "sent SIGTERM to %s (pid %d)", leader.id, leader.pid)
	third, err := d.waitFor(func(ev demoEvent) bool { return ev.m != nil && ev.m != leader && ev.msg == msgStarted })
	if err != nil {
		return exitFailure, err
	}
	handover := third.at.Sub(t1)
	d.note("handover took %s (expected: about the election timeout, %s)", fmtDur(handover), fmtDur(s.ElectionTimeout))
	if err := d.settle(time.Second); err != nil {
		return exitFailure, err
	}

	d.section("Summary")
	d.printf("  %-10s %-10s %-8s %s\n", "step", "measured", "leader", "expected")
	d.printf("  %-10s %-10s %-8s %s\n", "election", fmtDur(election), first.m.id, "election timeout + jitter, after start-up")
	d.printf("  %-10s %-10s %-8s %s\n", "failover", fmtDur(failover), next.m.id, fmt.Sprintf("about %s: heartbeat timeout + election timeout", fmtDur(s.HeartbeatTimeout+s.ElectionTimeout)))
	d.printf("  %-10s %-10s %-8s %s\n", "handover", fmtDur(handover), third.m.id, fmt.Sprintf("about %s: election timeout", fmtDur(s.ElectionTimeout)))
	d.printf("\nA crashed leader is replaced once its heartbeats time out; a leader that\n")
	d.printf("stops cleanly withdraws, and the next is elected at once. Try it for real:\n")
	d.printf("  bellwether run --group mygroup -- COMMAND   (on several hosts, add --bus nats://...)\n")

	d.section("Stopping the other members")
	return exitOK, nil
}

// spawn starts member n.
func (d *demo) spawn(exe, bus string, n int) error {
	s := demoSettings
	m := &demoMember{n: n, id: fmt.Sprintf("member-%d", n), state: '.', done: make(chan bool, 1)}
	m.cmd = exec.Command(exe, "run",
		"--bus", bus, "--group", demoGroup, "--id", m.id,
		"--election-timeout", s.ElectionTimeout.String(),
		"--heartbeat-interval", s.HeartbeatInterval.String(),
		"--heartbeat-timeout", s.HeartbeatTimeout.String(),
		"--grace", "2s", "--log-format", "json", "--log-level", "info",
		"--", exe, demoJobName)
	// The members must not pick up the user's settings.
	for _, kv := range d.c.environ {
		if !strings.HasPrefix(kv, "BELLWETHER_") {
			m.cmd.Env = append(m.cmd.Env, kv)
		}
	}
	prepare(m.cmd)
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("cannot start a member: %v", err)
	}
	m.pid = m.cmd.Process.Pid
	d.members = append(d.members, m)
	go d.read(m, stderr)
	return nil
}

// read turns member m's log into events, then reaps it.
func (d *demo) read(m *demoMember, stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var rec struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
			PID   int    `json:"pid"`
		}
		ev := demoEvent{at: time.Now(), m: m}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			ev.msg, ev.level = sc.Text(), "TEXT"
		} else {
			ev.msg, ev.level, ev.pid = rec.Msg, rec.Level, rec.PID
		}
		d.events <- ev
	}
	err := m.cmd.Wait()
	status := "exit status 0"
	if err != nil {
		status = err.Error()
	}
	m.done <- true
	d.events <- demoEvent{at: time.Now(), m: m, exit: true, status: status}
}

// waitFor shows events until one satisfies ok, and returns it.
func (d *demo) waitFor(ok func(demoEvent) bool) (demoEvent, error) {
	ev, found, err := d.watch(demoStep, ok)
	if err == nil && !found {
		err = fmt.Errorf("nothing happened for %v; is this host very busy?", demoStep)
	}
	return ev, err
}

// settle shows events for dt.
func (d *demo) settle(dt time.Duration) error {
	_, _, err := d.watch(dt, func(demoEvent) bool { return false })
	return err
}

// watch shows events for up to dt, until one satisfies ok.
func (d *demo) watch(dt time.Duration, ok func(demoEvent) bool) (demoEvent, bool, error) {
	timeout := time.NewTimer(dt)
	defer timeout.Stop()
	for {
		select {
		case ev := <-d.events:
			d.show1(ev)
			if ev.exit && !ev.m.ending {
				why := ev.status
				if ev.m.lastErr != "" {
					why += ": " + ev.m.lastErr
				}
				return ev, false, fmt.Errorf("%s exited unexpectedly (%s)", ev.m.id, why)
			}
			if ok(ev) {
				return ev, true, nil
			}
		case <-timeout.C:
			return demoEvent{}, false, nil
		case <-d.c.signals:
			return demoEvent{}, false, errInterrupted
		}
	}
}

// show1 prints one event and updates the members' states.
func (d *demo) show1(ev demoEvent) {
	m := ev.m
	switch {
	case m == nil && ev.leader != nil:
		d.faint(ev.at, "observer: the group knows %s as its leader", *ev.leader)
	case m == nil:
		d.faint(ev.at, "observer: no leader known")
	case ev.exit:
		if m.state != 'x' {
			m.state = '-'
		}
		d.line(ev.at, "%s exited (%s)", m.id, ev.status)
	case ev.msg == msgStarted:
		m.state, m.jobPid = 'L', ev.pid
		d.line(ev.at, "%s leads: its job started (pid %d)", m.id, ev.pid)
	case ev.msg == msgStopped || ev.msg == msgExited:
		m.state, m.jobPid = '.', 0
		d.line(ev.at, "%s: its job stopped", m.id)
	case ev.msg == "stopping" && m.state == 'L':
		d.line(ev.at, "%s: stopping its job, then withdrawing", m.id)
	case ev.msg == "stopping":
		d.line(ev.at, "%s: withdrawing", m.id)
	case ev.level == "WARN" || ev.level == "ERROR" || ev.level == "TEXT":
		m.lastErr = ev.msg
		d.faint(ev.at, "%s: %s", m.id, ev.msg)
	}
}

// stopAll stops every member still running: SIGTERM, then SIGKILL, and
// reaps them all.
func (d *demo) stopAll() {
	for _, m := range d.members {
		if m.state != 'x' && m.state != '-' {
			m.ending = true
			signalGroup(m.pid, syscall.SIGTERM)
		}
	}
	deadline := time.After(5 * time.Second)
	for _, m := range d.members {
		for waiting := true; waiting; {
			select {
			case <-m.done:
				waiting = false
			case ev := <-d.events:
				d.show1(ev)
			case <-deadline:
				for _, m := range d.members {
					signalGroup(m.pid, syscall.SIGKILL)
					if m.jobPid != 0 {
						signalProcess(m.jobPid, syscall.SIGKILL)
					}
				}
				deadline = nil
			}
		}
	}
	// Show what is left to show.
	for {
		select {
		case ev := <-d.events:
			d.show1(ev)
		default:
			return
		}
	}
}

func (d *demo) memberPids() string {
	var b []string
	for _, m := range d.members {
		b = append(b, strconv.Itoa(m.pid))
	}
	return strings.Join(b, ", ")
}

func (d *demo) states() string {
	b := make([]byte, 0, 2*len(d.members))
	for i, m := range d.members {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, m.state)
	}
	return "[" + string(b) + "]"
}

func (d *demo) elapsed(at time.Time) string {
	if d.start.IsZero() {
		return "      "
	}
	return fmt.Sprintf("%6.3fs", at.Sub(d.start).Seconds())
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d *demo) title(s string) {
	if d.color {
		s = "\x1b[1m" + s + "\x1b[0m"
	}
	d.printf("%s\n", s)
}

func (d *demo) section(s string) {
	if d.color {
		s = "\x1b[1;36m" + s + "\x1b[0m"
	}
	d.printf("\n%s\n", s)
}

// line prints a timeline entry with the members' states.
func (d *demo) line(at time.Time, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	d.printf("  %s  %-58s %s\n", d.elapsed(at), text, d.states())
}

// faint prints a timeline entry of lesser interest.
func (d *demo) faint(at time.Time, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if d.color {
		d.printf("  %s  \x1b[2m%-58s\x1b[0m %s\n", d.elapsed(at), text, d.states())
		return
	}
	d.printf("  %s  %-58s %s\n", d.elapsed(at), text, d.states())
}

// note prints a measurement.
func (d *demo) note(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if d.color {
		text = "\x1b[1;32m" + text + "\x1b[0m"
	}
	d.printf("           => %s\n", text)
}

func fmtDur(dt time.Duration) string {
	return fmt.Sprintf("%.3fs", dt.Seconds())
}

// isTerminal reports whether w is a terminal that takes colours.
func (c *cli) isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || c.getenv("NO_COLOR") != "" || c.getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
