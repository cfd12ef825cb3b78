package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

var watchCmd = &command{
	name:     "watch",
	short:    "print the group's leader, one JSON line per change",
	run:      (*cli).cmdWatch,
	synopsis: "[flags]",
	about: `
Joins the group as an observer, which never becomes leader and sends
nothing, and prints one JSON object per line each time the known leader
changes:

  {"time":"2025-01-02T15:04:05.123456789Z","group":"default","leader":"web-1"}

with "leader":null while no leader is known (after the leader withdrew or
timed out, during an election). Nothing is printed until a leader is first
heard, within one heartbeat interval when there is one. Runs until
interrupted (SIGINT, SIGTERM or SIGHUP), then exits 0.`,
	examples: `  # Follow the leader of the group "nightly-report":
  bellwether watch --group nightly-report

  # On NATS, only the leader ids:
  bellwether watch --bus nats://127.0.0.1:4222 --group sync | jq -r '.leader // "none"'`,
}

// watchLine is one line of watch's output.
type watchLine struct {
	Time   string  `json:"time"`
	Group  string  `json:"group"`
	Leader *string `json:"leader"`
}

func (c *cli) cmdWatch(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	var co common
	co.register(fs)
	if code, done := c.parse(cmd, fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("unexpected argument %q; watch takes flags only", fs.Arg(0)))
	}
	if err := c.validate(&co); err != nil {
		return c.fail(cmd.name, exitUsage, err)
	}
	m, err := c.join(ctx, &co, co.logger(c.stderr), true, nilCallbacks)
	if err != nil {
		return c.fail(cmd.name, exitUsage, err)
	}
	defer m.close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := m.e.Watch(wctx)
	enc := json.NewEncoder(c.stdout)
	last := ""
	for {
		select {
		case st, ok := <-updates:
			if !ok {
				return exitOK
			}
			if st.Leader == last {
				continue
			}
			last = st.Leader
			line := watchLine{Time: st.Since.UTC().Format(time.RFC3339Nano), Group: st.Group}
			if st.Leader != "" {
				line.Leader = &st.Leader
			}
			if err := enc.Encode(line); err != nil {
				m.log.Error("cannot write to stdout; stopping", "err", err)
				return exitFailure
			}
		case s := <-c.signals:
			m.log.Debug("stopping", "signal", s.String())
			return exitOK
		case <-ctx.Done():
			return exitOK
		}
	}
}
