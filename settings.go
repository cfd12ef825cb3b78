package bellwether

import (
	"fmt"
	"time"
)

// Settings are the protocol's timings. Every member of a group should use
// the same settings.
type Settings struct {
	// ElectionTimeout is how long an election collects candidates before the
	// smallest id among them wins. Zero means 1s.
	ElectionTimeout time.Duration
	// HeartbeatInterval is how often the leader announces itself. Zero
	// means 2s.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a member waits without hearing the
	// leader before it starts an election. It must be greater than
	// HeartbeatInterval. Zero means 8s.
	HeartbeatTimeout time.Duration
}

// DefaultSettings returns the reference implementation's timings: an
// election timeout of 1s, a heartbeat every 2s and a heartbeat timeout of 8s.
func DefaultSettings() Settings {
	return Settings{
		ElectionTimeout:   time.Second,
		HeartbeatInterval: 2 * time.Second,
		HeartbeatTimeout:  8 * time.Second,
	}
}

// WithDefaults returns s with each zero field replaced by its default.
func (s Settings) WithDefaults() Settings {
	d := DefaultSettings()
	if s.ElectionTimeout == 0 {
		s.ElectionTimeout = d.ElectionTimeout
	}
	if s.HeartbeatInterval == 0 {
		s.HeartbeatInterval = d.HeartbeatInterval
	}
	if s.HeartbeatTimeout == 0 {
		s.HeartbeatTimeout = d.HeartbeatTimeout
	}
	return s
}

// Validate reports the first problem with s, after zero fields take their
// defaults, naming the field and its value; or nil.
func (s Settings) Validate() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"ElectionTimeout", s.ElectionTimeout},
		{"HeartbeatInterval", s.HeartbeatInterval},
		{"HeartbeatTimeout", s.HeartbeatTimeout},
	} {
		if f.v < 0 {
			return &SettingsError{Field: f.name, Value: f.v, Reason: "is negative"}
		}
	}
	d := s.WithDefaults()
	if d.HeartbeatTimeout <= d.HeartbeatInterval {
		return &SettingsError{Field: "HeartbeatTimeout", Value: d.HeartbeatTimeout,
			Reason: fmt.Sprintf("is not greater than HeartbeatInterval (%v); followers would time out between heartbeats", d.HeartbeatInterval)}
	}
	return nil
}

// SettingsError reports an invalid field of [Settings].
type SettingsError struct {
	Field  string
	Value  time.Duration
	Reason string
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("bellwether: invalid settings: %s %v %s", e.Field, e.Value, e.Reason)
}
