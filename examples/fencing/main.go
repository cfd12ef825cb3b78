// Command fencing shows what a fencing token protects. Two members of a
// group, a and b, run in one process on an in-memory bus, and each one's
// job writes one row of a PostgreSQL table through a fenced update:
//
//	UPDATE t SET fence = $epoch, value = $value WHERE id = 1 AND fence <= $epoch
//
// where $epoch is the leadership's token, bellwether.Epoch(ctx). The
// network splits them, and each side has a leader: a, elected first,
// still leads on its side, and b is elected on the other with a higher
// epoch. b writes; then a, the stale leader, writes too, and the row
// refuses it (0 rows updated). When the network heals, b steps down and
// a moves to an epoch above both, which the row accepts.
//
//	go run ./examples/fencing                       # PostgreSQL on 127.0.0.1:5432, user postgres
//	go run ./examples/fencing -db postgres://user:password@host:5432/db
//
// The table has a name of its own (bellwether_fencing_…) and is dropped
// at the end. docs/fencing.md explains what the token protects and what
// it cannot.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/narrate"
	"github.com/bellwether-go/bellwether/transport/mem"
)

// defaultDSN is the PostgreSQL the example writes to without -db.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	dsn := flag.String("db", defaultDSN, "PostgreSQL `URL` to create the example's table in")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "fencing:", err)
		os.Exit(1)
	}
}

// settings are short timings, so that the example takes seconds.
var settings = bellwether.Settings{
	ElectionTimeout:   100 * time.Millisecond,
	HeartbeatInterval: 200 * time.Millisecond,
	HeartbeatTimeout:  time.Second,
}

// write is one write a leader's job made, and what the row answered.
type write struct {
	Member   string
	Epoch    uint64 // the leadership's epoch when it wrote
	Value    string
	Accepted bool // the row was updated; false: the fence refused it
}

// report is what run saw.
type report struct {
	Writes []write
	Fence  uint64 // the row's fence at the end
	Value  string // the row's value at the end
	Table  string // the table's name (dropped by then)
}

// member is one member of the group, whose job writes to the row when
// asked.
type member struct {
	id    string
	tr    *mem.Transport
	e     *bellwether.Elector
	store *fencedStore
	asks  chan ask
}

// ask is a request to a leader's job to write value.
type ask struct {
	value string
	reply chan<- askReply
}

type askReply struct {
	w   write
	err error
}

// lead is the member's job, OnStartedLeading: while it leads, it writes
// what it is asked to, each time with the epoch its leadership holds
// then (an epoch can rise during one leadership, after a split brain).
func (m *member) lead(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-m.asks:
			epoch, ok := bellwether.Epoch(ctx)
			if !ok {
				a.reply <- askReply{err: errors.New("not a leadership context")}
				continue
			}
			accepted, err := m.store.write(ctx, epoch, a.value)
			a.reply <- askReply{w: write{Member: m.id, Epoch: epoch, Value: a.value, Accepted: accepted}, err: err}
		}
	}
}

// write asks m's job, which must be running, to write value.
func (m *member) write(ctx context.Context, value string) (write, error) {
	reply := make(chan askReply, 1)
	select {
	case m.asks <- ask{value: value, reply: reply}:
	case <-ctx.Done():
		return write{}, fmt.Errorf("%s's job did not take the write: %w", m.id, ctx.Err())
	}
	select {
	case r := <-reply:
		return r.w, r.err
	case <-ctx.Done():
		return write{}, fmt.Errorf("%s's write: %w", m.id, ctx.Err())
	}
}

// await waits until m's Status satisfies cond.
func (m *member) await(ctx context.Context, what string, cond func(bellwether.Status) bool) (bellwether.Status, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for st := range m.e.Watch(wctx) {
		if cond(st) {
			return st, nil
		}
	}
	return bellwether.Status{}, fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
}

// run runs the example against the PostgreSQL at dsn, printing each step
// to w, and returns what happened.
func run(ctx context.Context, w io.Writer, dsn string) (rep report, err error) {
	say := narrate.New(w)

	tbl, err := createTable(ctx, dsn)
	if err != nil {
		return rep, err
	}
	rep.Table = tbl.name
	say("created table %s: one row, fence 0", tbl.name)
	defer func() {
		// The members are closed by now (deferred after this).
		if derr := tbl.drop(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, fmt.Errorf("dropping table %s: %w", tbl.name, derr))
			return
		}
		say("dropped table %s", tbl.name)
	}()

	hub := mem.NewHub()
	join := func(id string) (*member, error) {
		m := &member{id: id, tr: hub.NewTransport(), asks: make(chan ask)}
		store, err := tbl.connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		m.store = store
		m.e, err = bellwether.Join(ctx, m.tr, bellwether.Config{
			ID:        id,
			Group:     "fencing",
			Settings:  settings,
			Logger:    slog.New(slog.DiscardHandler), // the steps below say what happens
			Callbacks: bellwether.Callbacks{OnStartedLeading: m.lead},
		})
		if err != nil {
			return nil, errors.Join(err, store.close(ctx), m.tr.Close())
		}
		return m, nil
	}
	var members []*member
	defer func() {
		for _, m := range members {
			err = errors.Join(err, m.e.Close(context.WithoutCancel(ctx)), m.tr.Close(), m.store.close(context.WithoutCancel(ctx)))
		}
	}()
	for _, id := range []string{"a", "b"} {
		m, err := join(id)
		if err != nil {
			return rep, err
		}
		members = append(members, m)
	}
	a, b := members[0], members[1]
	say("a and b join the group; the smallest id wins")

	do := func(m *member, value string) error {
		wr, err := m.write(ctx, value)
		if err != nil {
			return err
		}
		rep.Writes = append(rep.Writes, wr)
		if wr.Accepted {
			say("%s writes %q with epoch %d: accepted", m.id, value, wr.Epoch)
		} else {
			say("%s writes %q with epoch %d: REFUSED, 0 rows updated: the row has seen a higher epoch", m.id, value, wr.Epoch)
		}
		return nil
	}

	if err := a.e.AwaitLeadership(ctx); err != nil {
		return rep, err
	}
	say("a leads, epoch %d", a.e.Status().Epoch)
	if err := do(a, "a, before the split"); err != nil {
		return rep, err
	}

	hub.Partition([]*mem.Transport{a.tr}, []*mem.Transport{b.tr})
	say("the network splits: a and b no longer hear each other")
	if err := b.e.AwaitLeadership(ctx); err != nil {
		return rep, err
	}
	if !a.e.IsLeader() {
		return rep, errors.New("a stopped leading during the split; the example needs two leaders")
	}
	say("b hears no heartbeat for %v and is elected on its side: epoch %d", settings.HeartbeatTimeout, b.e.Status().Epoch)
	say("a still leads on its side with epoch %d: two leaders", a.e.Status().Epoch)
	if err := do(b, "b, during the split"); err != nil {
		return rep, err
	}
	if err := do(a, "a, during the split"); err != nil {
		return rep, err
	}

	hub.Heal()
	say("the network heals: the two leaders meet")
	high := max(rep.Writes[1].Epoch, rep.Writes[2].Epoch)
	st, err := a.await(ctx, "a to lead alone with an epoch above both", func(st bellwether.Status) bool {
		return st.IsLeader && st.Epoch > high
	})
	if err != nil {
		return rep, err
	}
	if _, err := b.await(ctx, "b to follow a", func(bs bellwether.Status) bool {
		return !bs.IsLeader && bs.Leader == "a" && bs.Epoch == st.Epoch
	}); err != nil {
		return rep, err
	}
	say("b steps down (the larger id); a stays, and moves to epoch %d, above both", st.Epoch)
	if err := do(a, "a, after the heal"); err != nil {
		return rep, err
	}

	if rep.Fence, rep.Value, err = tbl.row(ctx); err != nil {
		return rep, err
	}
	say("the row: fence %d, value %q", rep.Fence, rep.Value)
	return rep, nil
}
