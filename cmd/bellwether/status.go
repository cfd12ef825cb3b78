package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bellwether-go/bellwether"
)

var nilCallbacks bellwether.Callbacks

// statusJSON is what status --json prints: one object, on one line.
type statusJSON struct {
	Group  string  `json:"group"`
	Bus    string  `json:"bus"`    // with its secrets hidden
	Leader *string `json:"leader"` // null when no leader was heard
	Value  string  `json:"value"`  // the leader's value, "" when it set none
	Epoch  uint64  `json:"epoch"`  // the leader's epoch, 0 when unknown
}

func (c *cli) cmdStatus(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	var co common
	co.register(fs)
	var wait time.Duration
	durationVar(fs, &wait, "wait", 0, "how long to listen for the leader (default: heartbeat interval plus election timeout)")
	var asJSON bool
	boolVar(fs, &asJSON, "json", "print one JSON object: the group, the bus, the leader (null if none was heard),\nits value and its epoch (the fencing token a bellwether leader holds now)")
	if code, done := c.parseFlagsOnly(cmd, fs, args); done {
		return code
	}
	if err := c.validate(&co); err != nil {
		return c.fail(cmd.name, exitUsage, err)
	}
	if wait < 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("--wait %v: must not be negative", wait))
	}
	if wait == 0 {
		wait = co.settings.HeartbeatInterval + co.settings.ElectionTimeout
	}
	m, err := c.join(ctx, &co, co.logger(c.stderr), true, nilCallbacks)
	if err != nil {
		return c.fail(cmd.name, exitUsage, err)
	}
	defer m.close()
	show := func(st bellwether.Status) {
		if !asJSON {
			if st.Leader != "" {
				fmt.Fprintln(c.stdout, st.Leader)
			}
			return
		}
		out := statusJSON{Group: co.group, Bus: co.busName()}
		if st.Leader != "" {
			out.Leader, out.Value, out.Epoch = &st.Leader, st.Value, st.Epoch
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(c.stdout, "%s\n", b)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	updates := m.e.Watch(wctx)
	for {
		select {
		case st, ok := <-updates:
			if !ok { // --wait is over
				show(bellwether.Status{})
				return c.fail(cmd.name, exitNoLeader, fmt.Errorf("no leader heard in group %q on %s within %v", co.group, co.busName(), wait))
			}
			if st.Leader != "" {
				show(st)
				return exitOK
			}
		case s := <-c.signals:
			show(bellwether.Status{})
			return c.fail(cmd.name, exitNoLeader, fmt.Errorf("interrupted by %v before a leader was heard", s))
		}
	}
}
