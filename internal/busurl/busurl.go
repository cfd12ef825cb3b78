// Package busurl checks the URLs that the bus packages' FromURL take, so
// that every bus words the same mistake the same way: a nil URL, a context
// already done, a wrong scheme, no host, a server that does not answer.
// Every error starts with the bus's prefix, "bellwether/BUS: ", and shows
// the URL without its secrets.
package busurl

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"

	"github.com/bellwether-go/bellwether/internal/redact"
)

// Check returns the error that a FromURL of a bus with no server to
// reach (so that ctx is only checked) returns for a nil u, for ctx
// already done or for a u whose scheme is none of schemes (see
// [Scheme] for example and instead), with the bus's prefix
// ("bellwether/BUS: "), or nil.
func Check(ctx context.Context, u *url.URL, bus, example, instead string, schemes ...string) error {
	if u == nil {
		return fmt.Errorf("bellwether/%s: FromURL needs a URL like %s; got nil", bus, example)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bellwether/%s: opening %s: %w", bus, redact.URL(u), err)
	}
	return Scheme(u, bus, example, instead, schemes...)
}

// Scheme returns the error a bus's FromURL returns for a nil u (the
// error names example, a URL of the bus) or for a u whose scheme is none
// of schemes (the error ends with instead, which says what to write), with
// the bus's prefix ("bellwether/BUS: "), or nil.
func Scheme(u *url.URL, bus, example, instead string, schemes ...string) error {
	if u == nil {
		return fmt.Errorf("bellwether/%s: FromURL needs a URL like %s; got nil", bus, example)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("bellwether/%s: URL %q has scheme %q; %s", bus, redact.URL(u), u.Scheme, instead)
	}
	return nil
}

// Host returns the error a server bus's FromURL returns for a u that
// names no host, ending with instead, or nil.
func Host(u *url.URL, bus, instead string) error {
	if u.Hostname() == "" {
		return fmt.Errorf("bellwether/%s: URL %q has no host; %s", bus, redact.URL(u), instead)
	}
	return nil
}

// Unreachable returns the error a server bus's FromURL returns when
// nothing answers at where (host:port): it names the server program and
// how to start it, start being a command with %s for the host and then
// the port, as "nats-server -a %s -p %s".
func Unreachable(bus, where string, err error, server, start string) error {
	host, port, _ := net.SplitHostPort(where)
	return fmt.Errorf("bellwether/%s: cannot reach %s at %s: %w; is %s running? start it with `%s`, or fix the URL", bus, bus, where, err, server, fmt.Sprintf(start, host, port))
}
