package bellwether

import (
	"errors"
	"log/slog"
)

// ManagerConfig configures a [Manager]. Like [Config] for [Join] and
// [MachineConfig] for [NewMachine], it is a struct: the three
// constructors take their settings the same way, a zero field means its
// default, and a field added later breaks no caller.
type ManagerConfig struct {
	// ID is this member's client id; see ValidateID. Required.
	ID string
	// Settings are the protocol's timings; zero fields take their
	// defaults. Every member of a group should use the same.
	Settings Settings
	// Broadcast must deliver an event to every other member. It is called
	// on the Manager's goroutine, one event at a time. Required.
	Broadcast func(Event)
	// OnLeaderChange is called with true when this member becomes the
	// leader and with false when it stops being the leader (but not on
	// Shutdown). Optional.
	OnLeaderChange func(isLeader bool)
	// Mode selects how elections run. The zero value is ModeQuiet, as for
	// an Elector and a Machine, so that a zero Mode means one thing
	// everywhere; set ModeReference for the reference's exact behaviour
	// (every member answers every request), which is what a differential
	// test against the reference wants. The two interoperate in one group.
	Mode ElectionMode
	// Seed seeds ModeQuiet's jitter; members of a group should use
	// different seeds. Zero is a valid seed.
	Seed uint64
	// Logger receives the Manager's warnings (the reference's
	// console.warn lines) as Warn records with an "id" attribute. Nil
	// means slog.Default(); slog.New(slog.DiscardHandler) discards them.
	Logger *slog.Logger
}

// Manager is the reference LeaderManager in Go: it runs the election
// protocol for one member over a broadcast channel that the caller
// provides, with a broadcast function out and Receive in.
//
// Callbacks run on a goroutine of the Manager, one at a time, in the order
// the protocol produced them; Receive never waits for them. Most programs
// want the higher-level [Elector], which also owns the bus.
type Manager struct {
	id string
	d  *driver
}

// NewManager starts a member with id cfg.ID and, as the reference
// constructor does, starts an election at once (in ModeReference by
// broadcasting a request at once; in ModeQuiet after a short jitter). It
// is an error for cfg.ID to be invalid, cfg.Broadcast to be nil or
// cfg.Settings to be invalid.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Broadcast == nil {
		return nil, errors.New("bellwether: NewManager: broadcast function is nil")
	}
	m, err := NewMachine(MachineConfig{ID: cfg.ID, Settings: cfg.Settings, Mode: cfg.Mode, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("id", cfg.ID)
	broadcast, onLeaderChange := cfg.Broadcast, cfg.OnLeaderChange
	mgr := &Manager{id: cfg.ID}
	mgr.d = newDriver(m, func(e *Effect) {
		switch e.Kind {
		case EffectBroadcast:
			broadcast(e.Event)
		case EffectLeading:
			if onLeaderChange != nil {
				onLeaderChange(e.Leading)
			}
		case EffectWarning:
			logger.Warn(e.Warning.String())
		}
	}, nil)
	mgr.d.start()
	return mgr, nil
}

// ID returns the Manager's client id.
func (m *Manager) ID() string { return m.id }

// Receive hands the Manager an event from another member. It may be called
// from any goroutine, including from inside another Manager's broadcast
// function, and never blocks on callbacks or on the network. Events that
// are not valid leader events are ignored, and so is everything after
// Shutdown.
func (m *Manager) Receive(e Event) {
	if e.Validate() != nil {
		return
	}
	m.d.receive(e)
}

// Shutdown stops the Manager. With clean true it first broadcasts a
// withdrawal so the others elect without waiting for the heartbeat timeout.
// When Shutdown returns the withdrawal has been handed to broadcast, no
// callback will run again and the Manager's goroutine is gone. Like the
// reference it does not call onLeaderChange(false). Later calls do nothing.
//
// It may be called from inside a callback. Called from inside one of the
// Manager's callbacks, it does not wait for that callback, its caller: it
// returns at once, and the withdrawal is handed to broadcast, after
// everything queued before it, as soon as that callback returns. Called on
// any other goroutine while a callback runs, it waits for the callback.
func (m *Manager) Shutdown(clean bool) { m.d.shutdown(clean, true) }

// IsLeader reports whether this member is the leader now.
func (m *Manager) IsLeader() (leading bool) {
	m.d.read(func(mc *Machine) { leading = mc.IsLeader() })
	return leading
}

// Leader returns the id of the leader this member knows of, and false when
// it knows none (during an election, for instance).
func (m *Manager) Leader() (id string, ok bool) {
	m.d.read(func(mc *Machine) { id, ok = mc.Leader() })
	return id, ok
}
