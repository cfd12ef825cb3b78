package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	goredis "github.com/redis/go-redis/v9"
)

var (
	_ bellwether.Transport = (*Transport)(nil)
	_ bellwether.Conn      = (*Conn)(nil)
)

// MaxMessageSize is the largest message a Conn sends.
const MaxMessageSize = 1 << 20

const (
	channelPrefix = "bellwether:"
	headerVersion = 1
	idLen         = 8
	headerLen     = 1 + idLen // version byte, then the sending Conn's id

	// joinTimeout bounds the wait for the server to confirm a new
	// subscription when Join's ctx has no deadline.
	joinTimeout = 10 * time.Second
	// maxBackoff is the longest pause between reconnection attempts.
	maxBackoff = 2 * time.Second
	// opTimeout bounds one SUBSCRIBE or UNSUBSCRIBE.
	opTimeout = 5 * time.Second
)

// Transport is a bellwether.Transport over one Redis server. Create it
// with New or FromURL.
type Transport struct {
	client *goredis.Client
	owned  bool // Close closes client
	where  string
	ps     *goredis.PubSub

	done     chan struct{}
	loopDone chan struct{}

	// opsMu is held by whoever runs the queued subscription changes, so
	// that they reach the server in the order they were decided.
	opsMu sync.Mutex

	mu      sync.RWMutex
	closed  bool
	groups  map[string]*group
	ops     []subOp
	waiters map[string][]chan struct{} // channel → Joins awaiting the server's confirmation
}

type subOp struct {
	subscribe bool
	channel   string
	result    chan error // capacity 1; nil when nobody waits
}

type group struct {
	name    string
	channel string
	conns   []*Conn
	ready   chan struct{} // closed when the subscription is made or failed
	err     error         // why it failed; set before ready is closed
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	t   *Transport
	g   *group
	hdr [headerLen]byte
	in  *inbox
}

// New returns a Transport over client, which the caller keeps:
// Transport.Close leaves it open. The Transport subscribes on a connection
// of its own, made with client's options. New fails when the server does
// not answer a PING before ctx is done.
func New(ctx context.Context, client *goredis.Client) (*Transport, error) {
	if client == nil {
		return nil, errors.New("bellwether/redis: New needs a *redis.Client; got nil")
	}
	where := client.Options().Addr
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, dialError(where, err)
	}
	return newTransport(client, false, where), nil
}

// FromURL connects to the Redis server at u and returns a Transport that
// owns the connection. u is redis://[[user]:password@]host[:port][/db]
// (port 6379 by default), or rediss://… for TLS; the query may carry
// go-redis options such as dial_timeout=3s. ctx bounds only the first
// connection.
func FromURL(ctx context.Context, u *url.URL) (*Transport, error) {
	if u == nil {
		return nil, errors.New("bellwether/redis: FromURL needs a URL like redis://127.0.0.1:6379/0; got nil")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("bellwether/redis: URL %q has scheme %q; use redis://[:password@]host:6379/0 (or rediss:// for TLS)", u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("bellwether/redis: URL %q has no host; use redis://host:6379/0", u.Redacted())
	}
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("bellwether/redis: URL %q: %w; use redis://[[user]:password@]host:6379/0", u.Redacted(), err)
	}
	if opt.ClientName == "" {
		opt.ClientName = "bellwether"
	}
	if opt.DialerRetries == 0 {
		// Fail fast while the server is down: Send reports the outage
		// rather than retrying dials for seconds.
		opt.DialerRetries = 1
	}
	client := goredis.NewClient(opt)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		err = dialError(opt.Addr, err)
		if u.Scheme == "rediss" {
			err = fmt.Errorf("%w (rediss:// needs a server that speaks TLS on that port)", err)
		}
		return nil, err
	}
	return newTransport(client, true, opt.Addr), nil
}

func dialError(where string, err error) error {
	host, port, _ := net.SplitHostPort(where)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "invalid password") || strings.Contains(msg, "NOPERM"):
		return fmt.Errorf("bellwether/redis: redis at %s refused the credentials: %w; put the right user and password in the URL (redis://user:password@host:port/db)", where, err)
	case strings.Contains(msg, "DB index is out of range"):
		return fmt.Errorf("bellwether/redis: redis at %s has no such database: %w; use a database number below the server's `databases` setting (default 16)", where, err)
	default:
		return fmt.Errorf("bellwether/redis: cannot reach redis at %s: %w; is redis-server running? start it with `redis-server --bind %s --port %s --daemonize yes`, or fix the URL", where, err, host, port)
	}
}

func newTransport(client *goredis.Client, owned bool, where string) *Transport {
	t := &Transport{
		client:   client,
		owned:    owned,
		where:    where,
		ps:       client.Subscribe(context.Background()),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		groups:   make(map[string]*group),
		waiters:  make(map[string][]chan struct{}),
	}
	go t.receive()
	return t
}

// receive reads the subscribing connection until Close. go-redis redials
// and subscribes again after an error; this loop paces its attempts.
func (t *Transport) receive() {
	defer close(t.loopDone)
	ctx := context.Background()
	var backoff time.Duration
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		msg, err := t.ps.Receive(ctx)
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
			timer.Reset(backoff)
			select {
			case <-t.done:
				return
			case <-timer.C:
			}
			continue
		}
		backoff = 0
		switch m := msg.(type) {
		case *goredis.Message:
			t.deliver(m.Channel, m.Payload)
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				t.confirm(m.Channel)
			}
		}
	}
}

func (t *Transport) confirm(channel string) {
	t.mu.Lock()
	ws := t.waiters[channel]
	delete(t.waiters, channel)
	t.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

func (t *Transport) deliver(channel, payload string) {
	if len(payload) < headerLen || payload[0] != headerVersion {
		return // not a bellwether message
	}
	from, body := payload[:headerLen], payload[headerLen:]
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.groups[strings.TrimPrefix(channel, channelPrefix)]
	if g == nil {
		return
	}
	for _, c := range g.conns {
		if string(c.hdr[:]) != from {
			c.in.push([]byte(body))
		}
	}
}

// runOps sends the queued subscription changes to the server, in order.
func (t *Transport) runOps() {
	t.opsMu.Lock()
	defer t.opsMu.Unlock()
	for {
		t.mu.Lock()
		if len(t.ops) == 0 {
			t.mu.Unlock()
			return
		}
		op := t.ops[0]
		t.ops = slices.Delete(t.ops, 0, 1)
		t.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		var err error
		if op.subscribe {
			err = t.ps.Subscribe(ctx, op.channel)
		} else {
			// Never fails in a way that matters: the channel is off the
			// list that go-redis subscribes to after reconnecting.
			err = t.ps.Unsubscribe(ctx, op.channel)
		}
		cancel()
		if op.result != nil {
			op.result <- err
		}
	}
}

// Join makes a new member of group. It fails when the server is
// unreachable or does not confirm the subscription before ctx is done.
func (t *Transport) Join(ctx context.Context, name string) (bellwether.Conn, error) {
	if err := bellwether.ValidateGroup(name); err != nil {
		return nil, err
	}
	c := &Conn{t: t, in: newInbox()}
	c.hdr[0] = headerVersion
	if _, err := rand.Read(c.hdr[1:]); err != nil {
		return nil, fmt.Errorf("bellwether/redis: making a member id: %w", err)
	}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, bellwether.ErrClosed
	}
	g := t.groups[name]
	first := g == nil
	var confirmed chan struct{}
	var result chan error
	if first {
		g = &group{name: name, channel: channelPrefix + name, ready: make(chan struct{})}
		t.groups[name] = g
		confirmed = make(chan struct{})
		t.waiters[g.channel] = append(t.waiters[g.channel], confirmed)
		result = make(chan error, 1)
		t.ops = append(t.ops, subOp{subscribe: true, channel: g.channel, result: result})
	}
	c.g = g
	g.conns = append(g.conns, c)
	t.mu.Unlock()

	if first {
		err := t.subscribe(ctx, g, result, confirmed)
		t.mu.Lock()
		if err == nil && t.closed {
			err = bellwether.ErrClosed
		}
		if err != nil {
			if i := slices.Index(t.waiters[g.channel], confirmed); i >= 0 {
				t.waiters[g.channel] = slices.Delete(t.waiters[g.channel], i, i+1)
			}
			if t.groups[name] == g {
				delete(t.groups, name) // the next Join tries afresh
				t.ops = append(t.ops, subOp{channel: g.channel})
			}
		}
		g.err = err
		t.mu.Unlock()
		if err != nil {
			t.runOps()
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

// subscribe runs the queued SUBSCRIBE for g and waits for the server to
// confirm it, so that every message published after Join returns reaches
// the new member.
func (t *Transport) subscribe(ctx context.Context, g *group, result chan error, confirmed chan struct{}) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	t.runOps()
	if err := <-result; err != nil {
		return fmt.Errorf("bellwether/redis: cannot subscribe to %s at redis %s: %w; the transport reconnects by itself, try again once the server is back", g.channel, t.where, err)
	}
	select {
	case <-confirmed:
		return nil
	case <-t.done:
		return bellwether.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("bellwether/redis: redis at %s did not confirm the subscription to %s: %w", t.where, g.channel, ctx.Err())
	}
}

// Close closes every Conn, the subscribing connection and, for a
// Transport made by FromURL, the client.
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
			c.in.close()
		}
	}
	close(t.done)
	t.opsMu.Lock() // wait for subscription changes under way
	_ = t.ps.Close()
	t.opsMu.Unlock()
	<-t.loopDone
	if t.owned {
		_ = t.client.Close()
	}
	return nil
}

// Send broadcasts msg to the group's other members.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if c.in.isClosed() {
		return bellwether.ErrClosed
	}
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("bellwether/redis: message is %d bytes; the limit is %d: %w", len(msg), MaxMessageSize, bellwether.ErrMessageTooLarge)
	}
	buf := make([]byte, headerLen+len(msg))
	copy(buf, c.hdr[:])
	copy(buf[headerLen:], msg)
	if err := c.t.client.Publish(ctx, c.g.channel, buf).Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bellwether/redis: publishing to %s at redis %s: %w", c.g.channel, c.t.where, err)
	}
	return nil
}

// Recv returns the next message another member sent.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	return c.in.pop(ctx)
}

// MaxMessageSize returns MaxMessageSize.
func (c *Conn) MaxMessageSize() int {
	return MaxMessageSize
}

// Dropped reports how many received messages this Conn discarded because
// its buffer of RecvBuffer messages was full.
func (c *Conn) Dropped() uint64 {
	return c.in.dropped.Load()
}

// Close leaves the group. The Transport unsubscribes from the group's
// channel when its last member here leaves.
func (c *Conn) Close() error {
	if !c.in.close() {
		return nil
	}
	t, g := c.t, c.g
	t.mu.Lock()
	if i := slices.Index(g.conns, c); i >= 0 {
		g.conns = slices.Delete(g.conns, i, i+1)
	}
	last := len(g.conns) == 0 && !t.closed && t.groups[g.name] == g
	if last {
		delete(t.groups, g.name)
		t.ops = append(t.ops, subOp{channel: g.channel})
	}
	t.mu.Unlock()
	if last {
		t.runOps()
	}
	return nil
}
