// Package transport opens a bellwether bus from a URL, for programs and
// commands that let their users choose the bus:
//
//	import (
//		"github.com/bellwether-go/bellwether/transport"
//		_ "github.com/bellwether-go/bellwether/transport/nats"
//	)
//
//	t, err := transport.Open(ctx, os.Getenv("BUS"))
//
// Each bus lives in a package of its own below this one, which registers
// its URL schemes in an init function, as database/sql drivers do: a
// program links only the buses it imports. Import
// github.com/bellwether-go/bellwether/transport/all for every bus (the
// bellwether command does).
//
// A program that uses one bus is better served by the bus package's own
// constructor (nats.New, redis.New, postgres.New, mqtt.New), which takes
// a client the program configured itself and involves no registry.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/redact"
)

// OpenFunc opens the bus that u names; u's scheme is one the bus
// registered. ctx bounds the connection to a server, where the bus has
// one.
type OpenFunc func(ctx context.Context, u *url.URL, opts ...Option) (bellwether.Transport, error)

type entry struct {
	open    OpenFunc
	example string
}

var registry struct {
	sync.RWMutex
	schemes map[string]entry
}

// known lists the bus packages by scheme, so that Open's error for a
// scheme nobody registered can name the import it lacks.
var known = map[string]string{
	"local":      "local",
	"mem":        "mem",
	"nats":       "nats",
	"tls":        "nats",
	"redis":      "redis",
	"rediss":     "redis",
	"postgres":   "postgres",
	"postgresql": "postgres",
	"udp":        "udp",
	"mqtt":       "mqtt",
	"mqtts":      "mqtt",
}

const modulePath = "github.com/bellwether-go/bellwether/transport/"

// Register makes a bus available to Open under the URL scheme, with an
// example URL for error messages (as "nats://host:4222"). A bus package
// calls it from init. It panics, as database/sql's Register does, if
// open is nil, scheme or example is empty, or scheme is registered
// already.
func Register(scheme, example string, open OpenFunc) {
	if open == nil {
		panic("bellwether/transport: Register of scheme " + scheme + " with a nil OpenFunc")
	}
	if scheme == "" || example == "" {
		panic(fmt.Sprintf("bellwether/transport: Register needs a scheme and an example; got %q and %q", scheme, example))
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.schemes == nil {
		registry.schemes = map[string]entry{}
	}
	if _, dup := registry.schemes[scheme]; dup {
		panic("bellwether/transport: Register called twice for scheme " + scheme)
	}
	registry.schemes[scheme] = entry{open: open, example: example}
}

// Schemes returns the URL schemes registered, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	return sortedLocked()
}

// Open returns the Transport that rawURL names, through the bus package
// that registered its scheme. The empty string means the default bus,
// local:// (processes of this user on this host, no server). ctx bounds
// the connection to a server, where the bus has one. The caller closes
// the Transport.
func Open(ctx context.Context, rawURL string, opts ...Option) (bellwether.Transport, error) {
	if strings.TrimSpace(rawURL) == "" {
		rawURL = "local://"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bus URL %q is not a URL (%v); write it as %s", redact.String(rawURL), redact.Scrub(err.Error(), rawURL), examples())
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("bus URL %q has no scheme; write it as %s", redact.String(rawURL), examples())
	}
	registry.RLock()
	s, ok := registry.schemes[u.Scheme]
	registry.RUnlock()
	if !ok {
		if pkg, isKnown := known[u.Scheme]; isKnown {
			return nil, fmt.Errorf("bus URL %q has scheme %q, whose bus this program does not include; add import _ %q (or %q for every bus)", redact.URL(u), u.Scheme, modulePath+pkg, modulePath+"all")
		}
		return nil, fmt.Errorf("bus URL %q has unknown scheme %q; known schemes: %s", redact.URL(u), u.Scheme, strings.Join(Schemes(), ", "))
	}
	return s.open(ctx, u, opts...)
}

func examples() string {
	registry.RLock()
	defer registry.RUnlock()
	var ex []string
	for _, k := range sortedLocked() {
		ex = append(ex, registry.schemes[k].example)
	}
	if len(ex) == 0 {
		return "a URL of a bus this program imports (it imports none: add import _ \"" + modulePath + "all\")"
	}
	return strings.Join(ex, ", ")
}

// sortedLocked is Schemes for a caller holding registry's lock.
func sortedLocked() []string {
	s := make([]string, 0, len(registry.schemes))
	for k := range registry.schemes {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Opener adapts a bus package's FromURL, which returns its own Transport
// type, to an OpenFunc for Register.
func Opener[T bellwether.Transport](fromURL func(context.Context, *url.URL, ...Option) (T, error)) OpenFunc {
	return func(ctx context.Context, u *url.URL, opts ...Option) (bellwether.Transport, error) {
		t, err := fromURL(ctx, u, opts...)
		if err != nil {
			return nil, err // not t: a typed nil in an interface is not nil
		}
		return t, nil
	}
}
