package bellwether

import (
	"fmt"
	"time"
)

// ElectionMode selects how a [Machine] runs elections.
type ElectionMode uint8

const (
	// ModeQuiet, the default (the zero value of Config.Mode,
	// ManagerConfig.Mode and MachineConfig.Mode alike), runs the same
	// protocol with the same
	// messages, but a member speaks only when its voice can change the
	// outcome: a member that
	// starts an election waits a random delay of up to a quarter of the
	// election timeout before its request and stays silent if it has heard
	// a smaller candidate by then, and a member answers a request only while
	// it is the smallest candidate it knows of, after a similar delay. A
	// follower whose leader times out forgets that leader and elects the
	// same way. When two leaders meet, the larger follows the smaller at
	// once and the smaller carries on, with no election. An
	// election among N members then costs O(N) broadcasts at most,
	// typically far fewer. Quiet and reference members can share a
	// group: every message means what it means in the reference, and the
	// reference's rule that the smaller of two leaders stays makes them
	// converge on one leader.
	ModeQuiet ElectionMode = iota
	// ModeReference runs elections exactly as the reference TypeScript
	// LeaderManager does. Every member that knows no leader answers every
	// request, so an election among N members costs about N² broadcasts.
	ModeReference
)

func (m ElectionMode) String() string {
	switch m {
	case ModeReference:
		return "reference"
	case ModeQuiet:
		return "quiet"
	}
	return fmt.Sprintf("ElectionMode(%d)", uint8(m))
}

// ParseElectionMode parses "reference" or "quiet".
func ParseElectionMode(s string) (ElectionMode, error) {
	switch s {
	case "reference":
		return ModeReference, nil
	case "quiet":
		return ModeQuiet, nil
	}
	return 0, fmt.Errorf("bellwether: unknown election mode %q; use \"quiet\" or \"reference\"", s)
}

func (m ElectionMode) validate() error {
	if m > ModeReference {
		return fmt.Errorf("bellwether: invalid election mode %d; use ModeReference or ModeQuiet", uint8(m))
	}
	return nil
}

// quietState is ModeQuiet's one extra timer: the jittered announcement.
type quietState struct {
	timer        timer
	heardRequest bool // a request was heard during this election
}

func (q *quietState) pending() bool { return q.timer.on }
func (q *quietState) cancel()       { q.timer.on = false }

// jitter returns a pseudo-random delay in [0, ElectionTimeout/4).
func (m *Machine) jitter() time.Duration {
	// splitmix64
	m.rng += 0x9E3779B97F4A7C15
	z := m.rng
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	z ^= z >> 31
	span := uint64(m.s.ElectionTimeout / 4)
	if span == 0 {
		return 0
	}
	return time.Duration(z % span)
}

// quietBegin starts an election's timer and candidate set without saying
// anything, unless one runs already.
func (m *Machine) quietBegin(now instant) {
	if m.election.on {
		return
	}
	m.newElection()
	m.quiet.heardRequest = false
	m.quiet.cancel()
	m.arm(&m.election, now.add(m.s.ElectionTimeout))
}

// quietElect starts an election whose request goes out after a jitter,
// and only if no smaller candidate has spoken by then.
func (m *Machine) quietElect(now instant) {
	if m.election.on {
		return
	}
	m.quietBegin(now)
	m.arm(&m.quiet.timer, now.add(m.jitter()))
}

// quietOnRequest handles a request while no leader is known: join the
// election and, if this member is the smallest candidate known, answer
// after a jitter unless a smaller one answers first.
func (m *Machine) quietOnRequest(now instant, from string) {
	m.quietBegin(now)
	m.addCandidate(from)
	m.quiet.heardRequest = true
	if !m.quiet.timer.on && m.minCandidate() == m.id {
		m.arm(&m.quiet.timer, now.add(m.jitter()))
	}
}

// quietFire sends the delayed announcement if it can still matter.
func (m *Machine) quietFire(now instant) {
	if m.minCandidate() != m.id {
		return // a smaller candidate spoke; it will win, not us
	}
	if m.quiet.heardRequest {
		m.broadcast(now, ActionAccept)
	} else {
		m.broadcast(now, ActionRequest)
	}
}

// quietOnTimeout: the leader went silent. Forget it, so that this member
// answers the others' requests, and elect quietly.
func (m *Machine) quietOnTimeout(now instant) {
	m.setLeader(now, "")
	m.quietElect(now)
}
