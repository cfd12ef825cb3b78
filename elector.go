package bellwether

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
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
	// SendTimeout bounds each broadcast, which counts for the lease only if
	// the bus acknowledges it within that time. Zero means
	// HeartbeatInterval: a heartbeat acknowledged that late still renews
	// the lease, which lasts longer (HeartbeatTimeout - ElectionTimeout/2),
	// and a bus that is slow under load does not cost the lease.
	SendTimeout time.Duration
	// Value is an opaque string this member announces in its heartbeats
	// while it leads, typically the address at which it serves: every
	// member's Status.Value is the known leader's. At most MaxValueLength
	// bytes of UTF-8; it is sent in the clear to everyone on the bus.
	Value string
	// Preempt makes this member take over from a leader whose id sorts
	// after its own, when it joins or returns to the group, with a clean
	// handover: it asks that leader to hand over; the leader stops its job,
	// then withdraws, and the group elects, which the smallest standing id
	// wins. Only bellwether leaders can be asked: a reference (TypeScript)
	// leader is followed until it withdraws or fails. A member that called
	// Resign does not preempt until it next leads. See the package
	// documentation on preferring leaders.
	Preempt bool
	// Keys authenticates the group: with a keyring, the member signs every
	// message with its first key and accepts only messages that one of its
	// keys verifies, for this group, not replayed; it drops and counts the
	// others (Stats.Rejected). Every member of a keyed group needs the same
	// keys; a keyed group is for bellwether members only, since reference
	// clients neither sign nor verify. A keyed group fails closed: while a
	// member hears messages that may come from a member it cannot hear
	// (unsigned, signed with a key it lacks, or with a clock off by more
	// than MaxClockSkew) it stands for no election, and Health says why.
	// SetKeys rotates the keys of a running member. See docs/security.md.
	Keys *Keyring
	// AcceptUnsigned, with Keys, also accepts unsigned messages, while
	// still signing every message: the setting for turning an unkeyed group
	// into a keyed one without downtime (docs/security.md). It gives up the
	// protection for as long as it is set.
	AcceptUnsigned bool
	// MaxClockSkew bounds, with Keys, how far the timestamp of the first
	// message of a sender's boot (its counter proves the later ones fresh)
	// may be from this member's clock before it is rejected (ReasonClock)
	// as an old message replayed, or a clock that disagrees. Zero means
	// DefaultMaxClockSkew (30s), which tolerates the skew of clocks that
	// are not synchronised for a while; synchronised clocks are within
	// milliseconds.
	MaxClockSkew time.Duration
}

// Callbacks are called by an [Elector] in the order the changes happened.
// OnNewLeader and OnStoppedLeading are called one at a time, never
// concurrently with each other. OnStartedLeading, the job, runs on a
// goroutine of its own: OnNewLeader calls that come after it may run while
// it runs; OnStoppedLeading, and the next OnStartedLeading, wait until it
// has returned.
type Callbacks struct {
	// OnStartedLeading runs in a goroutine of its own when this member
	// starts leading, that is when it holds a lease (see LeaseExpiry). Its
	// context is cancelled the moment leadership is lost or the lease ends,
	// on Resign and on Close; the function should then return promptly,
	// because the withdrawal that lets another member take over, and the
	// next leadership callback, wait for it. A job that calls Close or
	// Resign must pass this context (or one derived from it): that is how
	// the Elector knows not to wait for the caller.
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
	// Epoch is the known leader's epoch (this member's own while it
	// leads; see [Epoch]), 0 when no leader is known or the leader is a
	// reference client, which sends none.
	Epoch uint64
	// Value is the known leader's Config.Value, "" when no leader is known
	// or it set none.
	Value string
}

// Elector is a member of a group on a [Transport]: it runs the election
// protocol, tells the program when it leads, and who does.
//
// An Elector leads on a lease made of heartbeats its bus acknowledged (see
// [Machine] and [LeaseExpiry]): its job's context is cancelled when the
// lease ends, which is before any other member can start leading, on a bus
// that delivers what it acknowledged.
//
// An Elector is safe for concurrent use. See the package documentation for
// what is and is not guaranteed.
type Elector struct {
	cfg memberConfig
	// log is the Config's Logger; logger() gives it the group and id,
	// when the member first logs: a logger's With is heap (a handler's
	// clone, often with its attributes formatted), per member, and most
	// never log.
	log     *slog.Logger
	withLog atomic.Pointer[slog.Logger]
	conn    Conn
	d       *driver
	// vals has the values of Join's ctx but not its cancellation, for the
	// contexts of Send and Recv and the leaderships'. Nothing that they
	// need is cancelled by halt: the worker has returned before, shutdown
	// cancels the receiver's context itself, and every leadership is lost
	// before.
	vals   context.Context
	events *dispatcher
	stats  *counters
	cur    atomic.Pointer[leadership] // the leadership in force, if any

	suspect atomic.Bool // a broadcast failed: check that the member still hears
	// halted is set by halt, at shutdown, once the bus is left; haltCh,
	// made under mu when someone waits, is closed then. A flag and a
	// channel on demand, where a context cancelled at shutdown cost a
	// context and its cancel func, per member.
	halted  atomic.Bool
	kickMu  sync.Mutex
	kickCtx context.Context // the receiver's context, cancelled by kickRecv
	kick    context.CancelFunc

	auth       *auth        // signs (worker) and verifies (receiver), with Config.Keys
	sendBuf    []byte       // the worker's encoding buffer
	rare       *rareRecv    // the receiver's only; nil until a keyed member's doubt or a rejection is logged
	lastSender string       // the id of the last event received; the receiver's only
	lastValue  string       // the last value received; the receiver's only
	flood      floodCounter // the receiver's only

	mu sync.Mutex
	// Channels nobody may wait for are made on demand, under mu: at rest
	// each would be about 100 bytes of heap, per member. A wait that comes
	// after the event gets closedChan.
	recvDone latch         // the receiver has returned
	haltCh   chan struct{} // see halted
	stopped  chan struct{} // closed when the job has returned, the withdrawal was sent and the bus left (lifeStopped)
	closed   chan struct{} // closed when Close has finished, callbacks included (lifeClosed)
	changed  chan struct{} // closed on the next status change, then nil
	watchers map[chan Status]struct{}

	// The flags share a word.
	state    lifeState
	dirty    bool // status changed in the batch being handled
	deaf     bool
	conflict bool // another member uses this id
	doubtful bool // hears only messages it cannot verify
	observer bool // Config.Observer; set by Join and read without mu
	// unheard is the reason of the last message from a member it may not
	// hear, while doubtful: an index of unheardReasons, 0 for none.
	unheard  uint8
	electing bool // an election is in progress, since elected; both are observe's, under the driver's lock

	// status.ID and status.Group never change after Join: they are read
	// without mu.
	status  Status
	sendErr *sendFailure // the last broadcast's failure, nil after a success
	recvErr error        // the receive error that made the member deaf
	elected instant      // start of the election in progress, on the Machine's clock, while electing
}

// unheardReasons are the rejections of messages that may come from a
// member this one cannot hear, which Elector.unheard numbers from 1.
var unheardReasons = [...]string{"", ReasonUnsigned, ReasonUnknownKey, ReasonClock}

// memberConfig is what an Elector keeps of its Config once joined: the
// rest went to its Machine, auth, logger and dispatcher, the ID and Group
// to its status, and Observer to the flags (a word of its own here would
// take the Elector over a size class).
type memberConfig struct {
	Settings    Settings
	SendTimeout time.Duration
}

// sendFailure is a broadcast's error and when it happened: a pointer in
// the Elector, which most never need.
type sendFailure struct {
	err error
	at  time.Time
}

// rareRecv is the receiver's state that most members never need: a keyed
// member's doubts, and the bounds on logging rejections.
type rareRecv struct {
	doubtAt     time.Time // when the receiver last told the machine of an unverifiable message
	unheardAt   time.Time // the same, for a message from a member it may not hear
	rejectLogAt time.Time // start of the minute rejectLogs counts
	rejectLogs  int
	rejectLog   map[string]time.Time // when a rejection from a sender was last logged
}

// lifeState is an Elector's stage of life. It only moves forward.
type lifeState uint8

const (
	lifeRunning lifeState = iota
	lifeClosing           // Close began: no leadership, job or callback starts
	lifeStopped           // the job has returned, the withdrawal was sent and the bus left
	lifeClosed
)

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
	if err := validateValue(cfg.Value); err != nil {
		return nil, fmt.Errorf("bellwether: invalid config: Value: %w", err)
	}
	if cfg.MaxClockSkew < 0 {
		return nil, fmt.Errorf("bellwether: invalid config: MaxClockSkew %v is negative", cfg.MaxClockSkew)
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.AcceptUnsigned && cfg.Keys == nil {
		return nil, errors.New("bellwether: invalid config: AcceptUnsigned is set but Keys is nil; it only relaxes a keyed member")
	}
	var au *auth
	if cfg.Keys != nil {
		var err error
		if au, err = newAuth(cfg.Keys, cfg.Group, cfg.AcceptUnsigned, cfg.MaxClockSkew); err != nil {
			return nil, fmt.Errorf("bellwether: %w", err)
		}
	}
	cfg.Settings = cfg.Settings.WithDefaults()
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = cfg.Settings.HeartbeatInterval
	}
	m, err := NewMachine(MachineConfig{ID: cfg.ID, Settings: cfg.Settings, Observer: cfg.Observer, Mode: cfg.Mode, Seed: rand.Uint64(), Lease: true, Value: cfg.Value, Preempt: cfg.Preempt})
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
	e := &Elector{
		cfg:    memberConfig{Settings: cfg.Settings, SendTimeout: cfg.SendTimeout},
		auth:   au,
		log:    logger,
		conn:   conn,
		vals:   context.WithoutCancel(ctx),
		stats:  newCounters(),
		status: Status{Group: cfg.Group, ID: cfg.ID, Since: time.Now()},
	}
	e.observer = cfg.Observer
	e.events = newDispatcher(cfg.Callbacks)
	e.d = newDriverFor(m, e)
	e.d.coalesce = true
	e.d.start()
	go e.recvLoop()
	return e, nil
}

// logger returns the member's logger, with its group and id.
func (e *Elector) logger() *slog.Logger {
	if l := e.withLog.Load(); l != nil {
		return l
	}
	e.withLog.CompareAndSwap(nil, e.log.With("group", e.status.Group, "id", e.status.ID))
	return e.withLog.Load()
}

// ID returns this member's id.
func (e *Elector) ID() string { return e.status.ID }

// Group returns the group's name.
func (e *Elector) Group() string { return e.status.Group }

// Settings returns the settings in use, defaults filled in.
func (e *Elector) Settings() Settings { return e.cfg.Settings }

// Leader returns the id of the leader this member knows of, and false when
// it knows none. After Close it knows none.
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
	if e.observer {
		return fmt.Errorf("%w: an observer never leads", ErrClosed)
	}
	for {
		e.mu.Lock()
		leading, state := e.status.IsLeader, e.state
		var ch <-chan struct{}
		if state == lifeRunning && !leading {
			if e.changed == nil {
				e.changed = make(chan struct{})
			}
			ch = e.changed
		}
		e.mu.Unlock()
		switch {
		case state != lifeRunning:
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
// closed. One change of leadership is one Status: the leader and whether
// this member leads change together. A slow reader never slows the
// Elector: it receives the latest Status, skipping intermediate ones.
func (e *Elector) Watch(ctx context.Context) <-chan Status {
	ch := make(chan Status, 1)
	e.mu.Lock()
	if e.state == lifeClosed {
		e.mu.Unlock()
		close(ch)
		return ch
	}
	ch <- e.status
	if e.watchers == nil {
		e.watchers = make(map[chan Status]struct{})
	}
	e.watchers[ch] = struct{}{}
	halted := waitFor(&e.haltCh, e.halted.Load())
	e.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-halted:
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

// LeaseExpiry reports the instant by which the job of the leadership
// context ctx (the one OnStartedLeading was given, or one derived from it)
// must have stopped: the end of the member's lease as last renewed. It
// moves later with every heartbeat the bus acknowledges while the member
// holds the lease, including while the job stops after Resign or Close
// (the member heartbeats until the job has returned); once the lease is
// lost it no longer moves. ok is false when ctx is not a leadership
// context. A job with side effects outside the process can check it (or
// hand it to a guard, as the bellwether command does) instead of relying
// on its context alone: a process that was frozen runs on for a moment
// after it thaws before its context is cancelled.
func LeaseExpiry(ctx context.Context) (expiry time.Time, ok bool) {
	l, ok := ctx.Value(leadershipKey{}).(*leadership)
	if !ok {
		return time.Time{}, false
	}
	return l.expiry(), true
}

// Epoch reports the epoch that the leadership of ctx (the context
// OnStartedLeading was given, or one derived from it) holds now: a fencing
// token, greater than the epoch of every leadership this member had heard
// of when it won. It can rise during one leadership, when this member met
// another leader and stayed, so that a store that saw the other's epoch
// accepts this one's next write; once the leadership has ended it no
// longer changes. ok is false when ctx is not a leadership context. See
// docs/fencing.md.
func Epoch(ctx context.Context) (epoch uint64, ok bool) {
	l, ok := ctx.Value(leadershipKey{}).(*leadership)
	if !ok {
		return 0, false
	}
	return l.epoch.Load(), true
}

// fromJob reports whether ctx is (derived from) one of this Elector's
// leadership contexts: the caller is, or speaks for, its job.
func (e *Elector) fromJob(ctx context.Context) bool {
	l, ok := ctx.Value(leadershipKey{}).(*leadership)
	return ok && l.e == e
}

// Resign makes this member step down if it leads, with a clean handover:
// it cancels the leadership context, waits for OnStartedLeading to return
// (the member keeps heartbeating meanwhile, so nobody else starts), then
// announces its withdrawal so the others elect at once, and stands for no
// election until it hears a new leader or HeartbeatTimeout passes. It
// returns once the withdrawal was handed to the bus, or ctx's error if ctx
// ends first (the withdrawal then follows when the job returns). Called by
// the job with its own context, it returns at once and the withdrawal
// follows the job's return. A member that does not lead is not affected.
// After Close it returns ErrClosed.
func (e *Elector) Resign(ctx context.Context) error {
	e.mu.Lock()
	state := e.state
	e.mu.Unlock()
	if state != lifeRunning {
		return ErrClosed
	}
	l := e.cur.Load()
	if l == nil {
		return nil
	}
	done := e.resign(l)
	if e.fromJob(ctx) {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetKeys replaces the keyring of a keyed member (Config.Keys) while it
// runs: the next message it sends is signed with k's first key, and the
// next it receives is verified with k's keys. Its boot nonce and counter
// go on, so nothing it sent before is replayable. A group rotates its key
// with no restart and no pause of its job by taking each step of the
// rotation (add the new key second, move it first, remove the old one) on
// every member before the next; see docs/security.md. It fails for a
// member that was not keyed at Join, and for a nil k.
func (e *Elector) SetKeys(k *Keyring) error {
	switch {
	case e.auth == nil:
		return errors.New("bellwether: SetKeys: this member is not keyed (Config.Keys was nil at Join); a group becomes keyed by restarting its members with keys")
	case k == nil:
		return errors.New("bellwether: SetKeys: the keyring is nil; a keyed member stays keyed")
	}
	e.auth.ring.Store(k)
	return nil
}

// resign ends the leadership l with a clean handover: it cancels l, and
// once l's job has returned resigns the Machine, whose withdrawal lets the
// others elect. The channel is closed when the withdrawal was handed to
// the bus (or l had ended already).
func (e *Elector) resign(l *leadership) <-chan struct{} {
	l.cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.wait(e.haltWait())
		e.d.apply(func(now time.Time) []Effect {
			if e.cur.Load() != l {
				return e.d.m.Tick(now).Effects // that leadership has ended already
			}
			return e.d.m.Resign(now).Effects
		})
		e.d.sync()
	}()
	return done
}

// Health reports whether the member can take part in its group: nil, or
// why not. It reports a member that cannot hear the group (its receiving
// has failed for longer than HeartbeatInterval), a member that hears
// another member using its id, and a failed broadcast until a broadcast
// succeeds; but when the transport's connection implements HealthChecker,
// its own report takes over one HeartbeatInterval after the failed
// broadcast, so that a follower, which may have nothing to send for a long
// time, does not report an outage that is over.
func (e *Elector) Health() error {
	e.mu.Lock()
	var err error
	var at time.Time
	if f := e.sendErr; f != nil {
		err, at = f.err, f.at
	}
	state, deaf, recvErr, conflict, doubtful, unheard := e.state, e.deaf, e.recvErr, e.conflict, e.doubtful, unheardReasons[e.unheard]
	e.mu.Unlock()
	switch {
	case state != lifeRunning:
		return ErrClosed
	case conflict:
		return fmt.Errorf("bellwether: another member of group %q uses this member's id %q; it will not lead until every member has a unique id", e.status.Group, e.status.ID)
	case doubtful && unheard != "":
		return fmt.Errorf("bellwether: hearing messages in group %q that fail verification (%s): from an unkeyed member, one with a key this member lacks, one whose clock is off by more than MaxClockSkew, or a forger; not standing for election until none has come for 2·HeartbeatTimeout", e.status.Group, unheard)
	case doubtful:
		return fmt.Errorf("bellwether: hearing messages in group %q that fail verification and none that pass: this member's key, or the others', is wrong (or they are unkeyed); not standing for election", e.status.Group)
	case deaf:
		return fmt.Errorf("bellwether: cannot hear the group, so not standing for election: %w", recvErr)
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

// Close stops the member. It may be called any number of times, from any
// goroutine, concurrently: the first call starts the shutdown and every
// call waits for it, under its own ctx. From the moment Close begins no
// leadership, job or callback starts (but the OnStoppedLeading owed to a
// job that ran). Close cancels the leadership context and waits for
// OnStartedLeading to return, so that a job it runs is stopped before
// another member can take over; then it announces its withdrawal, leaves
// the group, and calls OnStoppedLeading if it led. When Close returns nil
// all of this is done, no callback runs again and nothing of the Elector
// is left. If ctx ends first, Close returns ctx.Err() and the shutdown
// goes on in the background.
//
// Called by the job with its own context (see Callbacks), Close returns at
// once and the shutdown proceeds when the job returns. Called from inside
// OnNewLeader or OnStoppedLeading, Close does not wait for that call, its
// caller: it returns once the job has returned, the withdrawal was handed
// to the bus and the bus was left. Called on any other goroutine while one
// of them runs, it waits for it.
func (e *Elector) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.state == lifeRunning {
		e.state = lifeClosing
		go e.shutdown()
	}
	e.mu.Unlock()
	if e.fromJob(ctx) {
		return nil
	}
	inCallback := e.events.inCallback()
	e.mu.Lock()
	wait := waitFor(&e.closed, e.state >= lifeClosed)
	if inCallback {
		wait = waitFor(&e.stopped, e.state >= lifeStopped)
	}
	e.mu.Unlock()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Elector) shutdown() {
	e.events.beginClose()
	// Stop the leader's job first, so that no other member starts it while
	// ours still runs: the member heartbeats until then.
	if l := e.cur.Load(); l != nil {
		l.cancel()
		e.waitJob(l)
	}
	e.d.shutdown(true, false)
	now := time.Now()
	if l := e.cur.Swap(nil); l != nil {
		l.lose(now)
	}
	e.mu.Lock()
	e.status.IsLeader = false
	e.status.Leader, e.status.Epoch, e.status.Value = "", 0, ""
	e.publishLocked()
	e.mu.Unlock()
	e.conn.Close()
	e.halt()
	// The receiver ends even if the Conn's Recv misses the Close: its
	// context is cancelled here, after halt, which recvContext checks.
	e.cancelRecv()
	e.mu.Lock()
	recvDone := e.recvDone.wait()
	e.mu.Unlock()
	<-recvDone
	e.mu.Lock()
	e.state = lifeStopped
	fire(e.stopped)
	e.mu.Unlock()
	e.events.close()
	e.mu.Lock()
	e.state = lifeClosed
	for ch := range e.watchers {
		delete(e.watchers, ch)
		close(ch)
	}
	fire(e.changed)
	e.changed = nil
	fire(e.closed)
	e.mu.Unlock()
}

// waitJob waits for the job of l to return, warning now and then that it
// has not: a job that ignores its context, or calls Close with another
// context than its own, keeps the member from withdrawing.
func (e *Elector) waitJob(l *leadership) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Settings.HeartbeatTimeout)
		returned := l.wait(ctx.Done())
		cancel()
		if returned {
			return
		}
		e.logger().Warn("still waiting for OnStartedLeading to return after its context was cancelled; a job that calls Close or Resign must pass its own context")
	}
}

// handle carries out one effect of the machine, on the driver's worker.
func (e *Elector) handle(ef *Effect) {
	switch ef.Kind {
	case EffectBroadcast:
		e.send(ef)
	case EffectLeading:
		e.setLeading(ef.Leading)
	case EffectLeader:
		e.setLeader(ef)
	case EffectHandover:
		if l := e.cur.Load(); l != nil && l.handOver() {
			e.logger().Info("handing over: a member with a smaller id preempts", "to", ef.Leader)
			e.resign(l)
		}
	case EffectWarning:
		switch ef.Warning {
		case WarnDeferring, WarnStaying:
			e.stats.add(&e.stats.duplicateLeaders, 1)
		case WarnDuplicateID:
			e.logger().Error(ef.Warning.String() + ": this member will not lead while it hears its id from another")
			return
		case WarnUnverified:
			e.logger().Error(ef.Warning.String())
			return
		}
		e.logger().Warn(ef.Warning.String())
	}
}

func (e *Elector) send(ef *Effect) {
	var msg []byte
	if e.auth != nil {
		msg = e.auth.sign(e.sendBuf[:0], ef.Event, e.wall(time.Now()))
	} else if l := e.cur.Load(); ef.Event.Action == ActionCurrent && l != nil {
		if l.beat == nil {
			l.beat = new(lastBeat)
		}
		msg = l.beat.appendJSON(e.sendBuf[:0], &ef.Event)
	} else {
		msg = ef.Event.AppendJSON(e.sendBuf[:0])
	}
	e.sendBuf = msg[:0]
	ctx, cancel := context.WithTimeout(e.vals, e.cfg.SendTimeout)
	err := e.conn.Send(ctx, msg)
	cancel()
	now := time.Now()
	if err == nil {
		e.mu.Lock()
		e.sendErr = nil
		e.mu.Unlock()
		e.stats.sent(ef.Event.Action)
		e.d.acked(ef.Seq)
		return
	}
	e.mu.Lock()
	e.sendErr = &sendFailure{err: err, at: now}
	e.mu.Unlock()
	e.stats.add(&e.stats.sendErrors, 1)
	if errors.Is(err, ErrClosed) {
		return
	}
	e.kickRecv()
	e.logger().Warn("broadcast failed", "action", string(ef.Event.Action), "err", err)
}

// lastBeat is the last heartbeat a leader sent and its encoding. A
// leader's heartbeats are one event, the same while its epoch and value
// stay, and encoding it, its 16-digit epoch above all, was the largest
// part of a heartbeat's cost; the encoding is a function of the event's
// fields alone, so the same event is the same bytes.
type lastBeat struct {
	ev  Event
	msg []byte // never handed out: a Conn could write into what it is sent
}

// appendJSON appends ev's encoding to b and returns the extended slice, as
// ev.AppendJSON(b) does, with the bytes of the last event it encoded when
// ev is that one.
func (c *lastBeat) appendJSON(b []byte, ev *Event) []byte {
	if c.msg != nil && ev.Epoch == c.ev.Epoch && sameString(ev.ClientID, c.ev.ClientID) && sameString(ev.Value, c.ev.Value) &&
		sameString(string(ev.Action), string(c.ev.Action)) && sameString(ev.Type, c.ev.Type) && sameString(ev.Takeover, c.ev.Takeover) {
		return append(b, c.msg...)
	}
	n := len(b)
	b = ev.AppendJSON(b)
	c.ev, c.msg = *ev, append(c.msg[:0], b[n:]...)
	return b
}

// sameString reports whether a == b, without a call when they are one
// string (or empty), as a Machine's heartbeats' strings are from one to
// the next: an Event's ==, a call per string, cost half as much as the
// encoding it saves.
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

func (e *Elector) setLeading(leading bool) {
	now := time.Now()
	if !leading {
		if l := e.cur.Swap(nil); l != nil {
			l.lose(now) // the moment leadership is lost
			e.events.push(note{kind: noteStopped})
		}
		e.mu.Lock()
		e.status.IsLeader = false
		e.dirty = true
		e.mu.Unlock()
		return
	}
	e.mu.Lock()
	running := e.state == lifeRunning
	e.mu.Unlock()
	if !running {
		return // Close began: no new leadership
	}
	var end time.Time
	var epoch uint64
	e.d.read(func(m *Machine) { end, _ = m.LeaseEnd(); epoch = m.Epoch() })
	l := newLeadership(e, end)
	l.epoch.Store(epoch)
	e.cur.Store(l)
	e.mu.Lock()
	e.status.IsLeader = true
	e.dirty = true
	e.mu.Unlock()
	e.events.push(note{kind: noteStarted, lead: l})
}

// setLeader records a change of the known leader, or of its epoch or
// value; only a change of id is a new leader.
func (e *Elector) setLeader(ef *Effect) {
	e.mu.Lock()
	if e.state != lifeRunning {
		e.mu.Unlock()
		return
	}
	changed := e.status.Leader != ef.Leader
	e.status.Leader, e.status.Epoch, e.status.Value = ef.Leader, ef.Epoch, ef.Value
	if changed {
		e.status.Since = time.Now()
	}
	e.dirty = true
	e.mu.Unlock()
	if changed {
		e.stats.add(&e.stats.leaderChanges, 1)
		e.events.push(note{kind: noteLeader, leader: ef.Leader})
	}
}

// settled publishes the status once for a batch of effects, so that one
// change is one Status.
func (e *Elector) settled() {
	e.mu.Lock()
	if e.dirty {
		e.dirty = false
		e.publishLocked()
	}
	leading := e.status.IsLeader
	e.mu.Unlock()
	if !leading {
		// Only a leader sends at rest: a follower's election messages
		// leave no buffer behind (heap, per member).
		e.sendBuf = nil
	}
}

// publishLocked tells waiters and watchers of a status change.
func (e *Elector) publishLocked() {
	fire(e.changed)
	e.changed = nil
	for ch := range e.watchers {
		select {
		case <-ch: // drop the stale status: latest wins
		default:
		}
		ch <- e.status
	}
}

// observe runs after every step of the machine, under the driver's lock:
// it renews the lease the job sees, notes a shared id, and tracks
// elections for the statistics (one starts when the machine starts
// electing and ends when it stops).
func (e *Elector) observe(m *Machine, now time.Time) {
	if l := e.cur.Load(); l != nil {
		if end, ok := m.LeaseEnd(); ok {
			l.renew(end)
			l.epoch.Store(m.Epoch())
		}
	}
	if c, d := m.Conflict(), m.Doubtful(); c != e.conflict || d != e.doubtful {
		e.mu.Lock()
		e.conflict, e.doubtful = c, d
		if !d {
			e.unheard = 0
		}
		e.mu.Unlock()
	}
	switch electing := m.Electing(); {
	case electing && !e.electing:
		e.electing, e.elected = true, m.clock(now)
		e.stats.add(&e.stats.elections, 1)
	case !electing && e.electing:
		e.electing = false
		e.stats.observeElection(m.clock(now).sub(e.elected))
	}
}

func (e *Elector) recvLoop() {
	defer func() {
		e.mu.Lock()
		e.recvDone.fire()
		e.mu.Unlock()
	}()
	const minBackoff = 10 * time.Millisecond
	backoff := minBackoff
	var failingSince time.Time // since when the member may not hear, or zero
	hc, _ := e.conn.(HealthChecker)
	for {
		doubt := !failingSince.IsZero() || e.suspect.Load()
		ctx, cancel := e.recvContext(doubt)
		msg, err := e.conn.Recv(ctx)
		// Our own timeout or kick: not a failure of the bus.
		waited := err != nil && ctx.Err() != nil && !e.halted.Load()
		cancel()
		if err != nil && !waited && (errors.Is(err, ErrClosed) || e.halted.Load()) {
			return
		}
		recvFailed := err != nil && !waited
		if waited {
			err, msg = nil, nil
		}
		if err == nil && msg == nil && doubt && hc != nil {
			// Nothing came: a bus that will not take our messages may not
			// bring us the others' either (a server bus reconnecting
			// hears nothing). A message that came is heard, whatever the
			// bus says of itself.
			err = hc.Health()
		}
		if err != nil {
			now := time.Now()
			if failingSince.IsZero() {
				failingSince = now
			}
			e.mu.Lock()
			becomesDeaf := !e.deaf && now.Sub(failingSince) >= e.cfg.Settings.HeartbeatInterval
			if becomesDeaf {
				e.deaf, e.recvErr = true, err
			}
			e.mu.Unlock()
			if becomesDeaf {
				e.logger().Error("cannot hear the group; standing for no election until receiving works again", "for", now.Sub(failingSince), "err", err)
				e.d.apply(func(now time.Time) []Effect { return e.d.m.Deaf(now, true).Effects })
			} else if recvFailed && backoff == minBackoff {
				e.logger().Warn("receive failed", "err", err)
			}
			if recvFailed {
				select {
				case <-time.After(backoff):
				case <-e.haltWait():
					return
				}
				backoff = min(2*backoff, time.Second)
			}
			continue
		}
		backoff = minBackoff
		if doubt {
			e.suspect.Store(false)
		}
		if !failingSince.IsZero() {
			failingSince = time.Time{}
			e.mu.Lock()
			wasDeaf := e.deaf
			e.deaf, e.recvErr = false, nil
			e.mu.Unlock()
			if wasDeaf {
				e.logger().Info("hearing the group again")
			}
			// Whatever it missed meanwhile, it listens afresh before it
			// may win an election.
			e.d.apply(func(now time.Time) []Effect { return e.d.m.Deaf(now, false).Effects })
		}
		if msg == nil {
			continue
		}
		e.receiveBytes(msg)
	}
}

// receiveBytes takes one received message to the machine; it runs on the
// receiver's goroutine only. A heartbeat from the known leader, the
// steady state, allocates nothing: the sender's id is reused from the
// string this member already holds.
func (e *Elector) receiveBytes(msg []byte) {
	var r rawEvent
	if err := parseEvent(msg, &r); err != nil {
		var ee *EventError
		reason := ReasonSyntax
		if errors.As(err, &ee) {
			reason = ee.Reason
		}
		e.stats.rejected(reason)
		e.logger().Debug("dropped a message that is not a leader event", "err", err)
		e.unverified(false)
		return
	}
	ev := Event{Type: EventType, Action: r.action, ClientID: e.senderID(r.id), Epoch: r.epoch}
	if len(r.value) > 0 {
		ev.Value = e.senderValue(r.value)
	}
	if len(r.takeover) > 0 {
		ev.Takeover = string(r.takeover)
	}
	now := time.Now()
	if e.auth != nil {
		if reason := e.auth.verify(ev, &r, e.wall(now)); reason != "" {
			e.stats.rejected(reason)
			e.logRejected(ev.ClientID, reason)
			switch reason {
			case ReasonReplay: // a duplicate delivery is no doubt
			case ReasonUnsigned, ReasonUnknownKey, ReasonClock:
				// Possibly a member this one cannot hear: an unkeyed one,
				// one signing with a key not in this keyring (a rotation
				// out of order), or one whose clock disagrees.
				e.mu.Lock()
				e.unheard = uint8(slices.Index(unheardReasons[:], reason))
				e.mu.Unlock()
				e.unverified(true)
			default:
				e.unverified(false)
			}
			return
		}
	}
	e.countFlood(ev.ClientID, now)
	if ev.ClientID == e.status.ID {
		// Transports never echo our own messages: another member
		// uses our id. The machine stands aside (and says so once).
		e.stats.rejected(ReasonOwnID)
	} else {
		e.stats.received(ev.Action)
	}
	e.d.receive(ev)
}

// rejectLogsPerMinute bounds the log lines of rejections in a minute.
const rejectLogsPerMinute = 20

// FloodLimit is how many events from one sender in one HeartbeatInterval
// an Elector takes for ordinary: a leader's heartbeat and the few messages
// of an election. Beyond it, Stats.Flooded counts them.
const FloodLimit = 16

// countFlood counts ev's sender's events in the current HeartbeatInterval.
// It keeps at most maxSenders senders a window, by a hash of the id (not
// the id), so a flood of forged ids costs a few kilobytes at most.
func (e *Elector) countFlood(from string, now time.Time) {
	f := &e.flood
	if now.Sub(f.at) >= e.cfg.Settings.HeartbeatInterval {
		f.reset(now)
	}
	if f.seed == (maphash.Seed{}) {
		f.seed = maphash.MakeSeed()
	}
	n, ok := f.add(maphash.String(f.seed, from))
	if !ok {
		return
	}
	if n > FloodLimit {
		e.stats.add(&e.stats.flooded, 1)
		if n == FloodLimit+1 {
			e.logRejected(from, "flood")
		}
	}
}

// floodCounter counts events by sender (a hash of its id) in a window.
// The first two senders of a window take slots of its own, the others a
// map: a member at rest hears one sender, its leader, and keeps no map; a
// leader of three, whose last window may have been an election's, none
// either; and a window without more senders gives a past flood's map
// back.
type floodCounter struct {
	at   time.Time // start of the window
	seed maphash.Seed
	few  [2]floodCount
	nfew int
	more map[uint64]int
}

type floodCount struct {
	k uint64
	n int
}

// reset starts a window at now.
func (f *floodCounter) reset(now time.Time) {
	f.at, f.nfew = now, 0
	if len(f.more) == 0 {
		f.more = nil
	} else {
		clear(f.more)
	}
}

// add counts an event from the sender k and returns its count in the
// window; ok is false when the window has maxSenders others already, and
// then it is not counted.
func (f *floodCounter) add(k uint64) (n int, ok bool) {
	for i := range f.few[:f.nfew] {
		if c := &f.few[i]; c.k == k {
			c.n++
			return c.n, true
		}
	}
	if f.nfew < len(f.few) {
		f.few[f.nfew] = floodCount{k: k, n: 1}
		f.nfew++
		return 1, true
	}
	n, ok = f.more[k]
	if !ok && f.nfew+len(f.more) >= maxSenders {
		return 0, false
	}
	if f.more == nil {
		f.more = make(map[uint64]int)
	}
	f.more[k] = n + 1
	return n + 1, true
}

// wall is now on the wall clock that signatures carry and are checked
// against; for a keyed member only.
func (e *Elector) wall(now time.Time) time.Time {
	return now.Add(time.Duration(e.auth.wallStep.Load()))
}

// unverified tells a keyed member's machine that a message failed, at most
// every quarter HeartbeatInterval: a flood costs no machine steps.
func (e *Elector) unverified(unheard bool) {
	if e.auth == nil {
		return
	}
	now := time.Now()
	if e.rare == nil {
		e.rare = new(rareRecv)
	}
	last := &e.rare.doubtAt
	if unheard {
		last = &e.rare.unheardAt
	}
	if !last.IsZero() && now.Sub(*last) < e.cfg.Settings.HeartbeatInterval/4 {
		return
	}
	*last = now
	e.d.apply(func(now time.Time) []Effect { return e.d.m.Unverified(now, unheard).Effects })
}

// logRejected logs a keyed member's rejection at most once a minute per
// claimed sender, and at most rejectLogsPerMinute times a minute in all, so
// that a flood, under one id or many, cannot flood the log.
func (e *Elector) logRejected(from, reason string) {
	now := time.Now()
	if e.rare == nil {
		e.rare = new(rareRecv)
	}
	r := e.rare
	if last, ok := r.rejectLog[from]; ok && now.Sub(last) < time.Minute {
		return
	}
	if now.Sub(r.rejectLogAt) >= time.Minute {
		r.rejectLogAt, r.rejectLogs = now, 0
	}
	if r.rejectLogs >= rejectLogsPerMinute {
		return
	}
	r.rejectLogs++
	if r.rejectLog == nil || len(r.rejectLog) >= 1024 {
		r.rejectLog = make(map[string]time.Time)
	}
	r.rejectLog[from] = now
	if reason == "flood" {
		e.logger().Warn("a sender floods the group", "from", from, "limit", FloodLimit, "per", e.cfg.Settings.HeartbeatInterval)
		return
	}
	e.logger().Warn("dropped a message that failed verification", "from", from, "reason", reason)
}

// senderID returns raw as a string, reusing an id this member holds when
// raw equals it (comparing string(raw) does not allocate).
func (e *Elector) senderID(raw []byte) string {
	if string(raw) == e.lastSender {
		return e.lastSender
	}
	if string(raw) == e.status.ID {
		return e.status.ID
	}
	e.mu.Lock()
	leader := e.status.Leader
	e.mu.Unlock()
	if string(raw) == leader {
		e.lastSender = leader
		return leader
	}
	e.lastSender = string(raw)
	return e.lastSender
}

// senderValue returns raw as a string, reusing the known leader's value
// when raw equals it, so that a leader's heartbeats allocate nothing.
func (e *Elector) senderValue(raw []byte) string {
	if string(raw) == e.lastValue {
		return e.lastValue
	}
	e.lastValue = string(raw)
	return e.lastValue
}

// recvContext returns the context for the next Recv: one the send path
// can cancel (kickRecv) to have the receiver check the bus, and, while in
// doubt, one that ends after a quarter of HeartbeatInterval so that the
// receiver keeps checking.
func (e *Elector) recvContext(doubt bool) (context.Context, context.CancelFunc) {
	e.kickMu.Lock()
	if e.halted.Load() {
		e.kickMu.Unlock()
		return haltedCtx, func() {} // shutting down: the receiver returns
	}
	if e.kickCtx == nil || e.kickCtx.Err() != nil {
		// shutdown cancels it after halt.
		e.kickCtx, e.kick = context.WithCancel(e.vals)
	}
	ctx := e.kickCtx
	e.kickMu.Unlock()
	if doubt {
		return context.WithTimeout(ctx, e.cfg.Settings.HeartbeatInterval/4)
	}
	return ctx, func() {}
}

// haltedCtx is the receiver's context once the member halted: a Recv
// returns at once.
var haltedCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// halt marks the member halted and wakes whoever waits for it (Watch's
// goroutines, a resignation's, the receiver's backoff).
func (e *Elector) halt() {
	e.mu.Lock()
	e.halted.Store(true)
	fire(e.haltCh)
	e.mu.Unlock()
}

// haltWait returns a channel that is closed once the member halted.
func (e *Elector) haltWait() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return waitFor(&e.haltCh, e.halted.Load())
}

// kickRecv makes the receiver look at the bus's health now: a broadcast
// failed.
func (e *Elector) kickRecv() {
	e.suspect.Store(true)
	e.cancelRecv()
}

// cancelRecv cancels the context of the receiver's Recv under way.
func (e *Elector) cancelRecv() {
	e.kickMu.Lock()
	if e.kick != nil {
		e.kick()
	}
	e.kickMu.Unlock()
}
