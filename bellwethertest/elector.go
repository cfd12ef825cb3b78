package bellwethertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/timings"
)

// restartSettings are the protocol timings of Electors across a restart
// of their server.
var restartSettings = timings.Fast

// joinElectors makes one Elector per Transport in group, with ids "a",
// "b", … and the given settings and callbacks, closed when the test ends
// (before the Transports, whose cleanups were registered earlier).
func joinElectors(t *testing.T, trs []bellwether.Transport, group string, settings bellwether.Settings, callbacks func(id string) bellwether.Callbacks, keys *bellwether.Keyring) []*bellwether.Elector {
	t.Helper()
	es := make([]*bellwether.Elector, len(trs))
	for i, tr := range trs {
		id := string(rune('a' + i))
		cfg := bellwether.Config{ID: id, Group: group, Settings: settings, Logger: slog.New(slog.DiscardHandler), Keys: keys}
		if callbacks != nil {
			cfg.Callbacks = callbacks(id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
		e, err := bellwether.Join(ctx, tr, cfg)
		cancel()
		if err != nil {
			t.Fatalf("Join of Elector %s: %v", id, err)
		}
		es[i] = e
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Errorf("Close of Elector %s: %v", e.ID(), err)
			}
		})
	}
	return es
}

// agreement returns the one leader every Elector knows, or why there is
// none.
func agreement(es []*bellwether.Elector) (string, error) {
	var leaders []string
	views := make([]string, len(es))
	for i, e := range es {
		s := e.Status()
		if s.IsLeader {
			leaders = append(leaders, s.ID)
		}
		views[i] = fmt.Sprintf("%s→%q", s.ID, s.Leader)
	}
	if len(leaders) != 1 {
		return "", fmt.Errorf("%d members lead (%s); known leaders: %s", len(leaders), strings.Join(leaders, ","), strings.Join(views, " "))
	}
	for _, e := range es {
		if l, _ := e.Leader(); l != leaders[0] {
			return "", fmt.Errorf("%s leads but not all know it: %s", leaders[0], strings.Join(views, " "))
		}
	}
	return leaders[0], nil
}

// awaitOneLeader waits until exactly one of es leads and all know it, and
// that has held for stable. It fails t if that does not happen within the
// given time, and returns the leader.
func awaitOneLeader(t *testing.T, es []*bellwether.Elector, stable, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var since time.Time
	last := ""
	for {
		leader, err := agreement(es)
		switch {
		case err != nil:
			since = time.Time{}
		case leader != last || since.IsZero():
			since, last = time.Now(), leader
		case time.Since(since) >= stable:
			return leader
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("agreement did not last")
			}
			t.Fatalf("no single leader known to all within %v: %v", within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// electorsAcrossRestart runs three Electors, each on a Transport of its
// own, through a restart of their server: they elect a leader; the server
// goes down for at least HeartbeatTimeout, long enough for every member to
// notice (each Elector's Health reports it); once it is back the group
// must agree on one leader again within a generous bound, every Elector
// still running.
func (s *suite) electorsAcrossRestart(t *testing.T, kill bool) {
	trs := make([]bellwether.Transport, 3)
	for i := range trs {
		trs[i] = s.transport(t)
	}
	es := joinElectors(t, trs, UniqueGroup(t, "electors"), restartSettings, nil, nil)
	// A second of stability is four heartbeats.
	first := awaitOneLeader(t, es, time.Second, recoverTimeout)
	t.Logf("leader before the restart: %s", first)

	down := time.Now()
	s.down(kill)
	for _, e := range es {
		eventually(t, "Elector "+e.ID()+" to notice the server is down", func() error {
			if e.Health() == nil {
				return errors.New("Health() = nil")
			}
			return nil
		})
	}
	if d := restartSettings.HeartbeatTimeout - time.Since(down); d > 0 {
		time.Sleep(d)
	}
	s.server.Start()
	up := time.Now()
	leader := awaitOneLeader(t, es, time.Second, 60*time.Second)
	t.Logf("leader after the restart: %s, agreed %v after the server came back (including a second of stability)", leader, time.Since(up).Round(time.Millisecond))
	for _, e := range es {
		// Health may still hold a broadcast error from the outage: a
		// follower has nothing to send that would clear it.
		if err := e.Health(); errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Elector %s ended", e.ID())
		} else if err != nil {
			t.Logf("Elector %s: Health() = %v", e.ID(), err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	defer cancel()
	for _, e := range es {
		if e.ID() == leader {
			if err := e.AwaitLeadership(ctx); err != nil {
				t.Fatalf("AwaitLeadership of the leader: %v", err)
			}
		}
	}
}
