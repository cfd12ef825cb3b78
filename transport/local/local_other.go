//go:build !unix

// Package local is bellwether's default bus on Unix systems: processes of
// one user on one host, through Unix datagram sockets in a directory of
// the user's. It is not available on this system: New returns an error.
package local

import (
	"context"
	"errors"

	"github.com/bellwether-go/bellwether"
)

// MaxMessageSize is the largest message Send would accept: 64 KiB.
const MaxMessageSize = 64 << 10

var errUnsupported = errors.New("bellwether/local: the local transport needs Unix datagram sockets, which this system lacks; use another transport")

var _ bellwether.Transport = (*Transport)(nil)

// Transport is the local bus; on this system it cannot be made.
type Transport struct{}

// DefaultDir returns "" on this system.
func DefaultDir() string { return "" }

// New returns an error on this system.
func New(dir string) (*Transport, error) { return nil, errUnsupported }

// Dir returns "".
func (t *Transport) Dir() string { return "" }

// Join returns an error on this system.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	return nil, errUnsupported
}

// Close returns nil.
func (t *Transport) Close() error { return nil }
