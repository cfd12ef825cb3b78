package bellwether

import (
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
}

// EffectKind says what an [Effect] asks of the driver.
type EffectKind uint8

const (
	// EffectBroadcast: send Effect.Event to every other member.
	EffectBroadcast EffectKind = iota + 1
	// EffectLeading: this member started (Leading true) or stopped leading.
	EffectLeading
	// EffectLeader: the known leader is now Effect.Leader ("" for none).
	EffectLeader
	// EffectWarning: something a driver should log, Effect.Warning.
	EffectWarning
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
	}
	return "unknown"
}

// Effect is one thing a [Machine] step asks its driver to do or to report.
// Only the field named by Kind is set.
type Effect struct {
	Kind    EffectKind
	Event   Event   // EffectBroadcast
	Leading bool    // EffectLeading
	Leader  string  // EffectLeader
	Warning Warning // EffectWarning
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
)

func (w Warning) String() string {
	switch w {
	case WarnLeaderTimeout:
		return "leader timeout"
	case WarnDeferring:
		return "multiple leaders detected, deferring"
	case WarnStaying:
		return "multiple leaders detected, staying"
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
// instant exactly as JavaScript timers do.
type timer struct {
	at  time.Time
	seq uint64
	on  bool
}

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
// A Machine is not safe for concurrent use.
type Machine struct {
	id       string
	s        Settings
	observer bool
	mode     ElectionMode
	rng      uint64

	started bool
	closed  bool
	leading bool
	leader  string // known leader, "" for none

	// abstain: after Resign or StepDown, do not stand for election until a
	// leader is heard or the heartbeat timeout passes.
	abstain bool

	candidates map[string]struct{}
	best       string // smallest candidate, valid unless bestDirty
	bestDirty  bool

	election    timer // the reference's electionTimeout
	heartbeat   timer // the reference's leaderHeartbeat interval
	beatTimeout timer // the reference's heartbeatTimeout
	quiet       quietState
	seq         uint64

	out []Effect
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
	return &Machine{
		id:         c.ID,
		s:          c.Settings.WithDefaults(),
		observer:   c.Observer,
		mode:       c.Mode,
		rng:        c.Seed ^ 0x9E3779B97F4A7C15,
		candidates: make(map[string]struct{}),
	}, nil
}

// ID returns the member's client id.
func (m *Machine) ID() string { return m.id }

// Settings returns the machine's settings, defaults filled in.
func (m *Machine) Settings() Settings { return m.s }

// Mode returns the machine's election mode.
func (m *Machine) Mode() ElectionMode { return m.mode }

// Observer reports whether the machine is an observer.
func (m *Machine) Observer() bool { return m.observer }

// IsLeader reports whether this member is the leader.
func (m *Machine) IsLeader() bool { return m.leading }

// Leader returns the known leader's id, and false when none is known.
func (m *Machine) Leader() (string, bool) { return m.leader, m.leader != "" }

// Electing reports whether an election is in progress.
func (m *Machine) Electing() bool { return m.election.on || m.quiet.pending() }

// Closed reports whether Shutdown has been called.
func (m *Machine) Closed() bool { return m.closed }

// Next returns when Tick must next be called, or the zero Time.
func (m *Machine) Next() time.Time {
	var next time.Time
	for _, t := range m.timers() {
		if t.on && (next.IsZero() || t.at.Before(next)) {
			next = t.at
		}
	}
	return next
}

func (m *Machine) timers() [4]*timer {
	return [4]*timer{&m.election, &m.heartbeat, &m.beatTimeout, &m.quiet.timer}
}

func (m *Machine) begin() { m.out = m.out[:0] }

func (m *Machine) output() Output { return Output{Effects: m.out, Next: m.Next()} }

// Start starts the member as the reference constructor does: it broadcasts
// a request and starts an election. An observer only starts listening.
// Calling Start again, or after Shutdown, does nothing.
func (m *Machine) Start(now time.Time) Output {
	m.begin()
	if m.started || m.closed {
		return m.output()
	}
	m.started = true
	if !m.observer {
		m.startElection(now)
	}
	return m.output()
}

// Receive applies an event heard from another member. Events before Start
// or after Shutdown, and invalid events, are ignored.
func (m *Machine) Receive(now time.Time, e Event) Output {
	m.begin()
	if !m.started || m.closed || e.ClientID == "" {
		return m.output()
	}
	other := e.ClientID
	switch e.Action {
	case ActionRequest:
		if m.observer || m.abstain {
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
			m.broadcast(ActionAccept)
		case m.id:
			m.broadcast(ActionCurrent)
		}
	case ActionCurrent:
		if !m.leading {
			m.abstain = false
			m.setLeader(now, other)
			break
		}
		// Two leaders: delayed messages or a healed partition. The
		// smaller id stays.
		smaller := CompareIDs(other, m.id) < 0
		if smaller {
			m.warn(WarnDeferring)
		} else {
			m.warn(WarnStaying)
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
			}
			break
		}
		if smaller {
			m.setLeader(now, "")
		}
		m.elect(now)
	case ActionAccept:
		m.addCandidate(other)
	case ActionWithdraw:
		if other == m.leader {
			m.setLeader(now, "")
			if !m.observer && !m.abstain {
				m.startElection(now)
			}
		} else {
			m.removeCandidate(other)
		}
	}
	return m.output()
}

// Tick fires every timer due at or before now, in the order JavaScript
// would fire them. New timers are set relative to now, so a late Tick does
// not replay missed heartbeats.
func (m *Machine) Tick(now time.Time) Output {
	m.begin()
	if m.closed {
		return m.output()
	}
	for {
		var due *timer
		for _, t := range m.timers() {
			if t.on && !t.at.After(now) && (due == nil || t.at.Before(due.at) || t.at.Equal(due.at) && t.seq < due.seq) {
				due = t
			}
		}
		if due == nil {
			break
		}
		switch due {
		case &m.election:
			m.election.on = false
			m.setLeader(now, m.minCandidate())
		case &m.heartbeat:
			// An interval keeps its place among timers, as in JavaScript.
			m.heartbeat.at = now.Add(m.s.HeartbeatInterval)
			m.broadcast(ActionCurrent)
		case &m.beatTimeout:
			m.beatTimeout.on = false
			m.onHeartbeatTimeout(now)
		case &m.quiet.timer:
			m.quiet.timer.on = false
			m.quietFire(now)
		}
	}
	return m.output()
}

func (m *Machine) onHeartbeatTimeout(now time.Time) {
	if m.observer {
		if m.leader != "" {
			m.warn(WarnLeaderTimeout)
			m.setLeader(now, "")
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
func (m *Machine) Shutdown(now time.Time, clean bool) Output {
	m.begin()
	if m.closed {
		return m.output()
	}
	m.closed = true
	m.election.on = false
	m.quiet.cancel()
	if clean && !m.observer {
		m.broadcast(ActionWithdraw)
	}
	m.beatTimeout.on = false
	m.heartbeat.on = false
	return m.output()
}

// Resign makes a leader step down and let the others elect: it broadcasts
// a withdrawal and then stands for no election until it hears a new leader
// or HeartbeatTimeout passes (after which, with nobody else around, it
// elects itself again). A member that is not leading is not affected.
func (m *Machine) Resign(now time.Time) Output {
	m.begin()
	if m.closed || !m.leading {
		return m.output()
	}
	m.broadcast(ActionWithdraw)
	m.abstain = true
	m.setLeader(now, "")
	return m.output()
}

// StepDown makes a leader stop leading without telling anyone, for a
// driver whose broadcasts have been failing: the others have elected
// someone else by now. Like Resign, it then stands for no election until it
// hears a leader or HeartbeatTimeout passes.
func (m *Machine) StepDown(now time.Time) Output {
	m.begin()
	if m.closed || !m.leading {
		return m.output()
	}
	m.abstain = true
	m.setLeader(now, "")
	return m.output()
}

// startElection starts an election the way the mode does it.
func (m *Machine) startElection(now time.Time) {
	if m.mode == ModeQuiet {
		m.quietElect(now)
		return
	}
	m.elect(now)
}

// elect is the reference's elect(): unless an election runs, start one with
// this member as the only candidate and broadcast a request.
func (m *Machine) elect(now time.Time) {
	if m.election.on {
		return
	}
	clear(m.candidates)
	m.best, m.bestDirty = "", false
	m.addCandidate(m.id)
	m.broadcast(ActionRequest)
	m.arm(&m.election, now.Add(m.s.ElectionTimeout))
}

// setLeader is the reference's setLeader().
func (m *Machine) setLeader(now time.Time, id string) {
	m.election.on = false
	m.quiet.cancel()
	if m.leader != id {
		m.leader = id
		m.out = append(m.out, Effect{Kind: EffectLeader, Leader: id})
	}
	leading := id == m.id
	if m.leading != leading {
		m.leading = leading
		m.out = append(m.out, Effect{Kind: EffectLeading, Leading: leading})
		m.heartbeat.on = false
		if leading {
			m.broadcast(ActionCurrent)
			m.arm(&m.heartbeat, now.Add(m.s.HeartbeatInterval))
		}
	}
	m.beatTimeout.on = false
	if !leading && !(m.observer && id == "") {
		m.arm(&m.beatTimeout, now.Add(m.s.HeartbeatTimeout))
	}
}

func (m *Machine) arm(t *timer, at time.Time) {
	m.seq++
	*t = timer{at: at, seq: m.seq, on: true}
}

func (m *Machine) broadcast(a Action) {
	if m.observer {
		return
	}
	m.out = append(m.out, Effect{Kind: EffectBroadcast, Event: Event{Type: EventType, Action: a, ClientID: m.id}})
}

func (m *Machine) warn(w Warning) {
	m.out = append(m.out, Effect{Kind: EffectWarning, Warning: w})
}

func (m *Machine) addCandidate(id string) {
	if _, ok := m.candidates[id]; ok {
		return
	}
	m.candidates[id] = struct{}{}
	if !m.bestDirty && (m.best == "" || CompareIDs(id, m.best) < 0) {
		m.best = id
	}
}

func (m *Machine) removeCandidate(id string) {
	if _, ok := m.candidates[id]; !ok {
		return
	}
	delete(m.candidates, id)
	if id == m.best {
		m.bestDirty = true
	}
}

// minCandidate is the reference's getSortedMin(potentialLeaders): the
// smallest id in JavaScript order, or "" when there is none.
func (m *Machine) minCandidate() string {
	if m.bestDirty {
		m.best, m.bestDirty = "", false
		for id := range m.candidates {
			if m.best == "" || CompareIDs(id, m.best) < 0 {
				m.best = id
			}
		}
	}
	return m.best
}
