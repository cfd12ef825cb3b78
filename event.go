package bellwether

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
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

// Reasons an event is rejected, as reported by [EventError.Reason]. They are
// stable and short so that metrics can use them as label values.
const (
	ReasonSyntax   = "syntax"    // not a JSON object, or malformed JSON
	ReasonType     = "type"      // "type" missing or not "leader"
	ReasonAction   = "action"    // "action" missing or not one of the four
	ReasonClientID = "client_id" // "clientId" missing, empty or not a string
	ReasonTooLarge = "too_large" // larger than the receiver accepts
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
	b = append(b, `{"type":`...)
	b = appendJSString(b, e.Type)
	b = append(b, `,"action":`...)
	b = appendJSString(b, string(e.Action))
	b = append(b, `,"clientId":`...)
	b = appendJSString(b, e.ClientID)
	return append(b, '}')
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

const hexDigits = "0123456789abcdef"

// appendJSString appends s as a JSON string the way JSON.stringify does.
// s is WTF-8: a three-byte surrogate sequence stands for an unpaired UTF-16
// surrogate received from a JavaScript peer, and is escaped as \uXXXX.
func appendJSString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		if u, ok := surrogateAt(s, i); ok {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
			i += 3
			start = i
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// surrogateAt reports whether s[i:] starts with the WTF-8 encoding of a
// UTF-16 surrogate (U+D800 to U+DFFF), and which.
func surrogateAt(s string, i int) (uint16, bool) {
	if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
		return 0xD000 | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F), true
	}
	return 0, false
}

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
	if len(data) > MaxEventSize {
		return Event{}, &EventError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxEventSize)}
	}
	p := parser{data: data}
	var (
		typ, action, id        []byte
		hasType, hasAct, hasID bool
		typeBad, actBad, idBad string
	)
	p.ws()
	if !p.eat('{') {
		return Event{}, p.syntax("not a JSON object")
	}
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			key, err := p.str()
			if err != nil {
				return Event{}, err
			}
			p.ws()
			if !p.eat(':') {
				return Event{}, p.syntax("expected ':' after object key")
			}
			p.ws()
			// A repeated field's last value wins, as in JSON.parse.
			var field *[]byte
			var has *bool
			var bad *string
			switch string(key) {
			case "type":
				field, has, bad = &typ, &hasType, &typeBad
			case "action":
				field, has, bad = &action, &hasAct, &actBad
			case "clientId":
				field, has, bad = &id, &hasID, &idBad
			}
			if field != nil && p.peek() == '"' {
				v, err := p.str()
				if err != nil {
					return Event{}, err
				}
				*field, *has, *bad = v, true, ""
			} else {
				kind, err := p.skip(0)
				if err != nil {
					return Event{}, err
				}
				if field != nil {
					*field, *has, *bad = nil, false, kind
				}
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return Event{}, p.syntax("expected ',' or '}' in object")
		}
	}
	p.ws()
	if p.i != len(p.data) {
		return Event{}, p.syntax("unexpected data after the JSON object")
	}
	switch {
	case typeBad != "":
		return Event{}, &EventError{Reason: ReasonType, Detail: "type is " + typeBad + ", want the string \"leader\""}
	case !hasType:
		return Event{}, &EventError{Reason: ReasonType, Detail: "type is missing"}
	case string(typ) != EventType:
		return Event{}, &EventError{Reason: ReasonType, Detail: fmt.Sprintf("type is %q, want %q", typ, EventType)}
	case actBad != "":
		return Event{}, &EventError{Reason: ReasonAction, Detail: "action is " + actBad + ", want a string"}
	case !hasAct:
		return Event{}, &EventError{Reason: ReasonAction, Detail: "action is missing"}
	case idBad != "":
		return Event{}, &EventError{Reason: ReasonClientID, Detail: "clientId is " + idBad + ", want a string"}
	case !hasID:
		return Event{}, &EventError{Reason: ReasonClientID, Detail: "clientId is missing"}
	case len(id) == 0:
		return Event{}, &EventError{Reason: ReasonClientID, Detail: "clientId is empty"}
	case len(id) > MaxIDLength:
		// Longer ids are not ids anyone can use (ValidateID), and keeping
		// them would let a flood of candidates cost megabytes.
		return Event{}, &EventError{Reason: ReasonClientID, Detail: fmt.Sprintf("clientId is %d bytes long, more than the limit of %d", len(id), MaxIDLength)}
	}
	a := knownAction(action)
	if a == "" {
		return Event{}, &EventError{Reason: ReasonAction, Detail: fmt.Sprintf("unknown action %q", action)}
	}
	return Event{Type: EventType, Action: a, ClientID: string(id)}, nil
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

// parser is a small strict JSON reader, just enough for leader events.
type parser struct {
	data []byte
	i    int
}

func (p *parser) syntax(msg string) error {
	return &EventError{Reason: ReasonSyntax, Detail: fmt.Sprintf("%s at offset %d", msg, p.i)}
}

func (p *parser) peek() byte {
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// str reads a JSON string. The result aliases the input when the string has
// no escapes, and is a fresh slice otherwise.
func (p *parser) str() ([]byte, error) {
	if !p.eat('"') {
		return nil, p.syntax("expected a string")
	}
	start := p.i
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			s := p.data[start:p.i]
			p.i++
			return s, nil
		case c == '\\':
			return p.strEscaped(start)
		case c < 0x20:
			return nil, p.syntax("control character in string")
		case c < 0x80:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.syntax("invalid UTF-8 in string")
			}
			p.i += size
		}
	}
	return nil, p.syntax("unterminated string")
}

func (p *parser) strEscaped(start int) ([]byte, error) {
	out := append([]byte(nil), p.data[start:p.i]...)
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return out, nil
		case c == '\\':
			p.i++
			if p.i >= len(p.data) {
				return nil, p.syntax("unterminated escape")
			}
			e := p.data[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				u, ok := p.hex4()
				if !ok {
					return nil, p.syntax("invalid \\u escape")
				}
				if u >= 0xD800 && u <= 0xDBFF && p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						out = utf8.AppendRune(out, rune(0x10000+(u-0xD800)<<10+(lo-0xDC00)))
						continue
					}
					p.i = save
				}
				if u >= 0xD800 && u <= 0xDFFF {
					// Keep an unpaired surrogate as WTF-8, as JavaScript keeps it.
					out = append(out, 0xED, byte(0x80|u>>6&0x3F), byte(0x80|u&0x3F))
				} else {
					out = utf8.AppendRune(out, rune(u))
				}
			default:
				return nil, p.syntax("invalid escape")
			}
		case c < 0x20:
			return nil, p.syntax("control character in string")
		case c < 0x80:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.syntax("invalid UTF-8 in string")
			}
			out = append(out, p.data[p.i:p.i+size]...)
			p.i += size
		}
	}
	return nil, p.syntax("unterminated string")
}

func (p *parser) hex4() (uint32, bool) {
	if p.i+4 > len(p.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return uint32(v), true
}

// maxDepth bounds the nesting of skipped values, so hostile input cannot
// exhaust the stack.
const maxDepth = 64

// skip reads any JSON value and returns a word for its kind, for messages.
func (p *parser) skip(depth int) (string, error) {
	if depth > maxDepth {
		return "", p.syntax("nesting too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		_, err := p.str()
		return "a string", err
	case c == '{':
		p.i++
		p.ws()
		if p.eat('}') {
			return "an object", nil
		}
		for {
			p.ws()
			if _, err := p.str(); err != nil {
				return "", err
			}
			p.ws()
			if !p.eat(':') {
				return "", p.syntax("expected ':' after object key")
			}
			p.ws()
			if _, err := p.skip(depth + 1); err != nil {
				return "", err
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				return "an object", nil
			}
			return "", p.syntax("expected ',' or '}' in object")
		}
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return "an array", nil
		}
		for {
			p.ws()
			if _, err := p.skip(depth + 1); err != nil {
				return "", err
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(']') {
				return "an array", nil
			}
			return "", p.syntax("expected ',' or ']' in array")
		}
	case c == 't':
		return "true", p.literal("true")
	case c == 'f':
		return "false", p.literal("false")
	case c == 'n':
		return "null", p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number", p.number()
	default:
		return "", p.syntax("expected a JSON value")
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.i >= len(word) && string(p.data[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return nil
	}
	return p.syntax("invalid literal")
}

func (p *parser) number() error {
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.peek() >= '1' && p.peek() <= '9':
		p.digits()
	default:
		return p.syntax("invalid number")
	}
	if p.eat('.') {
		if !p.digits() {
			return p.syntax("invalid number")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return p.syntax("invalid number")
		}
	}
	return nil
}

func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
