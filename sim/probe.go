// This file holds the probes: snapshots of the group at given times.

package sim

import "time"

// Probe is the state of the group at one of [Scenario.Probes] in one
// repetition, after every event at or before At.
type Probe struct {
	Repetition int           `json:"repetition"`
	At         time.Duration `json:"at"`
	// Members holds one entry per member slot, by index.
	Members []MemberState `json:"members"`
	// Changes counts the leadership effects (EffectLeading and
	// EffectLeader, whether or not they changed anything) that members
	// emitted since the previous probe of the repetition, or since its
	// start.
	Changes int64 `json:"changes"`
}

// MemberState is one member slot at a probe, as its Machine reports it.
type MemberState struct {
	ID    string `json:"id"`
	Alive bool   `json:"alive"`
	// Leading is Machine.IsLeader and Leader Machine.Leader ("" for none);
	// both are false and "" for a member that is not alive.
	Leading bool   `json:"leading"`
	Leader  string `json:"leader,omitempty"`
}

// probeBefore takes every probe due before t.
func (e *engine) probeBefore(t int64) {
	for len(e.probes) > 0 && int64(e.probes[0]) < t {
		p := Probe{Repetition: e.rep, At: e.probes[0], Members: make([]MemberState, len(e.mem))}
		e.probes = e.probes[1:]
		for i := range e.mem {
			m := &e.mem[i]
			st := MemberState{ID: m.id, Alive: m.alive}
			if m.alive {
				st.Leading = m.m.IsLeader()
				st.Leader, _ = m.m.Leader()
			}
			p.Members[i] = st
		}
		p.Changes = e.effects - e.probedEffects
		e.probedEffects = e.effects
		e.probed = append(e.probed, p)
	}
}
