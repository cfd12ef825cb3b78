package bellwether

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Config configures an [Elector].
type Config struct {
	// ID is this member's client id, unique in the group; see ValidateID.
	// Required.
	ID string
	// Group names the group to elect in; see ValidateGroup. Required.
	Group string
	// Settings are the protocol's timings; zero fields take their
	// defaults (1s, 2s, 8s). Every member of a group should use the same.
	Settings Settings
	// Mode selects how elections run. The zero value, ModeQuiet, costs
	// O(N) broadcasts per election and interoperates with reference
	// members; ModeReference reproduces the reference exactly.
	Mode ElectionMode
	// Observer makes a member that never stands for election and sends
	// nothing, but knows the leader from its heartbeats.
	Observer bool
	// Logger receives warnings (two leaders met, leader timeout, bus
	// errors) and debug records. Nil means slog.Default().
	Logger *slog.Logger
	// Callbacks are told of leadership changes; all are optional.
	Callbacks Callbacks
	// SendTimeout bounds each broadcast. Zero means HeartbeatInterval/2.
	SendTimeout time.Duration
}

// Callbacks are called by an [Elector] in the order the changes happened,
// one at a time, never concurrently with each other.
type Callbacks struct {
	// OnStartedLeading runs in a goroutine of its own when this member
	// becomes the leader. Its context is cancelled the moment leadership
	// is lost, on Resign and on Close; the function should then return
	// promptly, because the next leadership callback waits for it.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called after leadership is lost and after
	// OnStartedLeading has returned. It is never called for a member
	// that did not lead.
	OnStoppedLeading func()
	// OnNewLeader is called when the known leader changes, with "" when
	// none is known (during an election, for instance).
	OnNewLeader func(id string)
}

// Status is a member's view of its group at one moment.
type Status struct {
	Group    string    // the group
	ID       string    // this member's id
	Leader   string    // the known leader's id, "" when none is known
	IsLeader bool      // whether this member leads
	Since    time.Time // when Leader last changed
}

// Elector is a member of a group on a [Transport]: it runs the election
// protocol, tells the program when it leads, and who does.
//
// An Elector is safe for concurrent use. See the package documentation for
// what is and is not guaranteed.
type Elector struct {
	cfg    Config
	log    *slog.Logger
	conn   Conn
	d      *driver
	base   context.Context // parent of leadership contexts
	stop   context.CancelFunc
	events *dispatcher
	stats  *counters

	recvDone chan struct{}

	mu        sync.Mutex
	status    Status
	changed   chan struct{} // closed and replaced on every status change
	watchers  map[chan Status]struct{}
	closed    bool
	lead      context.CancelFunc // cancels the current leadership context
	failing   time.Time          // first failure of the current failure streak
	sendErr   error              // the last broadcast's error, nil after a success
	sendErrAt time.Time          // when sendErr happened
	elected   time.Time          // start of the election in progress, or zero

	closeOnce sync.Once
	closeErr  error
}

// Join makes a new member of cfg.Group on t and starts its election. ctx
// bounds the joining only; the member runs until Close. The Elector owns
// its connection to the group but not t, which the caller closes after
// the Elector.
func Join(ctx context.Context, t Transport, cfg Config) (*Elector, error) {
	if t == nil {
		return nil, errors.New("bellwether: Join: transport is nil")
	}
	if err := ValidateID(cfg.ID); err != nil {
		return nil, err
	}
	if err := ValidateGroup(cfg.Group); err != nil {
		return nil, err
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if cfg.SendTimeout < 0 {
		return nil, fmt.Errorf("bellwether: invalid config: SendTimeout %v is negative", cfg.SendTimeout)
	}
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = cfg.Settings.HeartbeatInterval / 2
	}
	m, err := NewMachine(MachineConfig{ID: cfg.ID, Settings: cfg.Settings, Observer: cfg.Observer, Mode: cfg.Mode, Seed: rand.Uint64()})
	if err != nil {
		return nil, err
	}
	conn, err := t.Join(ctx, cfg.Group)
	if err != nil {
		return nil, fmt.Errorf("bellwether: joining group %q: %w", cfg.Group, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	e := &Elector{
		cfg:      cfg,
		log:      logger.With("group", cfg.Group, "client", cfg.ID),
		conn:     conn,
		base:     base,
		stop:     stop,
		stats:    newCounters(),
		recvDone: make(chan struct{}),
		changed:  make(chan struct{}),
		watchers: make(map[chan Status]struct{}),
		status:   Status{Group: cfg.Group, ID: cfg.ID, Since: time.Now()},
	}
	e.events = newDispatcher(cfg.Callbacks)
	e.d = newDriver(m, e.handle, e.noteElection)
	e.d.start()
	go e.recvLoop()
	return e, nil
}

// ID returns this member's id.
func (e *Elector) ID() string { return e.cfg.ID }

// Group returns the group's name.
func (e *Elector) Group() string { return e.cfg.Group }

// Settings returns the settings in use, defaults filled in.
func (e *Elector) Settings() Settings { return e.cfg.Settings }

// Leader returns the id of the leader this member knows of, and false when
// it knows none.
func (e *Elector) Leader() (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status.Leader, e.status.Leader != ""
}

// IsLeader reports whether this member leads now.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status.IsLeader
}

// Status returns this member's view of the group now.
func (e *Elector) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// AwaitLeadership waits until this member leads. It returns nil then,
// ctx.Err() if ctx ends first, and ErrClosed if the Elector is closed or
// is an observer, which never leads.
func (e *Elector) AwaitLeadership(ctx context.Context) error {
	if e.cfg.Observer {
		return fmt.Errorf("%w: an observer never leads", ErrClosed)
	}
	for {
		e.mu.Lock()
		leading, closed, ch := e.status.IsLeader, e.closed, e.changed
		e.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case leading:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Watch returns a channel that receives the current Status at once and
// then every change, until ctx ends or the Elector is closed, when it is
// closed. A slow reader never slows the Elector: it receives the latest
// Status, skipping intermediate ones.
func (e *Elector) Watch(ctx context.Context) <-chan Status {
	ch := make(chan Status, 1)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		close(ch)
		return ch
	}
	ch <- e.status
	e.watchers[ch] = struct{}{}
	e.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-e.base.Done():
		}
		e.mu.Lock()
		if _, ok := e.watchers[ch]; ok {
			delete(e.watchers, ch)
			close(ch)
		}
		e.mu.Unlock()
	}()
	return ch
}

// Resign makes this member step down if it leads: it cancels the
// leadership context, announces its withdrawal so the others elect at
// once, and stands for no election until it hears a new leader or
// HeartbeatTimeout passes. It does not wait for OnStartedLeading to
// return. A member that does not lead is not affected.
func (e *Elector) Resign() {
	e.d.apply(func(now time.Time) Output { return e.d.m.Resign(now) })
}

// Health reports whether the member's bus works: nil, or why not. A failed
// broadcast is reported until a broadcast succeeds; but when the
// transport's connection implements HealthChecker, its own report takes
// over one HeartbeatInterval after the failure, so that a follower, which
// may have nothing to send for a long time, does not report an outage
// that is over.
func (e *Elector) Health() error {
	e.mu.Lock()
	err, at := e.sendErr, e.sendErrAt
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return ErrClosed
	}
	h, ok := e.conn.(HealthChecker)
	if err != nil && (!ok || time.Since(at) < e.cfg.Settings.HeartbeatInterval) {
		return err
	}
	if ok {
		return h.Health()
	}
	return nil
}

// HealthChecker is implemented by a Conn that can tell whether its
// connection to the bus works, even when it has nothing to send.
type HealthChecker interface {
	// Health returns nil while the bus is reachable, else why not.
	Health() error
}

// Close stops the member. It first cancels the leadership context and
// waits for OnStartedLeading to return, so that a job it runs is stopped
// before another member can take over; then it announces its withdrawal,
// leaves the group, and delivers the remaining callbacks (OnStoppedLeading
// if it led). When Close returns, no callback runs again and nothing of
// the Elector is left. If ctx ends first, Close returns ctx.Err() and
// finishes in the background. Called from inside a callback, Close returns
// at once and the Elector finishes closing when the callback returns.
// Later calls return the first call's result.
func (e *Elector) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.shutdown()
		}()
		if e.events.inCallback() {
			return
		}
		select {
		case <-done:
		case <-ctx.Done():
			e.closeErr = ctx.Err()
		}
	})
	return e.closeErr
}

func (e *Elector) shutdown() {
	// Stop the leader's work first, so that no other member starts it while
	// ours still runs.
	e.mu.Lock()
	if e.lead != nil {
		e.lead()
	}
	e.mu.Unlock()
	e.events.waitJob()
	e.d.shutdown(true)
	e.mu.Lock()
	e.closed = true
	wasLeading := e.status.IsLeader
	e.status.IsLeader = false
	if e.lead != nil {
		// Leadership won again before the machine stopped: end it too,
		// or its job would keep the dispatcher from closing.
		e.lead()
		e.lead = nil
	}
	e.mu.Unlock()
	if wasLeading {
		e.stats.leading(false)
		e.events.push(note{kind: noteStopped})
	}
	e.conn.Close()
	<-e.recvDone
	e.events.close()
	e.stop()
	e.mu.Lock()
	for ch := range e.watchers {
		delete(e.watchers, ch)
		close(ch)
	}
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// handle carries out one effect of the machine, on the driver's worker.
func (e *Elector) handle(ef Effect) {
	switch ef.Kind {
	case EffectBroadcast:
		e.send(ef.Event)
	case EffectLeading:
		e.setLeading(ef.Leading)
	case EffectLeader:
		e.setLeader(ef.Leader)
	case EffectWarning:
		if ef.Warning == WarnDeferring || ef.Warning == WarnStaying {
			e.stats.add(&e.stats.duplicateLeaders, 1)
		}
		e.log.Warn(ef.Warning.String())
	}
}

func (e *Elector) send(ev Event) {
	var buf [128]byte
	msg := ev.AppendJSON(buf[:0])
	ctx, cancel := context.WithTimeout(e.base, e.cfg.SendTimeout)
	err := e.conn.Send(ctx, msg)
	cancel()
	now := time.Now()
	e.mu.Lock()
	if err == nil {
		e.failing, e.sendErr = time.Time{}, nil
		e.mu.Unlock()
		e.stats.sent(ev.Action)
		return
	}
	if e.failing.IsZero() {
		e.failing = now
	}
	e.sendErr, e.sendErrAt = err, now
	failingFor := now.Sub(e.failing)
	leading := e.status.IsLeader
	e.mu.Unlock()
	e.stats.add(&e.stats.sendErrors, 1)
	if errors.Is(err, ErrClosed) {
		return
	}
	e.log.Warn("broadcast failed", "action", string(ev.Action), "err", err)
	if leading && failingFor > e.cfg.Settings.HeartbeatTimeout {
		// The others cannot hear us and have elected someone else by now.
		e.log.Warn("stepping down: broadcasts have failed for longer than the heartbeat timeout", "for", failingFor)
		e.d.apply(func(now time.Time) Output { return e.d.m.StepDown(now) })
	}
}

func (e *Elector) setLeading(leading bool) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.status.IsLeader = leading
	var n note
	if leading {
		ctx, cancel := context.WithCancel(e.base)
		e.lead = cancel
		n = note{kind: noteStarted, ctx: ctx}
	} else {
		if e.lead != nil {
			e.lead() // the moment leadership is lost
			e.lead = nil
		}
		n = note{kind: noteStopped}
	}
	e.publishLocked()
	e.mu.Unlock()
	e.stats.leading(leading)
	e.events.push(n)
}

func (e *Elector) setLeader(id string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.status.Leader = id
	e.status.Since = time.Now()
	e.publishLocked()
	e.mu.Unlock()
	e.stats.add(&e.stats.leaderChanges, 1)
	e.events.push(note{kind: noteLeader, leader: id})
}

// publishLocked tells waiters and watchers of a status change.
func (e *Elector) publishLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
	for ch := range e.watchers {
		select {
		case <-ch: // drop the stale status: latest wins
		default:
		}
		ch <- e.status
	}
}

// noteElection tracks elections for the statistics: one starts when the
// machine starts electing and ends when it stops. It runs after every step
// of the machine, under the driver's lock.
func (e *Elector) noteElection(m *Machine, now time.Time) {
	electing := m.Electing()
	switch {
	case electing && e.elected.IsZero():
		e.elected = now
		e.stats.add(&e.stats.elections, 1)
	case !electing && !e.elected.IsZero():
		e.stats.observeElection(now.Sub(e.elected))
		e.elected = time.Time{}
	}
}

func (e *Elector) recvLoop() {
	defer close(e.recvDone)
	backoff := 10 * time.Millisecond
	for {
		msg, err := e.conn.Recv(e.base)
		if err != nil {
			if errors.Is(err, ErrClosed) || e.base.Err() != nil {
				return
			}
			e.log.Warn("receive failed", "err", err)
			select {
			case <-time.After(backoff):
			case <-e.base.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		ev, err := ParseEvent(msg)
		if err != nil {
			var ee *EventError
			reason := ReasonSyntax
			if errors.As(err, &ee) {
				reason = ee.Reason
			}
			e.stats.rejected(reason)
			e.log.Debug("dropped a message that is not a leader event", "err", err)
			continue
		}
		if ev.ClientID == e.cfg.ID {
			// Transports never echo our own messages: another member
			// uses our id.
			e.stats.rejected(ReasonOwnID)
			e.log.Warn("dropped a message from another member with this member's id; give every member a unique id", "action", string(ev.Action))
			continue
		}
		e.stats.received(ev.Action)
		e.d.receive(ev)
	}
}

// ReasonOwnID is the rejection reason of a message that carries the
// receiver's own id: another member is misconfigured with the same id.
const ReasonOwnID = "own_id"
