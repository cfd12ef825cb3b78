package wire

import (
	"strings"
	"unicode/utf8"
)

// Compare orders WTF-8 strings by their UTF-16 code units, as
// JavaScript's < on strings does: -1 if a orders before b, +1 if after, 0
// if they are equal. Bytes that are not UTF-8 at all compare as U+FFFD,
// and two strings that differ only there are ordered by their bytes, so
// that the order is total.
func Compare(a, b string) int {
	// Skip the common prefix: equal bytes are equal code units.
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	switch {
	case i == len(a) && i == len(b):
		return 0
	case i == len(a):
		// A proper prefix orders first, unless the other's next byte
		// continues the prefix's last character (or turns bytes that read
		// as U+FFFD into one character).
		if utf8.RuneStart(b[i]) {
			return -1
		}
	case i == len(b):
		if utf8.RuneStart(a[i]) {
			return 1
		}
	case a[i] < 0x80 && b[i] < 0x80:
		return cmpInt(int(a[i]), int(b[i]))
	}
	// Back up to the start of the character the strings differ in, in
	// both: the common prefix before it then reads as the same code units
	// in each.
	for i > 0 && !(runeStartAt(a, i) && runeStartAt(b, i)) {
		i--
	}
	if c := compareUTF16(a[i:], b[i:]); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// runeStartAt reports whether no character of s spans s[i-1:i+1]: s ends
// at i or s[i] is not a UTF-8 continuation byte.
func runeStartAt(s string, i int) bool { return i >= len(s) || utf8.RuneStart(s[i]) }

func cmpInt(x, y int) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compareUTF16 compares two WTF-8 strings code unit by code unit.
func compareUTF16(a, b string) int {
	var ua, ub utf16Reader
	ua.s, ub.s = a, b
	for {
		x, okA := ua.next()
		y, okB := ub.next()
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		case x != y:
			return cmpInt(int(x), int(y))
		}
	}
}

// utf16Reader yields the UTF-16 code units of a WTF-8 string.
type utf16Reader struct {
	s       string
	pending uint16 // a low surrogate still to yield
}

func (r *utf16Reader) next() (uint16, bool) {
	if r.pending != 0 {
		u := r.pending
		r.pending = 0
		return u, true
	}
	if len(r.s) == 0 {
		return 0, false
	}
	if u, ok := surrogateAt(r.s, 0); ok {
		r.s = r.s[3:]
		return u, true
	}
	c, size := utf8.DecodeRuneInString(r.s)
	r.s = r.s[size:]
	if c >= 0x10000 {
		c -= 0x10000
		r.pending = uint16(0xDC00 + c&0x3FF)
		return uint16(0xD800 + c>>10), true
	}
	return uint16(c), true
}
