package bellwether

import (
	"errors"
	"log/slog"
)

// ManagerOption configures a [Manager].
type ManagerOption func(*managerOptions)

type managerOptions struct {
	logger *slog.Logger
	mode   ElectionMode
	seed   uint64
}

// WithLogger sends the Manager's warnings (the reference's console.warn
// lines) to l as Warn records with an "id" attribute. The default is
// slog.Default(); a nil l discards them.
func WithLogger(l *slog.Logger) ManagerOption {
	return func(o *managerOptions) { o.logger = l }
}

// WithElectionMode selects the election mode; the Manager's default is
// ModeReference, the reference's exact behaviour.
func WithElectionMode(mode ElectionMode, seed uint64) ManagerOption {
	return func(o *managerOptions) { o.mode, o.seed = mode, seed }
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

// NewManager starts a member with id clientID and, as the reference
// constructor does, starts an election at once by broadcasting a request.
//
// onLeaderChange is called with true when this member becomes the leader
// and with false when it stops being the leader (but not on Shutdown); it
// may be nil. broadcast must deliver the event to every other member; it
// must not be nil. Zero fields of s take their defaults. It is an error for
// clientID to be empty or s to be invalid.
func NewManager(clientID string, onLeaderChange func(isLeader bool), broadcast func(Event), s Settings, opts ...ManagerOption) (*Manager, error) {
	o := managerOptions{logger: slog.Default(), mode: ModeReference}
	for _, opt := range opts {
		opt(&o)
	}
	if broadcast == nil {
		return nil, errors.New("bellwether: NewManager: broadcast function is nil")
	}
	m, err := NewMachine(MachineConfig{ID: clientID, Settings: s, Mode: o.mode, Seed: o.seed})
	if err != nil {
		return nil, err
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("id", clientID)
	mgr := &Manager{id: clientID}
	mgr.d = newDriver(m, func(e Effect) {
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
// It may be called from inside a callback.
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
