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
	Leader *string `json:"leader"` // null when no leader is known
	Value  string  `json:"value"`  // the leader's value, "" when it set none
	Epoch  uint64  `json:"epoch"`  // the leader's epoch, 0 when unknown
}

// watched is what a line of watch reports: a new line when it changes.
type watched struct {
	leader, value string
	epoch         uint64
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
	var last watched
	for {
		select {
		case st, ok := <-updates:
			if !ok {
				return exitOK
			}
			cur := watched{leader: st.Leader, value: st.Value, epoch: st.Epoch}
			if cur == last {
				continue
			}
			when := st.Since
			if cur.leader == last.leader {
				// The same leader, with a new epoch (it met another
				// leader and stayed) or value: Since is when the leader
				// changed, not this.
				when = time.Now()
			}
			last = cur
			line := watchLine{Time: when.UTC().Format(time.RFC3339Nano), Group: st.Group}
			if st.Leader != "" {
				line.Leader, line.Value, line.Epoch = &st.Leader, st.Value, st.Epoch
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
