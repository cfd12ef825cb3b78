package bellwether

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Transport is a broadcast bus: any number of groups, each a set of members
// that hear one another's messages. Implementations live under transport/,
// one package per bus, and pass the conformance suite in bellwethertest.
type Transport interface {
	// Join makes a new member of group and returns its connection. Every
	// message another member of the same group sends after Join returns
	// reaches it, as far as the bus delivers. Members of other groups are
	// never heard.
	Join(ctx context.Context, group string) (Conn, error)
	// Close closes every Conn of the transport and releases all it holds
	// (goroutines, sockets, files). Later calls return nil.
	Close() error
}

// Conn is one member's connection to a group.
type Conn interface {
	// Send broadcasts msg to every other member of the group, never to this
	// Conn itself. It returns an error wrapping ErrMessageTooLarge when
	// len(msg) exceeds MaxMessageSize, ErrClosed after Close, and the bus's
	// error when the message could not be handed to it. A member that has
	// crashed or stopped reading never makes Send block. Send does not
	// retain msg.
	Send(ctx context.Context, msg []byte) error
	// Recv returns the next message another member sent, waiting until one
	// arrives, ctx is done (ctx.Err()) or the Conn is closed (ErrClosed).
	// A member that falls far behind loses messages rather than slowing
	// the group. The caller owns the returned slice.
	Recv(ctx context.Context) ([]byte, error)
	// MaxMessageSize is the largest message, in bytes, Send accepts.
	MaxMessageSize() int
	// Close leaves the group and releases the Conn's resources. Later
	// calls return nil.
	Close() error
}

// HealthChecker is implemented by a Conn that can tell whether its
// connection to the bus works, even when it has nothing to send. An
// Elector uses it to tell a bus outage from a quiet group; see
// [Elector.Health].
type HealthChecker interface {
	// Health returns nil while the bus is reachable, else why not.
	Health() error
}

var (
	// ErrClosed is returned by a Conn or Transport used after Close.
	ErrClosed = errors.New("bellwether: closed")
	// ErrMessageTooLarge is wrapped by Send for a message over the limit.
	ErrMessageTooLarge = errors.New("bellwether: message too large")
)

// MaxGroupLength is the longest group name, in bytes.
const MaxGroupLength = 128

// ValidateGroup reports why name cannot be a group name, or nil. A group
// name is 1 to MaxGroupLength bytes of ASCII letters, digits, '-', '_' and
// '.', so that every bus can use it in its own names (subjects, channels,
// file names) without escaping.
func ValidateGroup(name string) error {
	if name == "" {
		return errors.New("bellwether: group name is empty")
	}
	if len(name) > MaxGroupLength {
		return fmt.Errorf("bellwether: group name is %d bytes long; the limit is %d", len(name), MaxGroupLength)
	}
	for i, r := range name {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.' {
			continue
		}
		// Show the character, not its first byte; a byte that is not
		// UTF-8 at all has no character to show.
		what := fmt.Sprintf("%q", r)
		if _, size := utf8.DecodeRuneInString(name[i:]); r == utf8.RuneError && size == 1 {
			what = fmt.Sprintf("the byte %#02x", name[i])
		}
		return fmt.Errorf("bellwether: group name %q has %s at byte %d; use ASCII letters, digits, '-', '_' and '.'", name, what, i)
	}
	return nil
}
