package local

import (
	"context"
	"fmt"
	"net/url"

	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
)

func init() {
	transport.Register("local", "local:// or local:///DIR", transport.Opener(FromURL))
}

// FromURL returns a Transport on the bus that u names: local:// for the
// default directory, or local:///ABSOLUTE/DIR for another one.
// The bus has no server to reach, so ctx is only checked; the options
// are accepted for transport.Open and unused.
func FromURL(ctx context.Context, u *url.URL, _ ...transport.Option) (*Transport, error) {
	if err := busurl.Check(ctx, u, "local", "local://", "want local:// or local:///DIR", "local"); err != nil {
		return nil, err
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("bellwether/local: URL %q has no '//'; write local:// for the default directory or local:///ABSOLUTE/DIR", redact.URL(u))
	}
	if u.User != nil || u.Host != "" {
		return nil, fmt.Errorf("bellwether/local: URL %q names a host; the bus is on this host only and the directory goes in the path: local:///ABSOLUTE/DIR (three slashes)", redact.URL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bellwether/local: URL %q has a query or fragment; local:// takes none", redact.URL(u))
	}
	dir := u.Path
	if dir == "/" {
		return nil, fmt.Errorf("bellwether/local: URL %q names the root directory; write local:// for the default directory or local:///ABSOLUTE/DIR", redact.URL(u))
	}
	return New(dir)
}
