package main

// The demo's supervision: its members' processes, the events read from
// their JSON logs and from an observer, and the demo's own job.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport"
)

// cmdDemoJob is the demo's job: it waits to be stopped.
func (c *cli) cmdDemoJob(cmd *command, ctx context.Context, args []string) int {
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
	event  string      // the "event" attribute of a member's JSON log record
	msg    string
	level  string
	pid    int
	exit   bool // the member's process ended
	status string
	leader *string // observer: the new leader, nil for none
}

// observe joins the bus as an observer, in this process, and sends an
// event each time the leader it knows changes, until ctx ends. It returns
// a function that leaves the group.
func (d *demo) observe(ctx context.Context, bus string) (stop func(), err error) {
	tr, err := transport.Open(ctx, bus)
	if err != nil {
		return nil, fmt.Errorf("cannot open the bus: %v", err)
	}
	obs, err := bellwether.Join(ctx, tr, bellwether.Config{
		ID: "demo-observer", Group: demoGroup, Settings: demoSettings, Observer: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("cannot join the bus: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := ""
		for st := range obs.Watch(wctx) {
			if st.Leader == last {
				continue
			}
			last = st.Leader
			ev := demoEvent{at: time.Now()}
			if st.Leader != "" {
				ev.leader = &st.Leader
			}
			select {
			case d.events <- ev:
			case <-wctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
		obs.Close(context.Background())
		tr.Close()
	}, nil
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
			Event string `json:"event"`
			Msg   string `json:"msg"`
			Level string `json:"level"`
			PID   int    `json:"pid"`
		}
		ev := demoEvent{at: time.Now(), m: m}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			ev.msg, ev.level = sc.Text(), "TEXT"
		} else {
			ev.event, ev.msg, ev.level, ev.pid = rec.Event, rec.Msg, rec.Level, rec.PID
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
