// Package wire is the codec of leader events: a small strict JSON reader
// and a writer that produces exactly what JavaScript's JSON.stringify
// does, and the UTF-16 order of ids that JavaScript's < uses. The root
// package wraps it as Event, ParseEvent and CompareIDs; it lives apart so
// that the domain types read without 400 lines of byte handling beside
// them.
//
// Strings are WTF-8 throughout: a three-byte surrogate sequence stands for
// an unpaired UTF-16 surrogate received from a JavaScript peer.
package wire

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendEvent appends the JSON encoding of a leader event to b: the fields
// in the order type, action, clientId, then bellwether's epoch, value and
// takeover, each only when it is not zero; no spaces, each string as
// [AppendString] writes it. With the three extra fields zero the bytes are
// the reference implementation's.
func AppendEvent(b []byte, typ, action, clientID string, epoch uint64, value, takeover string) []byte {
	if h := head(typ, action); h != "" {
		b = append(b, h...)
	} else {
		b = append(b, `{"type":`...)
		b = AppendString(b, typ)
		b = append(b, `,"action":`...)
		b = AppendString(b, action)
		b = append(b, `,"clientId":`...)
	}
	b = AppendString(b, clientID)
	if epoch != 0 {
		b = append(b, `,"epoch":`...)
		b = appendUint(b, epoch)
	}
	if value != "" {
		b = append(b, `,"value":`...)
		b = AppendString(b, value)
	}
	if takeover != "" {
		b = append(b, `,"takeover":`...)
		b = AppendString(b, takeover)
	}
	return append(b, '}')
}

// head returns the encoding of an event up to its clientId's value, for
// the type and actions of the protocol, whose strings need no escaping:
// every event but a malformed one starts with one of these. It returns ""
// for any other type or action.
func head(typ, action string) string {
	if typ != "leader" {
		return ""
	}
	switch action {
	case "request":
		return `{"type":"leader","action":"request","clientId":`
	case "current":
		return `{"type":"leader","action":"current","clientId":`
	case "accept":
		return `{"type":"leader","action":"accept","clientId":`
	case "withdraw":
		return `{"type":"leader","action":"withdraw","clientId":`
	}
	return ""
}

const hexDigits = "0123456789abcdef"

// appendUint appends u in decimal, as strconv.AppendUint(b, u, 10) does.
// An epoch, Unix microseconds, has 16 digits: below 10^16 each half of
// eight digits is worked out in the lanes of one word, where strconv
// divides out digit pair after digit pair.
func appendUint(b []byte, u uint64) []byte {
	if u >= 1e16 {
		return strconv.AppendUint(b, u, 10)
	}
	hi, lo := digits8(uint32(u/1e8)), digits8(uint32(u%1e8))
	// Leading zeros, the first digits in memory order, to leave out.
	skip := 15
	switch {
	case hi != 0:
		skip = bits.TrailingZeros64(hi) / 8
	case lo != 0:
		skip = 8 + bits.TrailingZeros64(lo)/8
	}
	n := len(b)
	b = slices.Grow(b, 16)[:n+16]
	const ascii = 0x3030303030303030 // '0' in every byte
	binary.LittleEndian.PutUint64(b[n:], hi+ascii)
	binary.LittleEndian.PutUint64(b[n+8:], lo+ascii)
	if skip > 0 {
		b = b[:n+copy(b[n:], b[n+skip:])]
	}
	return b
}

// digits8 returns the eight decimal digits of v, below 10^8, one in each
// byte of the word, the first in the lowest: 4 digits in each half, then 2
// in each quarter, then 1 in each byte, the quotients by multiplications
// that are exact in these ranges (n*10486>>20 is n/100 below 43,699;
// n*103>>10 is n/10 below 179).
func digits8(v uint32) uint64 {
	x := uint64(v/1e4) | uint64(v%1e4)<<32
	q := x * 10486 >> 20 & 0x0000007F0000007F
	x = q | (x-q*100)<<16
	q = x * 103 >> 10 & 0x000F000F000F000F
	return q | (x-q*10)<<8
}

// plain says which bytes AppendString copies as they are, whatever
// follows: printable ASCII but the quote and the backslash, and every byte
// of a multi-byte sequence but 0xED, which may start a surrogate. (Bytes
// of invalid UTF-8 are copied too, as before.)
var plain = func() (p [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		p[c] = c != '"' && c != '\\' && c != 0xED
	}
	return p
}()

// AppendString appends s as a JSON string the way JSON.stringify does.
// s is WTF-8: a three-byte surrogate sequence stands for an unpaired UTF-16
// surrogate received from a JavaScript peer, and is escaped as \uXXXX.
func AppendString(b []byte, s string) []byte {
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	b = append(b, '"')
	if i == len(s) { // nothing to escape, as in every id in practice
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < 0x80 {
			b = appendEscape(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		if u, ok := surrogateAt(s, i); ok {
			b = appendSurrogate(append(b, s[start:i]...), u)
			i += 3
			start = i
			continue
		}
		i++ // 0xED that starts no surrogate: a code point from U+D000 to U+D7FF, or invalid
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscape appends the escape that JSON.stringify writes for the
// ASCII byte c: a quote, a backslash or a control character.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendSurrogate appends the \uXXXX escape of the lone surrogate u.
func appendSurrogate(b []byte, u uint16) []byte {
	return append(b, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
}

// surrogateAt reports whether s[i:] starts with the WTF-8 encoding of a
// UTF-16 surrogate (U+D800 to U+DFFF), and which.
func surrogateAt(s string, i int) (uint16, bool) {
	if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
		return 0xD000 | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F), true
	}
	return 0, false
}

// Field is one string field of a parsed object.
type Field struct {
	// Value is the string, decoded. It aliases the input when the string
	// has no escapes.
	Value []byte
	// Present reports that the field's last occurrence was a string.
	Present bool
	// Kind names the JSON type of the field's last occurrence when that
	// was not a string ("a number", "null", ...), for messages; else "".
	Kind string
}

// Fields are the fields of a leader event that [Parse] extracts.
type Fields struct {
	Type, Action, ClientID Field
	// Value and Takeover are bellwether's extra string fields; Kid, Boot,
	// Group and MAC those of a signed message.
	Value, Takeover, Kid, Boot, Group, MAC Field
	// Epoch, Counter and Time are bellwether's number fields. Their Present
	// means that the last occurrence was a number, whose text Value holds
	// as is; Kind names any other type, "a string" included.
	Epoch, Counter, Time Field
	// Signed reports that Kid, Boot, Group, MAC, Counter or Time occurred,
	// of whatever type.
	Signed bool
}

// SyntaxError reports input that is not one well-formed JSON object.
type SyntaxError struct {
	Msg    string // what is wrong
	Offset int    // where, in bytes from the start of the input
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset) }

// MaxDepth bounds the nesting of skipped values, so hostile input cannot
// exhaust the stack.
const MaxDepth = 64

// Parse reads one JSON object from data into f: the string values of its
// "type", "action" and "clientId" fields. It accepts any field order,
// insignificant white space and unknown fields (skipped), and, as
// JavaScript's JSON.parse does, lets a repeated field's last value win.
// Anything that is not exactly one JSON object of valid UTF-8 is a
// *SyntaxError. An escaped unpaired surrogate is kept as its WTF-8 bytes.
// Parse never panics and, for strings without escapes, never allocates.
func Parse(data []byte, f *Fields) error { return parse(data, f, true) }

// canonicalHead is how an event of the protocol begins as the reference
// (JSON.stringify of its object literal) and AppendEvent write it.
const canonicalHead = `{"type":"leader","action":"`

// parse is Parse; with fast, an input that begins as the protocol's events
// do is read without the general loop's look-ups for its first fields,
// then as Parse reads the rest: the same result, error or offset either
// way (TestParseFastPathIsParse).
func parse(data []byte, f *Fields, fast bool) error {
	*f = Fields{}
	p := parser{data: data}
	if fast && p.head(f) {
		return p.members(f, true)
	}
	p.i = 0
	p.ws()
	if !p.eat('{') {
		return p.syntax("not a JSON object")
	}
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	return p.members(f, false)
}

// head reads the written-out beginning of an event, its type, then its
// action and clientId when they follow in that order, and reports whether
// it did: it leaves p after the last field's value, as the general loop
// would be. On false (another beginning, or a string the general loop
// must report on) it has not written f, and p is to be reset.
func (p *parser) head(f *Fields) bool {
	if len(p.data) < len(canonicalHead) || string(p.data[:len(canonicalHead)]) != canonicalHead {
		return false
	}
	p.i = len(canonicalHead)
	action, err := p.strBody()
	if err != nil {
		return false
	}
	var id []byte
	const idKey = `,"clientId":"`
	if rest := p.data[p.i:]; len(rest) >= len(idKey) && string(rest[:len(idKey)]) == idKey {
		p.i += len(idKey)
		if id, err = p.strBody(); err != nil {
			return false
		}
		f.ClientID = Field{Value: id, Present: true}
	} // else the general loop reads on from the action
	const typeAt = len(`{"type":"`)
	f.Type = Field{Value: p.data[typeAt : typeAt+len("leader")], Present: true}
	f.Action = Field{Value: action, Present: true}
	return true
}

// members reads the object's members up to its closing brace and what
// follows it; after says p is past the value of a member already.
func (p *parser) members(f *Fields, after bool) error {
	for {
		if !after {
			if err := p.member(f); err != nil {
				return err
			}
		}
		after = false
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return p.syntax("expected ',' or '}' in object")
	}
}

// end checks that nothing but white space follows the object.
func (p *parser) end() error {
	p.ws()
	if p.i != len(p.data) {
		return p.syntax("unexpected data after the JSON object")
	}
	return nil
}

// member reads one "key": value of the object into f.
func (p *parser) member(f *Fields) error {
	p.ws()
	key, err := p.str()
	if err != nil {
		return err
	}
	p.ws()
	if !p.eat(':') {
		return p.syntax("expected ':' after object key")
	}
	p.ws()
	var field *Field
	switch string(key) {
	case "type":
		field = &f.Type
	case "action":
		field = &f.Action
	case "clientId":
		field = &f.ClientID
	case "value":
		field = &f.Value
	case "takeover":
		field = &f.Takeover
	case "kid":
		field, f.Signed = &f.Kid, true
	case "boot":
		field, f.Signed = &f.Boot, true
	case "grp":
		field, f.Signed = &f.Group, true
	case "mac":
		field, f.Signed = &f.MAC, true
	case "epoch":
		field = &f.Epoch
	case "ctr":
		field, f.Signed = &f.Counter, true
	case "ts":
		field, f.Signed = &f.Time, true
	}
	if field == &f.Epoch || field == &f.Counter || field == &f.Time {
		c := p.peek()
		if c == '-' || c >= '0' && c <= '9' {
			start := p.i
			if err := p.number(); err != nil {
				return err
			}
			*field = Field{Value: p.data[start:p.i], Present: true}
		} else {
			kind, err := p.skip(0)
			if err != nil {
				return err
			}
			*field = Field{Kind: kind}
		}
	} else if field != nil && p.peek() == '"' {
		v, err := p.str()
		if err != nil {
			return err
		}
		*field = Field{Value: v, Present: true}
	} else {
		kind, err := p.skip(0)
		if err != nil {
			return err
		}
		if field != nil {
			*field = Field{Kind: kind}
		}
	}
	return nil
}

// parser is a small strict JSON reader, just enough for leader events.
type parser struct {
	data []byte
	i    int
}

func (p *parser) syntax(msg string) error {
	return &SyntaxError{Msg: msg, Offset: p.i}
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
	return p.strBody()
}

// strBody is str after the opening quote.
func (p *parser) strBody() ([]byte, error) {
	// The loop works on locals, which stay in registers, and hands the
	// position back to p wherever it leaves.
	data, start := p.data, p.i
	i := start
	// Eight bytes at a time while they are plain: printable ASCII, neither
	// a quote nor a backslash. The first byte that is not is where the
	// loop below takes over.
	for i+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[i:])
		if m := special(w); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		i += 8
	}
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			p.i = i + 1
			return data[start:i], nil
		case c == '\\':
			p.i = i
			return p.strEscaped(start)
		case c < 0x20:
			p.i = i
			return nil, p.syntax("control character in string")
		case c < 0x80:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				p.i = i
				return nil, p.syntax("invalid UTF-8 in string")
			}
			i += size
		}
	}
	p.i = len(data)
	return nil, p.syntax("unterminated string")
}

// special marks, in w, eight bytes of a string, each byte that is a
// quote, a backslash, a control character or not ASCII with its top bit:
// the lowest mark is the first such byte, so its trailing zeros, over 8,
// are that byte's index. (A borrow can mark a byte wrongly, but only
// above a byte that is marked rightly.)
func special(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ ones*'"'
	slash := w ^ ones*'\\'
	return ((quote-ones)&^quote | (slash-ones)&^slash | (w-ones*0x20)&^w | w) & highs
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

// skip reads any JSON value and returns a word for its kind, for messages.
func (p *parser) skip(depth int) (string, error) {
	if depth > MaxDepth {
		return "", p.syntax("nesting too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		_, err := p.str()
		return "a string", err
	case c == '{':
		return "an object", p.container(depth, '}', "object")
	case c == '[':
		return "an array", p.container(depth, ']', "array")
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

// container skips the rest of an object or array whose opening bracket
// is at p.i, up to and including close: its members ("key": value in an
// object) separated by commas.
func (p *parser) container(depth int, close byte, what string) error {
	p.i++
	p.ws()
	if p.eat(close) {
		return nil
	}
	for {
		p.ws()
		if close == '}' {
			if _, err := p.str(); err != nil {
				return err
			}
			p.ws()
			if !p.eat(':') {
				return p.syntax("expected ':' after object key")
			}
			p.ws()
		}
		if _, err := p.skip(depth + 1); err != nil {
			return err
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(close) {
			return nil
		}
		return p.syntax(fmt.Sprintf("expected ',' or '%c' in %s", close, what))
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
