package nats

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/inbox"
	natsgo "github.com/nats-io/nats.go"
)

var (
	_ bellwether.Transport     = (*Transport)(nil)
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

const (
	subjectPrefix = "bellwether."

	// SenderHeader is the NATS message header in which a Conn names
	// itself, a random id of 16 hex digits, so that it can drop its own
	// messages when NATS echoes them back. A message without it comes from
	// a client that is not bellwether's and reaches every member.
	SenderHeader = "Bellwether-Sender"
	idLen        = 16
	// headerOverhead is what the header takes of the server's
	// max_payload: "NATS/1.0\r\n", "Bellwether-Sender: " and the id, "\r\n",
	// and the closing "\r\n".
	headerOverhead = len("NATS/1.0\r\n") + len(SenderHeader) + len(": ") + idLen + len("\r\n") + len("\r\n")

	// queueLen is the capacity of the channel that nats.go's reader fills
	// with the messages of every group of a Transport. When it is full
	// nats.go drops messages (a slow consumer).
	queueLen = 1 << 14

	// joinTimeout bounds the round trip that confirms a new subscription
	// when Join's ctx has no deadline.
	joinTimeout = 10 * time.Second
)

// Transport is a bellwether.Transport over one NATS connection. Create it
// with New or FromURL.
type Transport struct {
	nc    *natsgo.Conn
	owned bool // Close closes nc
	where string

	msgs     chan *natsgo.Msg
	done     chan struct{}
	loopDone chan struct{}

	mu     sync.RWMutex
	closed bool
	groups map[string]*group
}

type group struct {
	name    string
	subject string
	sub     *natsgo.Subscription // set once subscribed
	conns   []*Conn
	ready   chan struct{} // closed when the subscription is made or failed
	err     error         // why it failed; set before ready is closed
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	t   *Transport
	g   *group
	id  string
	hdr natsgo.Header // SenderHeader: id; read-only
	in  *inbox.Inbox
}

// New returns a Transport over nc, which the caller keeps: Transport.Close
// leaves nc open, and nc's own options decide how it reconnects. Send
// fails while nc is not connected. Every member needs nc's echo option left
// on (the default) to hear the other members using the same connection.
func New(nc *natsgo.Conn) (*Transport, error) {
	if nc == nil {
		return nil, errors.New("bellwether/nats: New needs a *nats.Conn; got nil")
	}
	if nc.IsClosed() {
		return nil, errors.New("bellwether/nats: New was given a closed *nats.Conn; connect again with nats.Connect")
	}
	return newTransport(nc, false, nc.ConnectedUrlRedacted()), nil
}

// FromURL connects to the NATS server at u and returns a Transport that
// owns the connection and reconnects forever after losing it. u is
// nats://[user:password@]host[:port] (port 4222 by default), or tls://…
// for TLS; a token goes in the user part (nats://token@host). ctx bounds
// only the first connection.
func FromURL(ctx context.Context, u *url.URL) (*Transport, error) {
	if u == nil {
		return nil, errors.New("bellwether/nats: FromURL needs a URL like nats://127.0.0.1:4222; got nil")
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return nil, fmt.Errorf("bellwether/nats: URL %q has scheme %q; use nats://host:4222 (or tls://host:4222 for TLS)", u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("bellwether/nats: URL %q has no host; use nats://host:4222", u.Redacted())
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("bellwether/nats: URL %q has a path or query, which NATS does not use; use nats://[user:password@]host:port", u.Redacted())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	where := u.Host
	if u.Port() == "" {
		where = net.JoinHostPort(u.Hostname(), "4222")
	}
	nc, err := natsgo.Connect(u.String(),
		natsgo.Name("bellwether"),
		natsgo.ErrorHandler(asyncError),
		natsgo.Timeout(timeout),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(500*time.Millisecond),
		natsgo.ReconnectJitter(250*time.Millisecond, time.Second),
		natsgo.ReconnectBufSize(-1),
		natsgo.PingInterval(20*time.Second),
	)
	if err != nil {
		return nil, dialError(where, err)
	}
	return newTransport(nc, true, where), nil
}

// asyncError reports the NATS client's asynchronous errors, as nats.go's
// default handler does, but for slow-consumer events: they are expected
// under overload and Transport.Dropped counts what they lost.
func asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	if errors.Is(err, natsgo.ErrSlowConsumer) {
		return
	}
	if sub != nil {
		log.Printf("bellwether/nats: %v (subscription %s)", err, sub.Subject)
		return
	}
	log.Printf("bellwether/nats: %v", err)
}

func dialError(where string, err error) error {
	host, port, _ := net.SplitHostPort(where)
	if errors.Is(err, natsgo.ErrAuthorization) || strings.Contains(err.Error(), "uthorization") {
		return fmt.Errorf("bellwether/nats: nats at %s refused the credentials: %w; put the right user:password (or token) in the URL", where, err)
	}
	if errors.Is(err, natsgo.ErrNoServers) {
		// nats.go does not say why; dial once more to find out.
		if c, derr := net.DialTimeout("tcp", where, 2*time.Second); derr != nil {
			err = derr
		} else {
			c.Close()
		}
	}
	return fmt.Errorf("bellwether/nats: cannot reach nats at %s: %w; is nats-server running? start it with `nats-server -a %s -p %s`, or fix the URL", where, err, host, port)
}

func newTransport(nc *natsgo.Conn, owned bool, where string) *Transport {
	t := &Transport{
		nc:       nc,
		owned:    owned,
		where:    where,
		msgs:     make(chan *natsgo.Msg, queueLen),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		groups:   make(map[string]*group),
	}
	go t.dispatch()
	return t
}

// subject returns the NATS subject of a valid group name.
func subject(group string) string {
	return subjectPrefix + strings.ReplaceAll(group, ".", "~")
}

// Join makes a new member of group. It fails when the connection is down
// (the transport is reconnecting) or the server does not confirm the
// subscription before ctx is done.
func (t *Transport) Join(ctx context.Context, name string) (bellwether.Conn, error) {
	if err := bellwether.ValidateGroup(name); err != nil {
		return nil, err
	}
	var id [idLen / 2]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("bellwether/nats: making a member id: %w", err)
	}
	c := &Conn{t: t, in: inbox.New(RecvBuffer), id: hex.EncodeToString(id[:])}
	c.hdr = natsgo.Header{SenderHeader: []string{c.id}}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, bellwether.ErrClosed
	}
	g := t.groups[name]
	first := g == nil
	if first {
		g = &group{name: name, subject: subject(name), ready: make(chan struct{})}
		t.groups[name] = g
	}
	c.g = g
	g.conns = append(g.conns, c)
	t.mu.Unlock()

	if first {
		sub, err := t.subscribe(ctx, g.subject)
		t.mu.Lock()
		if err == nil && t.closed {
			err = bellwether.ErrClosed
		}
		if err == nil {
			g.sub = sub
		} else if t.groups[name] == g {
			delete(t.groups, name) // the next Join tries afresh
		}
		g.err = err
		t.mu.Unlock()
		if err != nil && sub != nil {
			_ = sub.Unsubscribe()
		}
		close(g.ready)
	}
	select {
	case <-g.ready:
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
	if g.err != nil {
		c.Close()
		return nil, g.err
	}
	return c, nil
}

// subscribe subscribes to subj and waits until the server has it.
func (t *Transport) subscribe(ctx context.Context, subj string) (*natsgo.Subscription, error) {
	if st := t.nc.Status(); st != natsgo.CONNECTED {
		return nil, t.notConnected(st)
	}
	sub, err := t.nc.ChanSubscribe(subj, t.msgs)
	if err != nil {
		return nil, fmt.Errorf("bellwether/nats: subscribing to %s: %w", subj, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	if err := t.nc.FlushWithContext(ctx); err != nil {
		if ctx.Err() == nil {
			err = fmt.Errorf("bellwether/nats: nats at %s did not confirm the subscription to %s: %w", t.where, subj, err)
		}
		return sub, err
	}
	return sub, nil
}

func (t *Transport) notConnected(st natsgo.Status) error {
	return fmt.Errorf("bellwether/nats: not connected to nats at %s (status %s, last error: %v); the transport reconnects by itself, try again once the server is back", t.where, st, t.nc.LastError())
}

// dispatch hands each received message to the group's other members.
func (t *Transport) dispatch() {
	defer close(t.loopDone)
	for {
		select {
		case m := <-t.msgs:
			t.deliver(m)
		case <-t.done:
			return
		}
	}
}

// deliver hands m to every member of its group but the one that sent it:
// the Conn named by m's SenderHeader, if it is one of ours.
func (t *Transport) deliver(m *natsgo.Msg) {
	var from string
	if m.Header != nil {
		from = m.Header.Get(SenderHeader)
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.groups[strings.ReplaceAll(strings.TrimPrefix(m.Subject, subjectPrefix), "~", ".")]
	if g == nil {
		return
	}
	for _, c := range g.conns {
		if c.id != from {
			c.in.Push(bytes.Clone(m.Data))
		}
	}
}

// Dropped reports how many messages for the groups this Transport is in
// now the NATS client discarded because the Transport's receive queue of
// 16384 messages was full. Messages a Conn discards because its own buffer
// was full are counted by Conn.Dropped.
func (t *Transport) Dropped() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var n uint64
	for _, g := range t.groups {
		if g.sub != nil {
			if d, err := g.sub.Dropped(); err == nil && d > 0 {
				n += uint64(d)
			}
		}
	}
	return n
}

// Close closes every Conn, stops the Transport's goroutine and, for a
// Transport made by FromURL, closes the NATS connection.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	groups := t.groups
	t.groups = nil
	t.mu.Unlock()

	for _, g := range groups {
		for _, c := range g.conns {
			c.in.Close()
		}
		if g.sub != nil && !t.owned {
			_ = g.sub.Unsubscribe()
		}
	}
	close(t.done)
	<-t.loopDone
	if t.owned {
		t.nc.Close()
	}
	return nil
}

// Send broadcasts msg to the group's other members. It fails at once while
// the connection is down.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	if limit := c.MaxMessageSize(); len(msg) > limit {
		return fmt.Errorf("bellwether/nats: message is %d bytes; the limit is %d (the server's max_payload less the %d bytes of the %s header): %w", len(msg), limit, headerOverhead, SenderHeader, bellwether.ErrMessageTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if st := c.t.nc.Status(); st != natsgo.CONNECTED {
		return c.t.notConnected(st)
	}
	// nats.go copies msg into its write buffer before PublishMsg returns.
	if err := c.t.nc.PublishMsg(&natsgo.Msg{Subject: c.g.subject, Header: c.hdr, Data: msg}); err != nil {
		if errors.Is(err, natsgo.ErrReconnectBufExceeded) {
			return c.t.notConnected(c.t.nc.Status())
		}
		return fmt.Errorf("bellwether/nats: publishing to %s: %w", c.g.subject, err)
	}
	return nil
}

// Recv returns the next message another member sent.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	return c.in.Pop(ctx)
}

// MaxMessageSize is the server's max_payload less the 49 bytes that the
// SenderHeader takes of it (NATS counts headers in max_payload).
func (c *Conn) MaxMessageSize() int {
	return int(c.t.nc.MaxPayload()) - headerOverhead
}

// Health returns nil while the Transport's connection to the server is
// up, ErrClosed after Close, and otherwise an error giving the
// connection's status and last error.
func (c *Conn) Health() error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	if st := c.t.nc.Status(); st != natsgo.CONNECTED {
		return c.t.notConnected(st)
	}
	return nil
}

// Dropped reports how many received messages this Conn discarded because
// its buffer of RecvBuffer messages was full.
func (c *Conn) Dropped() uint64 {
	return c.in.Dropped()
}

// Close leaves the group. The group's subscription ends with its last
// member on this Transport.
func (c *Conn) Close() error {
	if !c.in.Close() {
		return nil
	}
	t, g := c.t, c.g
	t.mu.Lock()
	for i, other := range g.conns {
		if other == c {
			g.conns = slices.Delete(g.conns, i, i+1)
			break
		}
	}
	var sub *natsgo.Subscription
	if len(g.conns) == 0 && t.groups[g.name] == g {
		delete(t.groups, g.name)
		sub = g.sub
	}
	t.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	return nil
}
