package udp

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
)

func init() {
	transport.Register("udp", "udp://239.1.2.3:9999?iface=eth0", transport.Opener(FromURL))
}

// FromURL returns a Transport on the bus that u names:
// udp://GROUP:PORT?iface=NAME&ttl=N, as udp://239.1.2.3:9999?iface=eth0.
// iface and ttl are optional (see [Config]).
// The bus has no server to reach, so ctx is only checked; the options
// are accepted for transport.Open and unused.
func FromURL(ctx context.Context, u *url.URL, _ ...transport.Option) (*Transport, error) {
	const form = "udp://239.1.2.3:9999?iface=eth0&ttl=1"
	if err := busurl.Check(ctx, u, "udp", "udp://239.1.2.3:9999", "want "+form, "udp"); err != nil {
		return nil, err
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("bellwether/udp: URL %q names no multicast group; write %s", redact.URL(u), form)
	}
	if u.User != nil {
		return nil, fmt.Errorf("bellwether/udp: URL %q has a user; multicast has no login: write %s", redact.URL(u), form)
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return nil, fmt.Errorf("bellwether/udp: URL %q has a path or fragment; write %s", redact.URL(u), form)
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("bellwether/udp: URL %q has no port; write %s", redact.URL(u), form)
	}
	cfg := Config{Address: u.Host}
	for key, vals := range u.Query() {
		if len(vals) != 1 {
			return nil, fmt.Errorf("bellwether/udp: URL %q gives %s %d times; give it once", redact.URL(u), key, len(vals))
		}
		switch v := vals[0]; key {
		case "iface":
			cfg.Interface = v
		case "ttl":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				return nil, fmt.Errorf("bellwether/udp: URL %q: ttl=%q is not a number from 1 to 255", redact.URL(u), v)
			}
			cfg.TTL = n
		default:
			return nil, fmt.Errorf("bellwether/udp: URL %q has unknown parameter %q; the parameters are iface and ttl, as in %s", redact.URL(u), key, form)
		}
	}
	return New(cfg)
}
