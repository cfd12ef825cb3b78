package bellwether

import (
	"fmt"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether/internal/wire"
)

// CompareIDs orders client ids exactly as the reference implementation does
// with JavaScript's < on strings: by UTF-16 code units. It returns -1 if a
// orders before b, +1 if after, and 0 if they are equal.
//
// UTF-16 order differs from Go's byte order only where a character above
// U+FFFF meets one in U+E000 to U+FFFF (JavaScript puts "\U0001F600" before
// "\uFFFF"), but every election decision depends on it, so a mixed Go and
// TypeScript group must use this order to agree. Unpaired surrogates,
// which only JavaScript peers can send, are compared as the code units they
// are (see [ParseEvent]). Bytes that are not UTF-8 at all compare as U+FFFD,
// and two ids that differ only there are ordered by their bytes.
func CompareIDs(a, b string) int { return wire.Compare(a, b) }

// MaxIDLength is the longest client id, in bytes, that bellwether accepts
// as its own. It keeps every event far below every transport's size limit.
const MaxIDLength = 1024

// ValidateID reports why id cannot be a member's own client id, or nil: it
// must be non-empty, valid UTF-8 and at most MaxIDLength bytes.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("bellwether: client id is empty; give each member a unique id, such as a host name plus a process id")
	case len(id) > MaxIDLength:
		return fmt.Errorf("bellwether: client id is %d bytes long; the limit is %d", len(id), MaxIDLength)
	case !utf8.ValidString(id):
		return fmt.Errorf("bellwether: client id %q is not valid UTF-8", id)
	}
	return nil
}
