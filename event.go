package bellwether

import (
	"errors"
	"fmt"

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
// Its JSON form is exactly the reference implementation's, for example
// {"type":"leader","action":"request","clientId":"a"}; see [Event.AppendJSON]
// and [ParseEvent].
type Event struct {
	Type     string `json:"type"` // always "leader"
	Action   Action `json:"action"`
	ClientID string `json:"clientId"`
}

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
	return e.AppendJSON(make([]byte, 0, 48+len(e.ClientID))), nil
}

// AppendJSON appends the JSON encoding of e to b and returns the extended
// slice. The bytes are those JavaScript's JSON.stringify produces for the
// same object: the fields in the order type, action, clientId; no spaces;
// and the same string escaping (quote, backslash, control characters and
// unpaired surrogates escaped; everything else, including <, > and &, as
// is). AppendJSON does not validate e.
func (e Event) AppendJSON(b []byte) []byte {
	return wire.AppendEvent(b, e.Type, string(e.Action), e.ClientID)
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
// fields of the wrong JSON type, and input over
// [MaxEventSize]. An escaped unpaired surrogate in a string (which
// JavaScript can send) is kept as its WTF-8 bytes, so that ids round-trip
// and order exactly as in JavaScript.
//
// ParseEvent never panics. For an event whose strings have no escapes it
// allocates only the client id.
func ParseEvent(data []byte) (Event, error) {
	a, id, err := parseEvent(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Type: EventType, Action: a, ClientID: string(id)}, nil
}

// parseEvent is ParseEvent without the id's string: the id's bytes alias
// data when it has no escapes, so that a receiver that already holds the
// same id (its leader's) can reuse that string and allocate nothing.
func parseEvent(data []byte) (Action, []byte, error) {
	if len(data) > MaxEventSize {
		return "", nil, &EventError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxEventSize)}
	}
	var f wire.Fields
	if err := wire.Parse(data, &f); err != nil {
		return "", nil, &EventError{Reason: ReasonSyntax, Detail: err.Error()}
	}
	typ, action, id := f.Type, f.Action, f.ClientID
	switch {
	case typ.Kind != "":
		return "", nil, &EventError{Reason: ReasonType, Detail: "type is " + typ.Kind + ", want the string \"leader\""}
	case !typ.Present:
		return "", nil, &EventError{Reason: ReasonType, Detail: "type is missing"}
	case string(typ.Value) != EventType:
		return "", nil, &EventError{Reason: ReasonType, Detail: fmt.Sprintf("type is %q, want %q", typ.Value, EventType)}
	case action.Kind != "":
		return "", nil, &EventError{Reason: ReasonAction, Detail: "action is " + action.Kind + ", want a string"}
	case !action.Present:
		return "", nil, &EventError{Reason: ReasonAction, Detail: "action is missing"}
	case id.Kind != "":
		return "", nil, &EventError{Reason: ReasonClientID, Detail: "clientId is " + id.Kind + ", want a string"}
	case !id.Present:
		return "", nil, &EventError{Reason: ReasonClientID, Detail: "clientId is missing"}
	case len(id.Value) == 0:
		return "", nil, &EventError{Reason: ReasonClientID, Detail: "clientId is empty"}
	case len(id.Value) > MaxIDLength:
		// Longer ids are not ids anyone can use (ValidateID), and keeping
		// them would let a flood of candidates cost megabytes.
		return "", nil, &EventError{Reason: ReasonClientID, Detail: fmt.Sprintf("clientId is %d bytes long, more than the limit of %d", len(id.Value), MaxIDLength)}
	}
	a := knownAction(action.Value)
	if a == "" {
		return "", nil, &EventError{Reason: ReasonAction, Detail: fmt.Sprintf("unknown action %q", action.Value)}
	}
	return a, id.Value, nil
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
