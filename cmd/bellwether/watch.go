package main

import (
	"context"
	"encoding/json"
	"time"
)

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
	if code, done := c.parseFlagsOnly(cmd, fs, args); done {
		return code
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
