package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bellwether-go/bellwether"
)

var nilCallbacks bellwether.Callbacks

func (c *cli) cmdStatus(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	var co common
	co.register(fs)
	var wait time.Duration
	durationVar(fs, &wait, "wait", 0, "how long to listen for the leader (default: heartbeat interval plus election timeout)")
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
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	updates := m.e.Watch(wctx)
	for {
		select {
		case st, ok := <-updates:
			if !ok { // --wait is over
				return c.fail(cmd.name, exitNoLeader, fmt.Errorf("no leader heard in group %q on %s within %v", co.group, co.busName(), wait))
			}
			if st.Leader != "" {
				fmt.Fprintln(c.stdout, st.Leader)
				return exitOK
			}
		case s := <-c.signals:
			return c.fail(cmd.name, exitNoLeader, fmt.Errorf("interrupted by %v before a leader was heard", s))
		}
	}
}
