// Package udp is a bellwether bus over IPv4 multicast on a LAN: every
// member joins one multicast group address and port, and each message is
// one UDP datagram to it.
//
// Who can join: anyone who can send to and receive from the multicast
// address on that network, with any program. There is no
// authentication and no encryption: use it only on a network whose
// members you trust, and for messages that may be read by all. By
// default the TTL is 1, so datagrams do not cross routers.
//
// What is guaranteed: nothing beyond what UDP gives. Datagrams may be
// lost, duplicated or reordered by the network, and a member that falls
// more than 1024 messages behind loses the oldest (see [Conn.Dropped]).
// Send never waits for other members, and can confirm nothing: a
// datagram written to the socket counts as acknowledged, and Send returns
// nil. Each datagram carries a small
// header (a magic number and version, the sender's random id and the
// group name), so members hear neither their own messages, looped back
// so that members on one host hear each other, nor those of other
// groups or of other programs on the same port. Messages are limited so
// that a datagram fits the interface's MTU unfragmented: 1500-byte
// Ethernet leaves 1460 bytes less the group name's length (see
// [Conn.MaxMessageSize]).
//
// Health: a Conn implements bellwether.HealthChecker. A member whose
// socket reader failed is deaf: Health and Recv report the failure from
// then on.
package udp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"golang.org/x/net/ipv4"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/inbox"
)

// DefaultTTL is the multicast TTL when Config.TTL is zero: the local
// link only.
const DefaultTTL = 1

// defaultMTU is assumed when Config.Interface is empty.
const defaultMTU = 1500

// inboxSize is how many received messages a member buffers until Recv
// takes them.
const inboxSize = 1024

// Header layout: magic "BW", version, sender id, group length, group.
const (
	version    = 1
	idLen      = 8
	headerBase = 2 + 1 + idLen + 1
	// ipUDPHeaders is the IPv4 and UDP header bytes of a datagram.
	ipUDPHeaders = 20 + 8
)

// Config describes a multicast bus.
type Config struct {
	// Address is the IPv4 multicast group and UDP port, as
	// "239.1.2.3:9999". Addresses in 239.0.0.0/8 are for use within an
	// organisation.
	Address string
	// Interface is the name of the network interface to use, as "eth0".
	// Empty lets the system choose by its routes; set it on a host with
	// several networks.
	Interface string
	// TTL is the multicast time to live, 1 to 255; zero means DefaultTTL.
	TTL int
}

var _ bellwether.Transport = (*Transport)(nil)

// Transport is a multicast bus as seen from one process. It is safe for
// concurrent use.
type Transport struct {
	group *net.UDPAddr
	ifi   *net.Interface
	ttl   int
	mtu   int

	conns inbox.Set[*Conn]
}

// New checks cfg and returns a Transport; it opens no socket until Join.
func New(cfg Config) (*Transport, error) {
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("bellwether/udp: address %q: %v; write the multicast group and port as 239.1.2.3:9999", cfg.Address, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("bellwether/udp: address %q: %q is not an IPv4 address; use a multicast group such as 239.1.2.3", cfg.Address, host)
	}
	ip = ip.To4()
	if !ip.IsMulticast() {
		return nil, fmt.Errorf("bellwether/udp: address %q: %s is not a multicast address (224.0.0.0/4); use one such as 239.1.2.3", cfg.Address, ip)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("bellwether/udp: address %q: port %q is not a number from 1 to 65535", cfg.Address, portStr)
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 1 || ttl > 255 {
		return nil, fmt.Errorf("bellwether/udp: TTL %d is out of range; use 1 (this link) to 255", cfg.TTL)
	}
	t := &Transport{
		group: &net.UDPAddr{IP: ip, Port: port},
		ttl:   ttl,
		mtu:   defaultMTU,
	}
	if cfg.Interface != "" {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("bellwether/udp: interface %q: %v; list them with 'ip link'", cfg.Interface, err)
		}
		if ifi.Flags&(net.FlagMulticast|net.FlagLoopback) == 0 {
			return nil, fmt.Errorf("bellwether/udp: interface %q does not support multicast; choose another", cfg.Interface)
		}
		t.ifi = ifi
		if ifi.MTU > 0 {
			t.mtu = ifi.MTU
		}
	}
	return t, nil
}

// Address returns the multicast group and port.
func (t *Transport) Address() *net.UDPAddr {
	return &net.UDPAddr{IP: t.group.IP, Port: t.group.Port}
}

// Join opens a socket on the multicast address and port, joins the
// multicast group on the interface, and makes a member of group.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	if err := t.conns.Joining(ctx, "udp", group); err != nil {
		return nil, err
	}
	max := min(t.mtu, 65535) - ipUDPHeaders - headerBase - len(group)
	if max < 256 {
		return nil, fmt.Errorf("bellwether/udp: join %q: the interface's MTU of %d leaves %d bytes for a message; use a shorter group name or another interface", group, t.mtu, max)
	}
	c := &Conn{
		t:     t,
		group: group,
		max:   max,
		in:    inbox.NewReader(inboxSize),
	}
	if _, err := rand.Read(c.id[:]); err != nil {
		return nil, fmt.Errorf("bellwether/udp: join %q: %w", group, err)
	}
	c.header = appendHeader(nil, c.id, group)
	// Listening on a multicast address binds the port on every address,
	// shared with the other members on this host (SO_REUSEADDR).
	pc, err := net.ListenPacket("udp4", t.group.String())
	if err != nil {
		return nil, fmt.Errorf("bellwether/udp: join %q: %w", group, err)
	}
	p := ipv4.NewPacketConn(pc)
	fail := func(what string, err error) (bellwether.Conn, error) {
		p.Close()
		return nil, fmt.Errorf("bellwether/udp: join %q: %s: %w", group, what, err)
	}
	if err := p.JoinGroup(t.ifi, &net.UDPAddr{IP: t.group.IP}); err != nil {
		return fail("joining multicast group "+t.group.IP.String(), err)
	}
	if t.ifi != nil {
		if err := p.SetMulticastInterface(t.ifi); err != nil {
			return fail("setting the multicast interface", err)
		}
	}
	if err := p.SetMulticastTTL(t.ttl); err != nil {
		return fail("setting the multicast TTL", err)
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		return fail("turning multicast loopback on", err)
	}
	// Knowing each datagram's destination lets Recv drop those sent to
	// another multicast group on the same port; not every system tells.
	c.checkDst = p.SetControlMessage(ipv4.FlagDst, true) == nil
	c.p = p
	buf := make([]byte, 65536)
	c.in.Start("udp", func() ([]byte, error) { return c.read(buf) })
	return t.conns.Joined(c, "udp", group)
}

// Close closes every Conn of t. Later calls return nil.
func (t *Transport) Close() error {
	t.conns.Close()
	return nil
}

func appendHeader(b []byte, id [idLen]byte, group string) []byte {
	b = append(b, 'B', 'W', version)
	b = append(b, id[:]...)
	b = append(b, byte(len(group)))
	return append(b, group...)
}

// parse returns the sender id, group and payload of a datagram, or ok
// false if it is not one of ours.
func parse(d []byte) (id [idLen]byte, group, payload []byte, ok bool) {
	if len(d) < headerBase || d[0] != 'B' || d[1] != 'W' || d[2] != version {
		return id, nil, nil, false
	}
	copy(id[:], d[3:3+idLen])
	n := int(d[headerBase-1])
	if len(d) < headerBase+n {
		return id, nil, nil, false
	}
	return id, d[headerBase : headerBase+n], d[headerBase+n:], true
}

var (
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

// Conn is one member: a UDP socket in the multicast group, and a goroutine
// that moves the group's datagrams into a buffer for Recv.
type Conn struct {
	t         *Transport
	group     string
	id        [idLen]byte
	header    []byte
	max       int
	p         *ipv4.PacketConn
	checkDst  bool
	in        *inbox.Reader
	closeOnce sync.Once
}

// MaxMessageSize returns the largest message whose datagram fits the
// interface's MTU (1500 bytes if the system chooses the interface).
func (c *Conn) MaxMessageSize() int { return c.max }

// Dropped returns how many messages to this member were dropped, oldest
// first, because Recv had not taken the earlier ones.
func (c *Conn) Dropped() uint64 { return c.in.Dropped() }

// read returns the payload of the next datagram on the socket, nil for
// one that is not from another member of the group, or the socket's error.
func (c *Conn) read(buf []byte) ([]byte, error) {
	for {
		n, cm, _, err := c.p.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		if c.checkDst && cm != nil && cm.Dst != nil && !cm.Dst.Equal(c.t.group.IP) {
			continue // to another multicast group on our port
		}
		id, group, payload, ok := parse(buf[:n])
		if !ok || id == c.id || string(group) != c.group {
			continue
		}
		msg := bytes.Clone(payload)
		if msg == nil {
			msg = []byte{}
		}
		return msg, nil
	}
}

// Health returns nil while the member's socket reader works,
// ErrClosed after Close, and the reader's error once it failed: a deaf
// member, whose Recv returns that error too.
func (c *Conn) Health() error { return c.in.Health() }

// Recv returns the next message from the member's buffer: ErrClosed
// after Close, and the reader's error once the buffer is empty if the
// member is deaf.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return c.in.Pop(ctx) }

// Send multicasts msg to the group in one datagram.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > c.max {
		return fmt.Errorf("bellwether/udp: message of %d bytes is over the limit of %d: %w", len(msg), c.max, bellwether.ErrMessageTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.in.IsClosed() {
		return fmt.Errorf("bellwether/udp: send: %w", bellwether.ErrClosed)
	}
	d := make([]byte, 0, len(c.header)+len(msg))
	d = append(append(d, c.header...), msg...)
	if _, err := c.p.WriteTo(d, nil, c.t.group); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("bellwether/udp: send: %w", bellwether.ErrClosed)
		}
		return fmt.Errorf("bellwether/udp: send to %v: %w", c.t.group, err)
	}
	return nil
}

// Close leaves the multicast group and closes the socket; unread messages
// are lost. Later calls return nil.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.in.Stop(c.p.Close)
		c.t.conns.Remove(c)
	})
	return nil
}
