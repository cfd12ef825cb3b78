// Package transport opens a bellwether bus from a URL, for programs and
// commands that let their users choose the bus:
//
//	t, err := transport.Open(ctx, os.Getenv("BUS"))
//
// Each bus lives in a package of its own below this one; Open picks the
// package from the URL's scheme and passes the URL to its FromURL.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/local"
	"github.com/bellwether-go/bellwether/transport/mem"
	"github.com/bellwether-go/bellwether/transport/nats"
	"github.com/bellwether-go/bellwether/transport/postgres"
	"github.com/bellwether-go/bellwether/transport/redis"
	"github.com/bellwether-go/bellwether/transport/udp"
)

// opener opens the bus of one scheme.
type opener func(ctx context.Context, u *url.URL) (bellwether.Transport, error)

// schemes maps each URL scheme Open knows to its bus, with an example
// for error messages.
var schemes = map[string]struct {
	open    opener
	example string
}{
	"local": {func(_ context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(local.FromURL(u))
	}, "local:// or local:///DIR"},
	"mem": {func(_ context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(mem.FromURL(u))
	}, "mem://NAME (one process only)"},
	"nats": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(nats.FromURL(ctx, u))
	}, "nats://host:4222"},
	"tls": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(nats.FromURL(ctx, u))
	}, "tls://host:4222 (NATS over TLS)"},
	"redis": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(redis.FromURL(ctx, u))
	}, "redis://host:6379/0"},
	"udp": {func(_ context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(udp.FromURL(u))
	}, "udp://239.1.2.3:9999?iface=eth0"},
	"postgres": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(postgres.FromURL(ctx, u))
	}, "postgres://user:password@host:5432/dbname"},
	"postgresql": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(postgres.FromURL(ctx, u))
	}, "postgresql://user:password@host:5432/dbname"},
	"rediss": {func(ctx context.Context, u *url.URL) (bellwether.Transport, error) {
		return nilSafe(redis.FromURL(ctx, u))
	}, "rediss://host:6379/0 (Redis over TLS)"},
}

// nilSafe turns a typed nil transport into an untyped nil.
func nilSafe[T bellwether.Transport](t T, err error) (bellwether.Transport, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Schemes returns the URL schemes Open knows, sorted.
func Schemes() []string {
	var s []string
	for k := range schemes {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open returns the Transport that rawURL names. The empty string means
// the default bus, local:// (processes of this user on this host, no
// server). ctx bounds the connection to a server, where the bus has one.
// The caller closes the Transport.
func Open(ctx context.Context, rawURL string) (bellwether.Transport, error) {
	if strings.TrimSpace(rawURL) == "" {
		rawURL = "local://"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bus URL %q is not a URL (%v); write it as %s", rawURL, err, examples())
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("bus URL %q has no scheme; write it as %s", u.Redacted(), examples())
	}
	s, ok := schemes[u.Scheme]
	if !ok {
		return nil, fmt.Errorf("bus URL %q has unknown scheme %q; known schemes: %s", u.Redacted(), u.Scheme, strings.Join(Schemes(), ", "))
	}
	return s.open(ctx, u)
}

func examples() string {
	var ex []string
	for _, k := range Schemes() {
		ex = append(ex, schemes[k].example)
	}
	return strings.Join(ex, ", ")
}
