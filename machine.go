package bellwether

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// MachineConfig configures a [Machine].
type MachineConfig struct {
	// ID is this member's client id; see [ValidateID].
	ID string
	// Settings are the protocol's timings; zero fields take their defaults.
	Settings Settings
	// Observer makes a member that never stands for election and never
	// broadcasts, but follows the leader's heartbeats to know who leads.
	Observer bool
	// Mode selects how elections are run. The zero value is ModeQuiet;
	// ModeReference reproduces the reference implementation exactly.
	Mode ElectionMode
	// Seed seeds the pseudo-random jitter of ModeQuiet, so that a machine
	// is deterministic for a given seed and input. Members of a group
	// should use different seeds.
	Seed uint64
	// Lease makes leadership a lease on broadcasts the bus acknowledged
	// (see [Machine.Acked]); without it the Machine is the reference's
	// leader, which leads from the moment it wins. See [Machine] for the
	// rules a leasing member follows. A leasing Machine also numbers its
	// leaderships with epochs, announces its Value while it leads, and
	// preempts with Preempt.
	Lease bool
	// Value is announced in this member's heartbeats while it leads (with
	// Lease); see [Config].Value.
	Value string
	// Preempt makes this member ask a leader whose id sorts after its own
	// to hand over (with Lease); see [Config].Preempt.
	Preempt bool
}

// MaxCandidates bounds the candidates a Machine keeps during an election.
// When more stand, it keeps the smallest ids, which are the only ones that
// can win; a flood of accepts therefore costs CPU, never memory. (The
// reference keeps them all, so with more than MaxCandidates candidates and
// the smallest withdrawing mid-election the two can pick differently.)
const MaxCandidates = 1024

// EffectKind says what an [Effect] asks of the driver.
type EffectKind uint8

const (
	// EffectBroadcast: send Effect.Event to every other member, after the
	// effects before it. A leasing Machine wants to hear, through Acked
	// with Effect.Seq, which of them the bus acknowledged. A driver may
	// send two identical broadcasts that are both still waiting as one,
	// acknowledging the later Seq, since that send happens after both.
	EffectBroadcast EffectKind = iota + 1
	// EffectLeading: this member started (Leading true) or stopped leading.
	// With a lease, it follows the lease: true once the first heartbeat
	// was acknowledged, false the moment the lease ends. A driver stops the
	// member's work on false before anything else.
	EffectLeading
	// EffectLeader: the known leader is now Effect.Leader ("" for none).
	// With a lease, this member is reported as leader only while it holds
	// the lease.
	EffectLeader
	// EffectWarning: something a driver should log, Effect.Warning.
	EffectWarning
	// EffectHandover: a member with a smaller id, Effect.Leader, asks this
	// member, which holds the lease, to hand over (it preempts); once per
	// leadership. The driver stops the member's work and then calls
	// Resign, which lets the group elect.
	EffectHandover
)

func (k EffectKind) String() string {
	switch k {
	case EffectBroadcast:
		return "broadcast"
	case EffectLeading:
		return "leading"
	case EffectLeader:
		return "leader"
	case EffectWarning:
		return "warning"
	case EffectHandover:
		return "handover"
	}
	return "unknown"
}

// Effect is one thing a [Machine] step asks its driver to do or to report.
// Only the fields named by Kind are set.
type Effect struct {
	// The small fields come first, packed in one word: a driver copies
	// Effects through its queue.
	Kind    EffectKind
	Leading bool    // EffectLeading
	Warning Warning // EffectWarning
	Event   Event   // EffectBroadcast
	Seq     uint64  // EffectBroadcast: its number, for Acked; increasing
	Leader  string  // EffectLeader; EffectHandover: the member that asks
	Epoch   uint64  // EffectLeader, leasing only: the leader's epoch, 0 if unknown
	Value   string  // EffectLeader, leasing only: the leader's value
}

// Warning is an anomaly the reference implementation logs with
// console.warn.
type Warning uint8

// The reference's warnings.
const (
	// WarnLeaderTimeout: no heartbeat for HeartbeatTimeout; electing again.
	WarnLeaderTimeout Warning = iota + 1
	// WarnDeferring: this leader met a leader with a smaller id and steps
	// down.
	WarnDeferring
	// WarnStaying: this leader met a leader with a larger id and stays.
	WarnStaying
	// WarnDuplicateID: a leasing member heard a message with its own id,
	// so another member uses it; it stands for no election (and stops
	// leading) until it has heard none for HeartbeatTimeout.
	WarnDuplicateID
	// WarnLeaseExpired: a leasing leader's lease ran out (the bus stopped
	// acknowledging its heartbeats, or it was frozen); it stepped down
	// without a word.
	WarnLeaseExpired
	// WarnUnverified: a leasing member hears messages it cannot verify and
	// none it can (see Machine.Unverified); it stands for no election.
	WarnUnverified
)

func (w Warning) String() string {
	switch w {
	case WarnLeaderTimeout:
		return "leader timeout"
	case WarnDeferring:
		return "multiple leaders detected, deferring"
	case WarnStaying:
		return "multiple leaders detected, staying"
	case WarnDuplicateID:
		return "another member uses this member's id; give every member a unique id"
	case WarnLeaseExpired:
		return "leadership lease expired: no heartbeat was acknowledged in time"
	case WarnUnverified:
		return "hearing messages that fail verification and none that pass: this member's key, or the others', is wrong (or they are unkeyed); not standing for election"
	}
	return "unknown warning"
}

// Output is what one step of a [Machine] returns.
type Output struct {
	// Effects are to be carried out in order. The slice is owned by the
	// Machine and valid only until its next method call.
	Effects []Effect
	// Next is when Tick must next be called; the zero Time means no timer
	// is pending.
	Next time.Time
}

// timer is one of the reference's setTimeout/setInterval handles. seq is
// its creation order, which breaks ties between timers due at the same
// instant exactly as JavaScript timers do. It takes 32 bits, beside on,
// and arm renumbers the timers before it runs out: a timer is 16 bytes,
// not 24, and a Machine of eight a size class smaller (heap, per member).
type timer struct {
	on  bool // first: Next reads it of the election timer in Machine's second cache line
	seq uint32
	at  instant
}

// instant is a point in a Machine's own time: nanoseconds since its first
// step, which fixes base. Every step turns its time.Time into an instant
// once (Machine.clock), and the protocol's arithmetic is then a machine
// word's add and compare: time.Time's, a call each, came to a dozen in a
// leader's heartbeat. The difference is time.Time's Sub, so it is
// monotonic wherever the times given are.
type instant int64

// never is the instant before every other: the "when it last ..." of
// what has not happened. clock returns none below it.
const never instant = math.MinInt64

// add returns t + d, saturating at the top: settings are not bounded, and
// a late enough deadline is as good as none. The Machine adds only
// settings and jitter, never a negative d, so the bottom needs no guard.
func (t instant) add(d time.Duration) instant {
	if d > 0 && t > math.MaxInt64-instant(d) {
		return math.MaxInt64
	}
	return t + instant(d)
}

// sub returns t - u, saturating, for instants that are not never.
func (t instant) sub(u instant) time.Duration {
	d := t - u
	switch { // did it wrap around?
	case u > 0 && d > t:
		return math.MinInt64
	case u < 0 && d < t:
		return math.MaxInt64
	}
	return time.Duration(d)
}

// clock returns now as an instant; the first call fixes base.
func (m *Machine) clock(now time.Time) instant {
	if !m.based {
		m.base, m.based = now, true
		return 0
	}
	return max(instant(now.Sub(m.base)), never+1)
}

// timeOf returns t as a time.Time.
func (m *Machine) timeOf(t instant) time.Time { return m.base.Add(time.Duration(t)) }

// noTimer is nextAt, and a driver's deadline, when no timer is on: later
// than every deadline but one saturated at the top (add), 292 years after
// the first step, which a driver too takes for none.
const noTimer instant = math.MaxInt64

// Machine is the election protocol of one member as a pure state machine.
//
// It owns no goroutines, timers, locks or I/O: each method takes the current
// time and returns the [Output] of that step, namely what to broadcast, any
// change of leadership and of the known leader, warnings, and when Tick
// must next be called. A driver feeds it events from the bus, calls Tick at
// (or after) Output.Next, and carries out the effects in order. Given the
// same inputs at the same times it returns the same outputs, which is what
// makes it testable in virtual time and simulable at scale.
//
// In ModeReference every decision is the one the reference TypeScript
// LeaderManager makes, and timers due at the same instant fire in the order
// JavaScript fires them (by deadline, then creation).
//
// # The lease
//
// With MachineConfig.Lease, a member wins elections and heartbeats exactly
// as without, but it leads (EffectLeading, IsLeader) only while it holds a
// lease, and the lease is made of broadcasts the bus acknowledged (Acked):
//
//   - The lease starts when the member's first current after winning is
//     acknowledged, and ends [Machine.LeaseDuration] (HeartbeatTimeout
//     minus a margin of ElectionTimeout/2) after the moment the last
//     acknowledged heartbeat was emitted. The others start an election no
//     earlier than HeartbeatTimeout after they heard that heartbeat, which
//     was after it was emitted, and the election lasts ElectionTimeout: so
//     on a bus that delivers what it acknowledged the lease has ended
//     ElectionTimeout·3/2 before anyone else can hold one.
//   - When the lease ends, or a step finds it over (a member that was
//     frozen), the member steps down without a word, before anything else
//     that step does: no stale heartbeat. It then stands again as after
//     Resign.
//   - An election counts only if one of the member's own broadcasts of that
//     election was acknowledged; one that did not is run again. So members
//     cut off from the bus, each hearing nobody, do not all take the lease
//     when it returns.
//   - A member does not win an election before it has listened to the
//     group for LeaseDuration: since Start, since it heard again after it
//     may have missed messages (Deaf), or since a Tick came late by more
//     than HeartbeatInterval/2 (it was frozen itself). A lease it has not
//     heard of, held by a member that was frozen, say, has ended by then.
//   - A member that hears a message with its own id stands for no election,
//     and stops leading, until it has heard none for HeartbeatTimeout:
//     another member uses its id, and two leaders of one id cannot tell
//     each other apart.
//   - A member the driver reports deaf (Deaf) stands for no election and
//     stops leading until it hears again.
//
// # Epochs
//
// A leasing member numbers each of its leaderships with an epoch, which its
// heartbeats carry: greater than every epoch it has heard or held, and not
// below its wall clock in Unix microseconds when it won (the wall clock of
// its first step, carried forward by the difference of the times given,
// which is monotonic when they carry a monotonic reading, as time.Now's
// do: a step of the wall clock after the start does not move it), so that
// epochs go on growing across a restart of the whole group; and of its own
// class, one of 4,096 from a hash of its id, so that two members that
// heard the same epochs do not both take the next one. When two
// leaders meet, the one that stays moves to an epoch greater than both: it
// hears the other's heartbeat, or the other, deferring, tells it its epoch
// in a request (Event.Epoch), which the stayer answers with a heartbeat.
// Epochs are at most [MaxEpoch]. A leasing member also announces its
// MachineConfig.Value while it leads, and reports the known leader's epoch
// and value with EffectLeader.
//
// # Preemption
//
// A leasing member with MachineConfig.Preempt that hears a bellwether
// leader (one whose heartbeats carry an epoch) with an id that sorts after
// its own asks it to hand over, with a request naming it (Event.Takeover),
// at most once per HeartbeatTimeout. That leader's Machine reports
// EffectHandover, and its driver resigns once the member's work has
// stopped. A member that resigned does not preempt until it next leads.
//
// A Machine is not safe for concurrent use.
type Machine struct {
	// First, in two cache lines, what a step that changes nothing reads
	// (ReceiveEffects's first test, then Next): in an election storm the
	// members are stepped one after another, each one a cache miss away.
	lease      bool
	started    bool
	closed     bool
	leading    bool // the reference's isLeader: this member won and heartbeats
	candidates candidateSet
	out        []Effect
	// nextTimer's cache: nextT (nil: no timer is on, and nextAt is
	// noTimer), due at nextAt, fires first, unless nextOf is not this
	// Machine: nil when a timer was armed or moved since, or a copy's,
	// which does not trust a pointer into the original. See nextTimer and
	// arm. An instant, which the driver keeps as its deadline: a time.Time
	// is made of it only for the Output of a public step.
	nextAt   instant
	nextT    *timer
	nextOf   *Machine
	election timer // the reference's electionTimeout, the storm's next timer

	id     string
	s      Settings
	rng    uint64
	leader string // known leader, "" for none

	best  string // smallest candidate, valid unless bestDirty
	worst string // after a trim, the largest candidate kept: larger ids are dropped

	heartbeat   timer // the reference's leaderHeartbeat interval
	beatTimeout timer // the reference's heartbeatTimeout
	quiet       quietState
	seq         uint32 // timers armed, since the last renumberTimers

	// Lease state, used only with MachineConfig.Lease.
	value       string  // announced while leading
	askedAt     instant // when a takeover was last asked
	handedOver  uint64  // the term for which EffectHandover was reported
	deferEpoch  uint64  // while deferring in ModeReference: the epoch its request carries
	residue     uint64  // 1 + the class of this member's epochs (see epochFrom); 0 until computed
	epoch       uint64  // this member's leadership's epoch, while leading
	maxEpoch    uint64  // the largest epoch heard or held
	leaderEpoch uint64  // the known leader's epoch, when another
	leaderValue string  // the known leader's value, when another
	shownEpoch  uint64  // epoch last reported
	shownValue  string  // value last reported
	leaseEnd    instant // when the lease (or, not yet held, the claim) ends
	leaseTimer  timer
	term        uint64  // leaderships won, to match acknowledgements
	gen         uint64  // elections begun, to match acknowledgements
	listenFrom  instant // since when this member has heard the group
	conflict    timer   // armed while another member uses this id
	heardAt     instant // when a message from another member was last received
	// Answers to requests, at most one per ElectionTimeout/4 each.
	lastCurrent, lastAccept instant
	answerTimer             timer
	doubt                   timer        // ends doubt: 2·HeartbeatTimeout after the last unverifiable message
	sent                    []sentRecord // with a lease: the broadcasts not yet acknowledged of the last sentRing, oldest first; nil from when it follows (setLeader) until it broadcasts
	bseq                    uint64       // broadcasts emitted
	shown                   string       // leader last reported
	base                    time.Time    // instant 0: the time of the first step (clock)

	// The flags, together so that they take a few words, not one each.
	based    bool // base is set
	observer bool
	mode     ElectionMode
	// abstain: after Resign or a lapsed lease, do not stand for election until a
	// leader is heard or the heartbeat timeout passes.
	abstain   bool
	bestDirty bool
	worstOK   bool
	// Lease flags.
	preempt                       bool // ask larger leaders to hand over
	noPreempt                     bool // resigned: do not preempt until leading again
	held                          bool // holds the lease
	electAcked                    bool // a broadcast of this election was acknowledged
	deaf                          bool
	doubtful                      bool // hears only messages it cannot verify
	skewed                        bool // doubtful from a clock that disagrees: only the timer ends it
	pendingCurrent, pendingAccept bool
	shownHeld                     bool // leading last reported
	// reportDue: what report shows may have changed since it last ran. Only
	// setLeader, raiseEpoch and ack change it in a timer or acknowledgement
	// step, which skip report without it; every other step reports.
	reportDue bool
}

// sentRing is how many recent broadcasts a leasing Machine may still take
// an acknowledgement of (Acked). Acknowledgements come in order and within
// SendTimeout, and a member broadcasts only a few times per
// HeartbeatInterval however much it hears (answers to requests are
// bounded), so only the last few can still be acknowledged.
const sentRing = 32

// sentRecord is what Acked needs to know of one broadcast. term and gen
// keep the low halves of the Machine's counters: a record is forgotten
// long before they wrap around.
type sentRecord struct {
	seq  uint64
	at   instant
	term uint32
	gen  uint32
	kind sentKind
}

// sentKind is what an acknowledgement of a broadcast can do.
type sentKind uint8

const (
	sentOther    sentKind = iota // a withdrawal: nothing
	sentElection                 // a request or an accept: make the election count
	sentCurrent                  // a heartbeat: start or renew the lease
)

func sentKindOf(a Action) sentKind {
	switch a {
	case ActionCurrent: // first: a leader's heartbeat
		return sentCurrent
	case ActionRequest, ActionAccept:
		return sentElection
	}
	return sentOther
}

// NewMachine returns a Machine for c. It does nothing until Start.
func NewMachine(c MachineConfig) (*Machine, error) {
	if err := ValidateID(c.ID); err != nil {
		return nil, err
	}
	if err := c.Settings.Validate(); err != nil {
		return nil, err
	}
	if err := c.Mode.validate(); err != nil {
		return nil, err
	}
	if err := validateValue(c.Value); err != nil {
		return nil, fmt.Errorf("bellwether: invalid Value: %w", err)
	}
	s := c.Settings.WithDefaults()
	if c.Lease && leaseDuration(s) <= s.HeartbeatInterval {
		return nil, &SettingsError{Field: "HeartbeatTimeout", Value: s.HeartbeatTimeout,
			Reason: fmt.Sprintf("minus half the ElectionTimeout (%v) is not greater than HeartbeatInterval (%v); a leader's lease would run out between heartbeats", s.ElectionTimeout, s.HeartbeatInterval)}
	}
	return &Machine{
		id:          c.ID,
		s:           s,
		observer:    c.Observer,
		mode:        c.Mode,
		rng:         c.Seed ^ 0x9E3779B97F4A7C15,
		lease:       c.Lease,
		value:       c.Value,
		preempt:     c.Preempt,
		candidates:  candidateSet{}, // empty; grows on the first candidate
		askedAt:     never,
		heardAt:     never,
		lastCurrent: never,
		lastAccept:  never,
	}, nil
}

func leaseDuration(s Settings) time.Duration { return s.HeartbeatTimeout - s.ElectionTimeout/2 }

// ID returns the member's client id.
func (m *Machine) ID() string { return m.id }

// Settings returns the machine's settings, defaults filled in.
func (m *Machine) Settings() Settings { return m.s }

// Mode returns the machine's election mode.
func (m *Machine) Mode() ElectionMode { return m.mode }

// Observer reports whether the machine is an observer.
func (m *Machine) Observer() bool { return m.observer }

// Leasing reports whether the machine leads on a lease (MachineConfig.Lease).
func (m *Machine) Leasing() bool { return m.lease }

// LeaseDuration is how long after the emission of its last acknowledged
// heartbeat a leasing leader's lease lasts: HeartbeatTimeout minus a margin
// of ElectionTimeout/2.
func (m *Machine) LeaseDuration() time.Duration { return leaseDuration(m.s) }

// IsLeader reports whether this member is the leader: with a lease, whether
// it holds the lease.
func (m *Machine) IsLeader() bool {
	if m.lease {
		return m.held
	}
	return m.leading
}

// Leader returns the known leader's id, and false when none is known. With
// a lease, it returns this member's own id only while it holds the lease.
func (m *Machine) Leader() (string, bool) {
	l := m.shownLeader()
	return l, l != ""
}

// Epoch returns the known leader's epoch (this member's own while it
// leads), and 0 when no leader is known or the leader sent none. Only a
// leasing Machine tracks epochs.
func (m *Machine) Epoch() uint64 {
	if !m.lease {
		return 0
	}
	_, ep, _ := m.showing()
	return ep
}

// Value returns the known leader's value ("" when none is known or it set
// none). Only a leasing Machine tracks values.
func (m *Machine) Value() string {
	if !m.lease {
		return ""
	}
	_, _, v := m.showing()
	return v
}

// LeaseEnd returns when the lease ends unless renewed, and false when the
// member holds none.
func (m *Machine) LeaseEnd() (time.Time, bool) {
	if !m.held {
		return time.Time{}, false
	}
	return m.timeOf(m.leaseEnd), true
}

// Conflict reports whether the member stands aside because another member
// uses its id (a leasing member that heard its own id within the last
// HeartbeatTimeout).
func (m *Machine) Conflict() bool { return m.conflict.on }

// Electing reports whether an election is in progress.
func (m *Machine) Electing() bool { return m.election.on || m.quiet.pending() }

// Closed reports whether Shutdown has been called.
func (m *Machine) Closed() bool { return m.closed }

// Next returns when Tick must next be called, or the zero Time.
func (m *Machine) Next() time.Time {
	m.deadline()
	return m.nextTime()
}

// deadline returns the instant Tick must next be called at, or noTimer.
func (m *Machine) deadline() instant {
	if !m.nextKnown() {
		m.findNext()
	}
	return m.nextAt
}

// nextTime is the known deadline (nextTimer has just run) as Next returns
// it.
func (m *Machine) nextTime() time.Time {
	if m.nextT == nil {
		return time.Time{}
	}
	return m.timeOf(m.nextAt)
}

// nextTimer returns the timer that fires first, the earliest that is on
// (of two due at the same instant, the one armed first, as JavaScript fires
// them), or nil when none is on.
//
// Every step asks, and most steps change no timer or arm one that is not
// the earliest, so it remembers its answer, which arm keeps up to date
// (or forgets) and a timer that moves itself forgets. The answer stands
// while that timer is still on: one disarmed makes it look again.
func (m *Machine) nextTimer() *timer {
	if m.nextKnown() {
		return m.nextT
	}
	return m.findNext()
}

// findNext is nextTimer's look at every timer.
func (m *Machine) findNext() *timer {
	// Every timer of timers(), one by one: a list made for the walk
	// costs a leader's heartbeat more than the walk itself.
	// TestNextTimerSeesEveryTimer fails if a timer of timers() is
	// missing here.
	next := earlier(nil, &m.election)
	next = earlier(next, &m.heartbeat)
	next = earlier(next, &m.beatTimeout)
	next = earlier(next, &m.quiet.timer)
	next = earlier(next, &m.leaseTimer)
	next = earlier(next, &m.conflict)
	next = earlier(next, &m.doubt)
	next = earlier(next, &m.answerTimer)
	m.nextT, m.nextOf = next, m
	m.nextAt = noTimer
	if next != nil {
		m.nextAt = next.at
	}
	return next
}

// earlier returns t if it is on and fires before next (or next is nil),
// else next.
func earlier(next, t *timer) *timer {
	if t.on && (next == nil || t.firesBefore(next)) {
		return t
	}
	return next
}

// nextKnown reports whether nextTimer's remembered answer stands. A copy
// of a Machine does not trust a pointer into the original (nextOf).
func (m *Machine) nextKnown() bool {
	return m.nextOf == m && (m.nextT == nil || m.nextT.on)
}

// nextDue returns the timer that fires first if it is due at now, or
// nil.
func (m *Machine) nextDue(now instant) *timer {
	if t := m.nextTimer(); t != nil && t.at <= now {
		return t
	}
	return nil
}

// firesBefore reports whether t fires before u: earlier, or at the same
// instant and armed first.
func (t *timer) firesBefore(u *timer) bool {
	return t.at < u.at || t.at == u.at && t.seq < u.seq
}

// timers returns every timer of the Machine.
func (m *Machine) timers() [8]*timer {
	return [...]*timer{&m.election, &m.heartbeat, &m.beatTimeout, &m.quiet.timer, &m.leaseTimer, &m.conflict, &m.doubt, &m.answerTimer}
}

// begin starts a step at now. A leasing member whose lease is over steps
// down first, so that nothing the step does speaks for a lapsed leader.
func (m *Machine) begin(now instant) {
	m.out = m.out[:0]
	if !m.leading && m.out != nil && m.leader != "" { // a leader's step tests one flag
		// A follower's steps have no effects but on a change of leader:
		// it holds no buffer for them (heap, per member at rest).
		m.out = nil
	}
	if m.lease && m.leading && !m.closed && now >= m.leaseEnd {
		m.loseLease(now)
	}
}

// output ends a step: the Output of what it did.
func (m *Machine) output() Output {
	m.settle()
	return m.result()
}

// result is the Output of the step that settle ended. A step returns it
// as `return m.result()`, which builds it in place: an Output is too big
// to live in registers, and one returned from a call and returned again
// is copied in wide moves that stall on the narrow stores just made.
func (m *Machine) result() Output {
	return Output{Effects: m.out, Next: m.nextTime()}
}

// settle reports, for a leasing member, the step's changes of leader and
// leadership, and makes nextAt the deadline of the earliest timer.
func (m *Machine) settle() {
	if m.lease {
		m.report()
	}
	m.nextTimer()
}

// settleOwn is settle for tick and acked, which know when there may be
// something to report (reportDue): a leader's heartbeat and its
// acknowledgement, nearly every step it makes, change nothing shown.
func (m *Machine) settleOwn() {
	if m.lease && m.reportDue {
		m.report()
	}
	m.nextTimer()
}

// effects ends a step of ReceiveEffects or Receive, as output does, and
// returns only its effects: the deadline is Next.
func (m *Machine) effects() []Effect {
	m.settle()
	return m.out
}

func (m *Machine) shownLeader() string {
	if m.lease && m.leader == m.id && !m.held {
		return ""
	}
	return m.leader
}

// showing returns, for a leasing member, the leader it shows (itself only
// while it holds the lease), with that leader's epoch and value: what
// Leader, Epoch and Value return and report reports.
func (m *Machine) showing() (leader string, epoch uint64, value string) {
	switch l := m.shownLeader(); l {
	case "":
		return "", 0, ""
	case m.id:
		return l, m.epoch, m.value
	default:
		return l, m.leaderEpoch, m.leaderValue
	}
}

// report emits, for a leasing member, the changes of the leader and of
// leadership that the step made, once each, leader first.
func (m *Machine) report() {
	m.reportDue = false
	l, ep, v := m.showing()
	if l != m.shown || ep != m.shownEpoch || v != m.shownValue {
		m.shown, m.shownEpoch, m.shownValue = l, ep, v
		m.out = append(m.out, Effect{Kind: EffectLeader, Leader: l, Epoch: ep, Value: v})
	}
	if m.held != m.shownHeld {
		m.shownHeld = m.held
		m.out = append(m.out, Effect{Kind: EffectLeading, Leading: m.held})
	}
}

// Start starts the member as the reference constructor does: it broadcasts
// a request and starts an election. An observer only starts listening.
// Calling Start again, or after Shutdown, does nothing.
func (m *Machine) Start(at time.Time) Output {
	now := m.clock(at)
	m.begin(now)
	if m.started || m.closed {
		return m.output()
	}
	m.started = true
	m.listenFrom = now
	if !m.observer {
		m.startElection(now)
	}
	return m.output()
}

// sidelined reports whether a leasing member must stand aside: it is deaf
// or shares its id.
func (m *Machine) sidelined() bool { return m.deaf || m.conflict.on || m.doubtful }

// Doubtful reports whether a leasing member stands aside because it hears
// only messages it cannot verify (see Unverified).
func (m *Machine) Doubtful() bool { return m.doubtful }

// Unverified tells a leasing Machine that a message arrived that it could
// not verify: a keyed member heard an unsigned message, one signed with a
// key it does not hold, or a forgery. A member that hears such messages
// and, for 2·HeartbeatTimeout, none that it could verify from another
// member (Receive) stands for no election until it hears one, or until
// 2·HeartbeatTimeout passes without an unverifiable message: its own key
// may be the wrong one, or the others may be unkeyed, and electing itself
// would start a second job. A leader goes on leading: its followers are
// silent, so a forger could otherwise depose it.
//
// With unheard, the message may come from a member this one cannot hear,
// and which may not hear it: an unkeyed member, one signing with a key not
// in this keyring (a key rotation done out of order), or one whose clock
// disagrees with this one's beyond the window. Either could win an
// election the other does not see, so the member stands aside at once,
// whatever else it hears, until 2·HeartbeatTimeout have passed without
// such a message. A forger can make it so too: a keyed group fails closed,
// its leader leading on but no new leadership starting while it hears
// such messages.
func (m *Machine) Unverified(at time.Time, unheard bool) Output {
	now := m.clock(at)
	m.begin(now)
	if !m.lease || !m.started || m.closed {
		return m.output()
	}
	window := 2 * m.s.HeartbeatTimeout
	m.arm(&m.doubt, now.add(window))
	if unheard {
		m.skewed = true
	}
	if !m.doubtful && !m.leading && (unheard || m.heardAt == never || now.sub(m.heardAt) >= window) {
		m.doubtful = true
		m.warn(WarnUnverified)
		m.election.on = false
		m.quiet.cancel()
	}
	return m.output()
}

// Receive applies an event heard from another member. Events before Start
// or after Shutdown, and invalid events, are ignored.
func (m *Machine) Receive(now time.Time, e Event) Output {
	return Output{Effects: m.receive(now, &e), Next: m.Next()}
}

// ReceiveEffects is Receive for a caller that delivers many events, such
// as a simulation or a benchmark: it applies *e exactly as Receive does and
// returns the effects, which are valid until the next method call, and
// whether the deadline may have moved; when it has not, Next is what it
// was. It does not keep e. In such a loop most deliveries change nothing,
// and there Receive's copying in of the event and out of the Output, and
// the reading of the deadline, are most of the cost.
func (m *Machine) ReceiveEffects(now time.Time, e *Event) (effects []Effect, moved bool) {
	if m.noopIfHeld(e) && m.candidates.surelyHas(e.ClientID) {
		// receive's first case, told without a call for most ids; and
		// without a write to the Machine, which the next step's begin
		// resets.
		return nil, false
	}
	return m.receive(now, e), true
}

// noopIfHeld reports whether e changes nothing when its sender is a
// candidate m holds already: an accept, once m has started, when m has no
// lease (a leasing member counts every message it hears).
func (m *Machine) noopIfHeld(e *Event) bool {
	return e.Action == ActionAccept && !m.lease && m.started
}

// receive is the body of Receive and ReceiveEffects.
func (m *Machine) receive(at time.Time, e *Event) []Effect {
	if m.noopIfHeld(e) && m.candidates.Has(e.ClientID) || e.Validate() != nil {
		// An accept from a candidate it holds already (an election's
		// commonest message in ModeReference), or not an event of the
		// protocol: nothing happens. The first test comes first because
		// its answer does not depend on the rest of the event: nothing
		// happens either way.
		m.out = m.out[:0]
		return m.out
	}
	now := m.clock(at)
	m.begin(now)
	if !m.started || m.closed {
		return m.effects()
	}
	other := e.ClientID
	resume := false
	if m.lease && other == m.id {
		m.onOwnID(now)
		return m.effects()
	}
	if m.lease {
		m.maxEpoch = max(m.maxEpoch, min(e.Epoch, MaxEpoch))
		m.heardAt = now
		if m.doubtful && !m.skewed {
			// It hears the group: it stands again, once this message
			// has had its effect (a leader's heartbeat makes it follow).
			m.doubtful, m.doubt.on = false, false
			resume = true
		}
	}
	switch e.Action {
	case ActionRequest:
		if m.observer || m.abstain || m.sidelined() {
			break
		}
		switch m.leader {
		case "":
			if m.mode == ModeQuiet {
				m.quietOnRequest(now, other)
				break
			}
			// An election is needed.
			m.elect(now)
			m.addCandidate(other)
			m.answer(now, ActionAccept)
		case m.id:
			if m.lease && e.Takeover == m.id && CompareIDs(other, m.id) < 0 {
				// A preempting member asks for the office: the driver
				// stops the work, then resigns. Only a lease holder has
				// work to stop; before the lease the member ignores the
				// request, which is asked again.
				if m.held && m.handedOver != m.term {
					m.handedOver = m.term
					m.out = append(m.out, Effect{Kind: EffectHandover, Leader: other})
				}
				break
			}
			if m.lease && e.Epoch > 0 {
				// A leader that deferred to this one held that epoch,
				// which a store may have seen: move above both.
				m.raiseEpoch(e.Epoch)
			}
			m.answer(now, ActionCurrent)
		}
	case ActionCurrent:
		if !m.leading {
			m.abstain = false
			m.setLeader(now, other)
			if m.lease {
				m.leaderEpoch, m.leaderValue = e.Epoch, e.Value
				m.maybePreempt(now, other, e.Epoch)
			}
			break
		}
		// Two leaders: delayed messages or a healed partition. The
		// smaller id stays.
		smaller := CompareIDs(other, m.id) < 0
		if smaller {
			m.warn(WarnDeferring)
		} else {
			m.warn(WarnStaying)
			if m.lease {
				// A store may have seen the other's epoch: the one that
				// stays moves above both.
				m.raiseEpoch(e.Epoch)
			}
		}
		// The one that defers tells the other its epoch with a request
		// (the other may not have heard it): the other, leading, moves
		// above both and answers with a heartbeat, which also brings this
		// leader's followers over at once.
		deferEpoch := uint64(0)
		if smaller && m.lease {
			deferEpoch = m.epoch
		}
		if m.mode == ModeQuiet {
			// Settle it without the reference's election, which could
			// hand the office to a candidate that now follows someone
			// else: the larger follows the smaller at once; the smaller
			// carries on, and its next heartbeat tells the other. (An
			// extra announcement here would cost a broadcast per pair
			// when many leaders meet.)
			if smaller {
				m.setLeader(now, other)
				if m.lease {
					m.leaderEpoch, m.leaderValue = e.Epoch, e.Value
				}
				if deferEpoch > 0 {
					m.emit(now, Event{Type: EventType, Action: ActionRequest, ClientID: m.id, Epoch: deferEpoch})
				}
			}
			break
		}
		if smaller {
			m.setLeader(now, "")
		}
		m.deferEpoch = deferEpoch
		m.elect(now)
		m.deferEpoch = 0
	case ActionAccept:
		m.addCandidate(other)
	case ActionWithdraw:
		if other == m.leader {
			m.setLeader(now, "")
			if !m.observer && !m.abstain && !m.sidelined() {
				m.startElection(now)
			}
		} else {
			m.removeCandidate(other)
		}
	}
	if resume {
		m.resume(now)
	}
	return m.effects()
}

// onOwnID: another member uses this id. Stand aside for HeartbeatTimeout
// after the last such message.
func (m *Machine) onOwnID(now instant) {
	if !m.conflict.on {
		m.warn(WarnDuplicateID)
	}
	m.arm(&m.conflict, now.add(m.s.HeartbeatTimeout))
	m.standAside(now)
}

// standAside makes a sidelined member stop leading and stop electing.
func (m *Machine) standAside(now instant) {
	if m.leading {
		m.setLeader(now, "")
	}
	m.election.on = false
	m.quiet.cancel()
}

// Acked tells a leasing Machine that the bus acknowledged the broadcast
// numbered seq (Effect.Seq): it was delivered as far as the bus can
// confirm. It may renew or start the lease and make an election count.
// Unknown, old or repeated numbers are ignored, and so is everything
// without a lease.
func (m *Machine) Acked(now time.Time, seq uint64) Output {
	m.acked(now, seq)
	return m.result()
}

// acked is Acked for a driver, which takes the step's Output from
// m.result (or reads m.out and m.nextAt) without a copy.
func (m *Machine) acked(at time.Time, seq uint64) {
	now := m.clock(at)
	m.begin(now)
	if m.lease && m.started && !m.closed && seq != 0 {
		m.ack(now, seq)
	}
	m.settleOwn()
}

// ack applies the acknowledgement of broadcast seq.
func (m *Machine) ack(now instant, seq uint64) {
	i := 0
	for i < len(m.sent) && m.sent[i].seq != seq {
		i++
	}
	if i == len(m.sent) {
		return // unknown, out of the window, already acknowledged, or sent before it followed
	}
	// An acknowledged broadcast is forgotten: what it did, a repeat would
	// do again to no effect. So a leader at rest, whose heartbeats are
	// acknowledged before the next, keeps a record of none.
	r := m.sent[i]
	switch n := len(m.sent) - 1; {
	case n == 0 && cap(m.sent) > 2:
		m.sent = nil // the burst of an election is over: its records go back
	case i == n:
		m.sent = m.sent[:n] // the newest: at rest, the only one
	default:
		copy(m.sent[i:], m.sent[i+1:])
		m.sent = m.sent[:n]
	}
	switch r.kind {
	case sentElection:
		if r.gen == uint32(m.gen) && (m.election.on || m.quiet.pending()) {
			m.electAcked = true
		}
	case sentCurrent:
		if !m.leading || r.term != uint32(m.term) {
			break
		}
		end := r.at.add(m.LeaseDuration())
		if end <= now {
			break // acknowledged too late to be worth anything
		}
		if !m.held {
			m.held, m.reportDue = true, true
		}
		if end > m.leaseEnd {
			m.leaseEnd = end
			m.arm(&m.leaseTimer, end)
		}
	}
}

// Deaf tells a leasing Machine whether the member can hear the group. A
// deaf member stands for no election and stops leading, since it cannot
// hear a rival or a request. Deaf(false) says it hears (again) after it may
// have missed messages, deaf or briefly cut off: it listens afresh (see the
// lease rules) and, knowing no leader, elects.
func (m *Machine) Deaf(at time.Time, deaf bool) Output {
	now := m.clock(at)
	m.begin(now)
	if !m.lease || !m.started || m.closed {
		return m.output()
	}
	if deaf {
		if !m.deaf {
			m.deaf = true
			m.standAside(now)
		}
		return m.output()
	}
	// Whatever it missed, deaf or not, it listens afresh.
	m.listenFrom = now
	if m.deaf {
		m.deaf = false
		m.resume(now)
	}
	return m.output()
}

// resume starts an election for a member that stood aside, if it knows no
// leader and may stand.
func (m *Machine) resume(now instant) {
	if m.leader == "" && !m.observer && !m.abstain && !m.sidelined() {
		m.startElection(now)
	}
}

// Tick fires every timer due at or before now, in the order JavaScript
// would fire them. New timers are set relative to now, so a late Tick does
// not replay missed heartbeats.
func (m *Machine) Tick(now time.Time) Output {
	m.tick(now)
	return m.result()
}

// tick is Tick for a driver, which takes the step's Output from m.result
// (or reads m.out and m.nextAt) without a copy.
func (m *Machine) tick(at time.Time) { m.tickAt(m.clock(at)) }

// tickAt is tick at the instant now, for a driver that has it already.
func (m *Machine) tickAt(now instant) {
	m.begin(now)
	if !m.closed {
		m.fire(now)
	}
	m.settleOwn()
}

// fire fires the timers due at or before now.
func (m *Machine) fire(now instant) {
	due := m.nextTimer()
	if due == nil {
		return
	}
	if m.lease {
		// A timer overdue by half a heartbeat interval means the member
		// did not run (frozen, or starved): it may not yet have read what
		// arrived meanwhile, so it listens afresh before it may win.
		late := now.sub(due.at)
		if late > m.s.HeartbeatInterval/2 {
			m.listenFrom = now
		}
		if late < 0 { // sub's sign is the comparison's: none is due
			return
		}
	} else if due.at > now {
		return
	}
	// due is due: fire it, and then each one due after it.
	for ; due != nil; due = m.nextDue(now) {
		switch due {
		case &m.election:
			m.election.on = false
			m.onElectionTimeout(now)
		case &m.heartbeat:
			// An interval keeps its place among timers, as in JavaScript.
			m.heartbeat.at = now.add(m.s.HeartbeatInterval)
			m.nextOf = nil // it was the first to fire, and moved
			m.broadcast(now, ActionCurrent)
		case &m.beatTimeout:
			m.beatTimeout.on = false
			m.onHeartbeatTimeout(now)
		case &m.quiet.timer:
			m.quiet.timer.on = false
			m.quietFire(now)
		case &m.leaseTimer:
			m.leaseTimer.on = false
			if m.leading && now >= m.leaseEnd {
				m.loseLease(now)
			}
		case &m.conflict:
			m.conflict.on = false
			m.resume(now)
		case &m.answerTimer:
			m.answerTimer.on = false
			m.answerLater(now)
		case &m.doubt:
			m.doubt.on, m.skewed = false, false
			if m.doubtful {
				m.doubtful = false
				m.resume(now)
			}
		}
	}
}

// onElectionTimeout ends an election: the smallest candidate wins. A
// leasing member does not win an election none of whose broadcasts the bus
// acknowledged (it runs it again), nor before it has listened for the
// lease's length (it waits on, still collecting candidates).
func (m *Machine) onElectionTimeout(now instant) {
	winner := m.minCandidate()
	if m.lease && winner == m.id {
		if !m.electAcked {
			m.startElection(now)
			return
		}
		if wait := m.listenFrom.add(m.LeaseDuration()); now < wait {
			m.arm(&m.election, wait)
			return
		}
	}
	m.setLeader(now, winner)
}

// loseLease steps a leasing leader down without a word: the lease is over,
// so the others may already have elected someone else. It stands again as
// after Resign.
func (m *Machine) loseLease(now instant) {
	if m.held {
		m.warn(WarnLeaseExpired)
	}
	m.abstain = true
	m.setLeader(now, "")
}

func (m *Machine) onHeartbeatTimeout(now instant) {
	if m.observer || m.sidelined() {
		// HeartbeatTimeout has passed: an abstention ends here even for a
		// member that cannot stand now, so that it stands once it can.
		m.abstain = false
		if m.leader != "" {
			m.warn(WarnLeaderTimeout)
			m.setLeader(now, "")
			m.beatTimeout.on = false
		}
		return
	}
	m.abstain = false
	m.warn(WarnLeaderTimeout)
	if m.mode == ModeQuiet {
		m.quietOnTimeout(now)
		return
	}
	m.elect(now)
}

// Shutdown stops the member. A clean shutdown broadcasts a withdrawal so
// that the others elect at once instead of waiting for the heartbeat
// timeout. Like the reference it does not report the loss of leadership.
// Every later call does nothing.
func (m *Machine) Shutdown(at time.Time, clean bool) Output {
	m.out = m.out[:0]
	if m.closed {
		return Output{Effects: m.out}
	}
	m.closed = true
	m.election.on = false
	m.quiet.cancel()
	if clean && !m.observer && m.started {
		m.broadcast(m.clock(at), ActionWithdraw) // a member that never started has nothing to withdraw from
	}
	for _, t := range m.timers() {
		t.on = false
	}
	return Output{Effects: m.out}
}

// Resign makes a leader step down and let the others elect: it broadcasts
// a withdrawal and then stands for no election until it hears a new leader
// or HeartbeatTimeout passes (after which, with nobody else around, it
// elects itself again). A member that is not leading is not affected.
func (m *Machine) Resign(at time.Time) Output {
	now := m.clock(at)
	m.begin(now)
	if m.closed || !m.leading {
		return m.output()
	}
	m.broadcast(now, ActionWithdraw)
	m.abstain = true
	m.noPreempt = true
	m.setLeader(now, "")
	return m.output()
}

// maybePreempt asks the leader other, a bellwether leader (its heartbeat
// carried an epoch), to hand over, if this member preempts and sorts
// before it; at most once per HeartbeatTimeout.
func (m *Machine) maybePreempt(now instant, other string, epoch uint64) {
	if !m.preempt || epoch == 0 || m.noPreempt || m.observer || m.sidelined() || CompareIDs(m.id, other) >= 0 {
		return
	}
	if m.askedAt != never && now < m.askedAt.add(m.s.HeartbeatTimeout) {
		return
	}
	m.askedAt = now
	m.emit(now, Event{Type: EventType, Action: ActionRequest, ClientID: m.id, Takeover: other})
}

// startElection starts an election the way the mode does it.
func (m *Machine) startElection(now instant) {
	if m.mode == ModeQuiet {
		m.quietElect(now)
		return
	}
	m.elect(now)
}

// elect is the reference's elect(): unless an election runs, start one with
// this member as the only candidate and broadcast a request.
func (m *Machine) elect(now instant) {
	if m.election.on {
		return
	}
	m.newElection()
	m.broadcast(now, ActionRequest)
	m.arm(&m.election, now.add(m.s.ElectionTimeout))
}

// newElection resets the candidates to this member alone.
func (m *Machine) newElection() {
	m.dropCandidates(false)
	m.addCandidate(m.id)
	m.gen++
	m.electAcked = false
}

// dropCandidates forgets the election's candidates and what was derived
// from them. With release it gives their table back (a follower at rest);
// without, Clear keeps a small one for the election about to begin.
func (m *Machine) dropCandidates(release bool) {
	if release {
		m.candidates = candidateSet{}
	} else {
		m.candidates.Clear()
	}
	m.best, m.bestDirty, m.worstOK = "", false, false
}

// setLeader is the reference's setLeader().
func (m *Machine) setLeader(now instant, id string) {
	m.reportDue = true
	m.election.on = false
	m.quiet.cancel()
	if id != "" && id != m.id {
		// A follower: no acknowledgement of what it sent can count any
		// more (its election is over, it does not lead), so it lets the
		// records go until it next broadcasts. Most members at rest are
		// followers.
		m.sent = nil
		if m.leader != id {
			// And, as it starts to follow, its election's candidates,
			// which the next election starts without (newElection).
			m.dropCandidates(true)
		}
	}
	if m.leader != id {
		m.leader = id
		m.leaderEpoch, m.leaderValue = 0, ""
		if !m.lease {
			m.out = append(m.out, Effect{Kind: EffectLeader, Leader: id})
		}
	}
	leading := id == m.id && !m.observer // an observer never leads, whatever it hears
	if m.leading != leading {
		m.leading = leading
		if !m.lease {
			m.out = append(m.out, Effect{Kind: EffectLeading, Leading: leading})
		}
		m.heartbeat.on = false
		m.held = false
		m.leaseTimer.on = false
		if leading {
			m.term++
			if m.lease {
				m.noPreempt = false
				m.epoch = m.epochFrom(max(m.maxEpoch+1, wallMicros(m.timeOf(now))))
				m.maxEpoch = max(m.maxEpoch, m.epoch)
				// Until a heartbeat is acknowledged this is only a claim,
				// given up when a lease would have run out.
				m.leaseEnd = now.add(m.LeaseDuration())
				m.arm(&m.leaseTimer, m.leaseEnd)
			}
			m.broadcast(now, ActionCurrent)
			m.arm(&m.heartbeat, now.add(m.s.HeartbeatInterval))
		}
	}
	m.beatTimeout.on = false
	if !leading && !(m.observer && id == "") {
		m.arm(&m.beatTimeout, now.add(m.s.HeartbeatTimeout))
	}
}

// renumberTimers numbers the timers that are on 1, 2, ... in the order
// they were armed, and the count of timers armed from there: only their
// order matters, which it keeps, so it keeps nextTimer's answer too.
func (m *Machine) renumberTimers() {
	ts := m.timers()
	on := ts[:0]
	for i := range ts {
		if ts[i].on {
			on = append(on, ts[i]) // in place: behind i
		}
	}
	slices.SortFunc(on, func(a, b *timer) int { return cmp.Compare(a.seq, b.seq) })
	for i, t := range on {
		t.seq = uint32(i + 1)
	}
	m.seq = uint32(len(on))
}

// arm sets t for at, and keeps nextTimer's answer when it can: a timer
// armed is the latest of its deadline, so it is the first to fire only if
// it is due strictly before the one that was; the first moved later or to
// the same instant makes nextTimer look again. So does a timer armed while
// the answer is not known, as it may be the one remembered, which was off.
func (m *Machine) arm(t *timer, at instant) {
	known := m.nextKnown()
	if m.seq == math.MaxUint32 {
		m.renumberTimers()
	}
	m.seq++
	// Field by field: a timer{...} literal goes through the stack and is
	// read back wider than it was written, which stalls the store.
	t.at, t.seq, t.on = at, m.seq, true
	switch {
	case !known:
		m.nextOf = nil
	case m.nextT == nil || at < m.nextT.at:
		m.nextT, m.nextAt = t, at
	case t == m.nextT:
		m.nextOf = nil
	}
}

func (m *Machine) broadcast(now instant, a Action) {
	if m.observer {
		return
	}
	ev := m.emitted(now, a)
	ev.Type, ev.Action, ev.ClientID = EventType, a, m.id
	switch {
	case m.lease && a == ActionCurrent:
		ev.Epoch, ev.Value = m.epoch, m.value
	case a == ActionRequest:
		ev.Epoch = m.deferEpoch
	}
}

// answer answers a request with a. A leasing member answers at most once
// per ElectionTimeout/4 with each action: a request that comes sooner is
// answered when that time is up, by one broadcast for all the requests
// meanwhile, so that no flood of requests, forged or not, makes it
// broadcast more (a reference member answers every request).
func (m *Machine) answer(now instant, a Action) {
	if !m.lease {
		m.broadcast(now, a)
		return
	}
	last, pending := &m.lastCurrent, &m.pendingCurrent
	if a == ActionAccept {
		last, pending = &m.lastAccept, &m.pendingAccept
	}
	gap := m.s.ElectionTimeout / 4
	if *last == never || now >= last.add(gap) {
		m.broadcast(now, a)
		return
	}
	if !*pending {
		*pending = true
		if at := last.add(gap); !m.answerTimer.on || at < m.answerTimer.at {
			m.arm(&m.answerTimer, at)
		}
	}
}

// answerLater sends the answers that answer put off, if they still
// hold.
func (m *Machine) answerLater(now instant) {
	if m.pendingCurrent && m.leading {
		m.broadcast(now, ActionCurrent)
	}
	if m.pendingAccept && m.leader == "" && m.election.on {
		m.broadcast(now, ActionAccept)
	}
	m.pendingCurrent, m.pendingAccept = false, false
}

// emit numbers a broadcast and, leasing, remembers it for Acked.
func (m *Machine) emit(now instant, ev Event) {
	*m.emitted(now, ev.Action) = ev
}

// emitted does emit's bookkeeping for a broadcast of action a and returns
// its Event, zero, for the caller to fill in: written in place, a
// broadcast is not copied on its way to the output.
func (m *Machine) emitted(now instant, a Action) *Event {
	switch a {
	case ActionCurrent:
		m.lastCurrent, m.pendingCurrent = now, false
	case ActionAccept:
		m.lastAccept, m.pendingAccept = now, false
	}
	m.bseq++
	if m.lease {
		// The broadcasts before the last sentRing are past acknowledging.
		if len(m.sent) > 0 && m.sent[0].seq+sentRing <= m.bseq {
			old := 1
			for old < len(m.sent) && m.sent[old].seq+sentRing <= m.bseq {
				old++
			}
			m.sent = m.sent[:copy(m.sent, m.sent[old:])]
		}
		m.sent = append(m.sent, sentRecord{seq: m.bseq, at: now, kind: sentKindOf(a), term: uint32(m.term), gen: uint32(m.gen)})
	}
	m.out = append(m.out, Effect{})
	ef := &m.out[len(m.out)-1]
	ef.Kind, ef.Seq = EffectBroadcast, m.bseq
	return &ef.Event
}

// raiseEpoch moves a leader's epoch above seen.
func (m *Machine) raiseEpoch(seen uint64) {
	m.reportDue = true
	m.epoch = m.epochFrom(max(m.epoch, seen) + 1)
	m.maxEpoch = max(m.maxEpoch, m.epoch)
}

// epochResidues is how many classes epochs fall in: a member takes only
// epochs of its own class, from a hash of its id, so that two members that
// heard the same epochs and whose clocks lag behind them (the two sides of
// a partition, say) do not both take the next one, which a fenced store
// would accept from both.
const epochResidues = 4096

// epochFrom returns the first epoch at or after e in this member's class,
// at most MaxEpoch.
func (m *Machine) epochFrom(e uint64) uint64 {
	if m.residue == 0 {
		h := uint64(14695981039346656037) // FNV-1a
		for i := 0; i < len(m.id); i++ {
			h = (h ^ uint64(m.id[i])) * 1099511628211
		}
		m.residue = h%epochResidues + 1
	}
	r := m.residue - 1
	e += (r + epochResidues - e%epochResidues) % epochResidues
	return min(e, MaxEpoch)
}

// wallMicros is now on the wall clock in Unix microseconds, 0 before 1970.
func wallMicros(now time.Time) uint64 {
	if us := now.UnixMicro(); us > 0 {
		return uint64(us)
	}
	return 0
}

func (m *Machine) warn(w Warning) {
	m.out = append(m.out, Effect{Kind: EffectWarning, Warning: w})
}

func (m *Machine) addCandidate(id string) {
	if m.worstOK && CompareIDs(id, m.worst) >= 0 {
		// The set was trimmed: an id at or above its largest cannot win.
		// Both this test and Add's only return when they fail, so their
		// order changes nothing, and this one is a flag's test in most
		// elections.
		return
	}
	if !m.candidates.Add(id) {
		return // held already
	}
	if !m.bestDirty && (m.best == "" || CompareIDs(id, m.best) < 0) {
		m.best = id
	}
	if m.candidates.Len() >= 2*MaxCandidates {
		m.trimCandidates()
	}
}

// trimCandidates keeps the MaxCandidates smallest candidates, the only ones
// that can win. Trimming a doubled set at once costs O(log n) per candidate
// however the flood is ordered.
func (m *Machine) trimCandidates() {
	ids := make([]string, 0, m.candidates.Len())
	m.candidates.All(func(id string) { ids = append(ids, id) })
	slices.SortFunc(ids, CompareIDs)
	m.candidates.Clear()
	for _, id := range ids[:MaxCandidates] {
		m.candidates.Add(id)
	}
	m.worst, m.worstOK = ids[MaxCandidates-1], true
}

func (m *Machine) removeCandidate(id string) {
	if m.candidates.Remove(id) && id == m.best {
		m.bestDirty = true
	}
}

// minCandidate is the reference's getSortedMin(potentialLeaders): the
// smallest id in JavaScript order, or "" when there is none.
func (m *Machine) minCandidate() string {
	if m.bestDirty {
		m.best, m.bestDirty = "", false
		m.candidates.All(func(id string) {
			if m.best == "" || CompareIDs(id, m.best) < 0 {
				m.best = id
			}
		})
	}
	return m.best
}
