package main

// The demo's rendering: a timeline of events with the members' states.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

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
	case ev.event == eventStarted:
		m.state, m.jobPid = 'L', ev.pid
		d.line(ev.at, "%s leads: its job started (pid %d)", m.id, ev.pid)
	case ev.event == eventStopped || ev.event == eventExited:
		m.state, m.jobPid = '.', 0
		d.line(ev.at, "%s: its job stopped", m.id)
	case ev.event == eventStopping && m.state == 'L':
		d.line(ev.at, "%s: stopping its job, then withdrawing", m.id)
	case ev.event == eventStopping:
		d.line(ev.at, "%s: withdrawing", m.id)
	case ev.level == "WARN" || ev.level == "ERROR" || ev.level == "TEXT":
		m.lastErr = ev.msg
		d.faint(ev.at, "%s: %s", m.id, ev.msg)
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
