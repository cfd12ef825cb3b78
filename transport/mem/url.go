package mem

import (
	"context"
	"fmt"
	"net/url"
	"sync"

	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
)

func init() {
	transport.Register("mem", "mem://NAME (one process only)", transport.Opener(FromURL))
}

var named = struct {
	sync.Mutex
	hubs map[string]*Hub
}{hubs: map[string]*Hub{}}

// Named returns the process-wide hub called name, made with default
// options on first use. The name "" is the default hub.
func Named(name string) *Hub {
	named.Lock()
	defer named.Unlock()
	h, ok := named.hubs[name]
	if !ok {
		h = NewHub()
		named.hubs[name] = h
	}
	return h
}

// FromURL returns a new Transport on the named hub that u gives:
// mem://NAME, or mem:// for the default hub. NAME is letters, digits, '-',
// '_' and '.'. Faults are set on the hub, with Named(NAME).SetFaults.
// The bus has no server to reach, so ctx is only checked; the options
// are accepted for transport.Open and unused.
func FromURL(ctx context.Context, u *url.URL, _ ...transport.Option) (*Transport, error) {
	if err := busurl.Check(ctx, u, "mem", "mem://NAME", "want mem://NAME", "mem"); err != nil {
		return nil, err
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("bellwether/mem: URL %q has no '//'; write mem://%s", redact.URL(u), u.Opaque)
	}
	if u.User != nil {
		return nil, fmt.Errorf("bellwether/mem: URL %q has a user; an in-process hub has none: write mem://NAME", redact.URL(u))
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("bellwether/mem: URL %q has path %q; the hub's name goes after '//' alone: mem://NAME", redact.URL(u), u.Path)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bellwether/mem: URL %q has a query or fragment; mem:// takes none (set faults with mem.Named(name).SetFaults)", redact.URL(u))
	}
	name := u.Host
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, fmt.Errorf("bellwether/mem: hub name %q has %q; use letters, digits, '-', '_' and '.'", name, c)
		}
	}
	return Named(name).NewTransport(), nil
}
