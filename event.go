package bellwether

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether/internal/wire"
)

// Action is what a leader event asks or announces.
type Action string

// The four actions of the reference protocol.
const (
	// ActionRequest asks for an election; a member sends it when it starts
	// an election.
	ActionRequest Action = "request"
	// ActionCurrent announces that the sender is the leader. The leader
	// sends it when it takes office, as its heartbeat, and in answer to a
	// request.
	ActionCurrent Action = "current"
	// ActionAccept answers a request: the sender stands as a candidate.
	ActionAccept Action = "accept"
	// ActionWithdraw announces that the sender is leaving the group.
	ActionWithdraw Action = "withdraw"
)

// Valid reports whether a is one of the four actions of the protocol.
func (a Action) Valid() bool {
	switch a {
	case ActionRequest, ActionCurrent, ActionAccept, ActionWithdraw:
		return true
	}
	return false
}

// EventType is the value of the "type" field of every leader event.
const EventType = "leader"

// Event is one message of the protocol, as it travels on the wire.
//
// Its JSON form is the reference implementation's, for example
// {"type":"leader","action":"request","clientId":"a"}; see [Event.AppendJSON]
// and [ParseEvent]. An [Elector] adds fields the reference's clients
// ignore: its heartbeats carry the leadership's epoch and the leader's
// value, and a preempting member's request names the leader it asks to
// hand over. A zero field is not sent, so an Event with none of them is
// byte for byte the reference's.
type Event struct {
	Type     string `json:"type"` // always "leader"
	Action   Action `json:"action"`
	ClientID string `json:"clientId"`
	// Epoch, in a current, is the epoch of the sender's leadership (see
	// [Epoch]); in a request, that of the leadership the sender gave up
	// when it met a leader with a smaller id, so that this one moves above
	// it. 0 means none (reference clients send none). At most [MaxEpoch].
	Epoch uint64 `json:"epoch,omitempty"`
	// Value, in a current, is the leader's [Config].Value; at most
	// [MaxValueLength] bytes of UTF-8.
	Value string `json:"value,omitempty"`
	// Takeover, in a request, is the id of the leader that the sender, a
	// member with a smaller id and Config.Preempt, asks to hand over.
	Takeover string `json:"takeover,omitempty"`
}

// MaxEpoch is the largest epoch: 2^53-1, the largest integer a JavaScript
// number holds exactly, so that TypeScript peers read epochs unchanged.
const MaxEpoch = 1<<53 - 1

// MaxValueLength is the longest leader value ([Config].Value), in bytes.
const MaxValueLength = 256

// NewEvent returns the leader event of action a sent by clientID.
func NewEvent(a Action, clientID string) Event {
	return Event{Type: EventType, Action: a, ClientID: clientID}
}

// Validate reports why e is not an event of the protocol, or nil.
func (e Event) Validate() error {
	if e.Type != EventType {
		return &EventError{Reason: ReasonType, Detail: fmt.Sprintf("type is %q, want %q", e.Type, EventType)}
	}
	if !e.Action.Valid() {
		return &EventError{Reason: ReasonAction, Detail: fmt.Sprintf("unknown action %q", string(e.Action))}
	}
	if e.ClientID == "" {
		return &EventError{Reason: ReasonClientID, Detail: "clientId is empty"}
	}
	if len(e.ClientID) > MaxIDLength {
		return &EventError{Reason: ReasonClientID, Detail: fmt.Sprintf("clientId is %d bytes long, more than the limit of %d", len(e.ClientID), MaxIDLength)}
	}
	if e.Epoch > MaxEpoch {
		return &EventError{Reason: ReasonEpoch, Detail: fmt.Sprintf("epoch %d is more than the limit of %d", e.Epoch, uint64(MaxEpoch))}
	}
	if err := validateValue(e.Value); err != nil {
		return &EventError{Reason: ReasonValue, Detail: err.Error()}
	}
	if len(e.Takeover) > MaxIDLength {
		return &EventError{Reason: ReasonTakeover, Detail: fmt.Sprintf("takeover is %d bytes long, more than the limit of %d", len(e.Takeover), MaxIDLength)}
	}
	return nil
}

// validateValue reports why v cannot be a leader's value, or nil.
func validateValue(v string) error {
	switch {
	case len(v) > MaxValueLength:
		return fmt.Errorf("value is %d bytes long, more than the limit of %d", len(v), MaxValueLength)
	case !utf8.ValidString(v):
		return fmt.Errorf("value %q is not valid UTF-8", v)
	}
	return nil
}

// Reasons an event is rejected, as reported by [EventError.Reason] and
// counted in [Stats].Rejected. They are
// stable and short so that metrics can use them as label values.
const (
	ReasonSyntax   = "syntax"    // not a JSON object, or malformed JSON
	ReasonType     = "type"      // "type" missing or not "leader"
	ReasonAction   = "action"    // "action" missing or not one of the four
	ReasonClientID = "client_id" // "clientId" missing, empty or not a string
	ReasonTooLarge = "too_large" // larger than the receiver accepts
	ReasonEpoch    = "epoch"     // "epoch" not a whole number from 0 to MaxEpoch
	ReasonValue    = "value"     // "value" not a string, or longer than MaxValueLength
	ReasonTakeover = "takeover"  // "takeover" not a string, or longer than MaxIDLength
	// ReasonOwnID: a valid event that carries the receiver's own id, so
	// another member is misconfigured with the same id. Only an Elector
	// reports it (in Stats.Rejected); ParseEvent cannot know the id.
	ReasonOwnID = "own_id"
)

// EventError describes why bytes are not a valid leader event.
type EventError struct {
	Reason string // one of the Reason constants
	Detail string // human-readable explanation
}

func (e *EventError) Error() string { return "bellwether: invalid leader event: " + e.Detail }

// ErrInvalidEvent matches every *EventError with errors.Is.
var ErrInvalidEvent = errors.New("bellwether: invalid leader event")

// Is makes errors.Is(err, ErrInvalidEvent) true for every *EventError.
func (e *EventError) Is(target error) bool { return target == ErrInvalidEvent }

// MarshalJSON encodes e exactly as the reference implementation's
// JSON.stringify does. It fails only when e is not a valid event.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.AppendJSON(make([]byte, 0, 96+len(e.ClientID)+len(e.Value)+len(e.Takeover))), nil
}

// AppendJSON appends the JSON encoding of e to b and returns the extended
// slice. The bytes are those JavaScript's JSON.stringify produces for the
// same object: the fields in the order type, action, clientId, then epoch,
// value and takeover where they are not zero; no spaces;
// and the same string escaping (quote, backslash, control characters and
// unpaired surrogates escaped; everything else, including <, > and &, as
// is). AppendJSON does not validate e.
func (e Event) AppendJSON(b []byte) []byte {
	return wire.AppendEvent(b, e.Type, string(e.Action), e.ClientID, e.Epoch, e.Value, e.Takeover)
}

// UnmarshalJSON decodes a leader event; see [ParseEvent].
func (e *Event) UnmarshalJSON(data []byte) error {
	ev, err := ParseEvent(data)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// String returns the JSON form of e.
func (e Event) String() string { return string(e.AppendJSON(nil)) }

// MaxEventSize is the largest encoded event ParseEvent accepts, in bytes.
// Real events are tens of bytes; the bound keeps a hostile peer from making
// a receiver parse megabytes.
const MaxEventSize = 64 << 10

// ParseEvent decodes the JSON of a leader event.
//
// It accepts whatever the reference's clients send: any field order,
// insignificant white space, unknown fields (ignored) and, as JavaScript's
// JSON.parse does, a repeated field whose last value wins. It rejects with
// an [*EventError] anything else: bytes that are not one JSON object,
// invalid UTF-8, a "type" other than "leader", an unknown "action", a
// missing or empty "clientId", a "clientId" longer than [MaxIDLength],
// fields of the wrong JSON type, an "epoch" that is not a whole number
// from 0 to [MaxEpoch], a "value" longer than [MaxValueLength], and input
// over [MaxEventSize]. An escaped unpaired surrogate in a string (which
// JavaScript can send) is kept as its WTF-8 bytes, so that ids round-trip
// and order exactly as in JavaScript.
//
// ParseEvent never panics. For an event whose strings have no escapes it
// allocates only its strings.
func ParseEvent(data []byte) (Event, error) {
	var r rawEvent
	if err := parseEvent(data, &r); err != nil {
		return Event{}, err
	}
	return Event{Type: EventType, Action: r.action, ClientID: string(r.id), Epoch: r.epoch, Value: string(r.value), Takeover: string(r.takeover)}, nil
}

// rawEvent is a parsed event whose strings alias the input when they have
// no escapes, so that a receiver that already holds the same strings (its
// leader's id and value) can reuse them and allocate nothing.
type rawEvent struct {
	action   Action
	id       []byte
	epoch    uint64
	value    []byte
	takeover []byte

	// The signature's fields, for a keyed receiver (see Config.Keys);
	// others ignore them. signed: any of them is there; authBad: one is of
	// the wrong type or missing.
	signed, authBad     bool
	kid, boot, grp, mac []byte
	ctr, ts             uint64
}

func parseEvent(data []byte, r *rawEvent) error {
	if len(data) > MaxEventSize {
		return &EventError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxEventSize)}
	}
	var f wire.Fields
	if err := wire.Parse(data, &f); err != nil {
		return &EventError{Reason: ReasonSyntax, Detail: err.Error()}
	}
	typ, action, id := f.Type, f.Action, f.ClientID
	switch {
	case typ.Kind != "":
		return &EventError{Reason: ReasonType, Detail: "type is " + typ.Kind + ", want the string \"leader\""}
	case !typ.Present:
		return &EventError{Reason: ReasonType, Detail: "type is missing"}
	case string(typ.Value) != EventType:
		return &EventError{Reason: ReasonType, Detail: fmt.Sprintf("type is %q, want %q", typ.Value, EventType)}
	case action.Kind != "":
		return &EventError{Reason: ReasonAction, Detail: "action is " + action.Kind + ", want a string"}
	case !action.Present:
		return &EventError{Reason: ReasonAction, Detail: "action is missing"}
	case id.Kind != "":
		return &EventError{Reason: ReasonClientID, Detail: "clientId is " + id.Kind + ", want a string"}
	case !id.Present:
		return &EventError{Reason: ReasonClientID, Detail: "clientId is missing"}
	case len(id.Value) == 0:
		return &EventError{Reason: ReasonClientID, Detail: "clientId is empty"}
	case len(id.Value) > MaxIDLength:
		// Longer ids are not ids anyone can use (ValidateID), and keeping
		// them would let a flood of candidates cost megabytes.
		return &EventError{Reason: ReasonClientID, Detail: fmt.Sprintf("clientId is %d bytes long, more than the limit of %d", len(id.Value), MaxIDLength)}
	case f.Epoch.Kind != "":
		return &EventError{Reason: ReasonEpoch, Detail: "epoch is " + f.Epoch.Kind + ", want a number"}
	case f.Value.Kind != "":
		return &EventError{Reason: ReasonValue, Detail: "value is " + f.Value.Kind + ", want a string"}
	case len(f.Value.Value) > MaxValueLength:
		return &EventError{Reason: ReasonValue, Detail: fmt.Sprintf("value is %d bytes long, more than the limit of %d", len(f.Value.Value), MaxValueLength)}
	case !utf8.Valid(f.Value.Value):
		// An escaped lone surrogate: a value is text, and only JavaScript
		// can make one.
		return &EventError{Reason: ReasonValue, Detail: "value is not valid UTF-8 (it holds an unpaired surrogate)"}
	case f.Takeover.Kind != "":
		return &EventError{Reason: ReasonTakeover, Detail: "takeover is " + f.Takeover.Kind + ", want a string"}
	case len(f.Takeover.Value) > MaxIDLength:
		return &EventError{Reason: ReasonTakeover, Detail: fmt.Sprintf("takeover is %d bytes long, more than the limit of %d", len(f.Takeover.Value), MaxIDLength)}
	}
	a := knownAction(action.Value)
	if a == "" {
		return &EventError{Reason: ReasonAction, Detail: fmt.Sprintf("unknown action %q", action.Value)}
	}
	*r = rawEvent{action: a, id: id.Value, value: f.Value.Value, takeover: f.Takeover.Value}
	if f.Epoch.Present {
		ep, ok := parseEpoch(f.Epoch.Value)
		if !ok {
			return &EventError{Reason: ReasonEpoch, Detail: fmt.Sprintf("epoch %s is not a whole number from 0 to %d", f.Epoch.Value, uint64(MaxEpoch))}
		}
		r.epoch = ep
	}
	if !f.Signed {
		r.authBad = true // all of them are missing
		return nil
	}
	for _, fl := range [...]*wire.Field{&f.Kid, &f.Boot, &f.Group, &f.MAC, &f.Counter, &f.Time} {
		if fl.Present || fl.Kind != "" {
			r.signed = true
		}
		if !fl.Present {
			r.authBad = true
		}
	}
	if r.signed {
		r.kid, r.boot, r.grp, r.mac = f.Kid.Value, f.Boot.Value, f.Group.Value, f.MAC.Value
		var ok1, ok2 bool
		r.ctr, ok1 = parseEpoch(f.Counter.Value)
		r.ts, ok2 = parseEpoch(f.Time.Value)
		r.authBad = r.authBad || !ok1 || !ok2
	}
	return nil
}

// parseEpoch reads a JSON number that must be a whole number from 0 to
// MaxEpoch written in plain digits, as JavaScript writes such a number
// (epochs, and a signature's counter and time).
func parseEpoch(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= MaxEpoch
}

// knownAction returns the constant for b without allocating, or "".
func knownAction(b []byte) Action {
	switch string(b) {
	case string(ActionRequest):
		return ActionRequest
	case string(ActionCurrent):
		return ActionCurrent
	case string(ActionAccept):
		return ActionAccept
	case string(ActionWithdraw):
		return ActionWithdraw
	}
	return ""
}
