package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/echoes"
	"github.com/bellwether-go/bellwether/internal/inbox"
	"github.com/bellwether-go/bellwether/transport"
	goredis "github.com/redis/go-redis/v9"
)

var (
	_ bellwether.Transport     = (*Transport)(nil)
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

// MaxMessageSize is the largest message a Conn sends.
const MaxMessageSize = 1 << 20

const (
	channelPrefix = "bellwether:"

	// EchoWindow and EchoRecord bound how a Conn recognises its own
	// messages, which Redis delivers back to the Transport's
	// subscription: a Conn remembers the digests of the last EchoRecord
	// messages it sent, each for EchoWindow, and an incoming message equal
	// to one of them is its echo.
	EchoWindow = 10 * time.Second
	EchoRecord = 256

	// joinTimeout bounds the wait for the server to confirm a new
	// subscription when Join's ctx has no deadline.
	joinTimeout = 10 * time.Second
	// maxBackoff is the longest pause between reconnection attempts.
	maxBackoff = 2 * time.Second
	// opTimeout bounds one SUBSCRIBE or UNSUBSCRIBE.
	opTimeout = 5 * time.Second
)

// pingInterval is how long the subscribing connection may stay idle before
// it is pinged; a PING unanswered for as long makes Health report the
// connection as broken. Tests shorten it.
var pingInterval = 5 * time.Second

// Transport is a bellwether.Transport over one Redis server. Create it
// with New or FromURL.
type Transport struct {
	client *goredis.Client
	owned  bool // Close closes client
	where  string
	ps     *goredis.PubSub
	ping   time.Duration // pingInterval when made

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
	recvErr error                      // why the subscribing connection is not working, or nil
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
	t    *Transport
	g    *group
	sent *echoes.Record
	in   *inbox.Inbox
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
		ping:     pingInterval,
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		groups:   make(map[string]*group),
		waiters:  make(map[string][]chan struct{}),
	}
	go t.receive()
	return t
}

// receive reads the subscribing connection until Close. go-redis redials
// and subscribes again after an error; this loop paces its attempts, and
// pings the connection when it has been idle for t.ping.
func (t *Transport) receive() {
	defer close(t.loopDone)
	ctx := context.Background()
	var backoff time.Duration
	var pinged time.Time // when the unanswered PING went out, or zero
	failing := false     // recvErr is set
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		msg, err := t.ps.ReceiveTimeout(ctx, t.ping)
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			if isTimeout(err) {
				// Idle: a timeout leaves the connection usable.
				if !pinged.IsZero() {
					t.setRecvErr(fmt.Errorf("no reply to PING for %v", time.Since(pinged).Round(time.Second)))
					failing = true
					continue
				}
				pctx, cancel := context.WithTimeout(ctx, opTimeout)
				err = t.ps.Ping(pctx)
				cancel()
				if err == nil {
					pinged = time.Now()
					continue
				}
			}
			t.setRecvErr(err)
			failing = true
			pinged = time.Time{}
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
		pinged = time.Time{}
		if failing {
			t.setRecvErr(nil)
			failing = false
		}
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (t *Transport) setRecvErr(err error) {
	t.mu.Lock()
	t.recvErr = err
	t.mu.Unlock()
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

// deliver hands payload to every member of its group but the one whose
// echo it is.
func (t *Transport) deliver(channel, payload string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.groups[strings.TrimPrefix(channel, channelPrefix)]
	if g == nil {
		return
	}
	sum, now := echoes.SumOf(payload), time.Now()
	for _, c := range g.conns {
		if !c.sent.Take(sum, 0, now) {
			c.in.Push([]byte(payload))
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
	c := &Conn{t: t, in: inbox.New(RecvBuffer), sent: echoes.New(EchoRecord, EchoWindow)}

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
			c.in.Close()
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

// Send broadcasts msg to the group's other members: it PUBLISHes msg, as
// it is, on the group's channel.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("bellwether/redis: message is %d bytes; the limit is %d: %w", len(msg), MaxMessageSize, bellwether.ErrMessageTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Noted before it can come back. A failed PUBLISH may still have
	// reached the server, so its entry stays until its echo or
	// EchoWindow.
	c.sent.Add(echoes.SumOf(msg), 0, time.Now())
	// go-redis writes msg out before Publish returns, and keeps no
	// reference to it.
	if err := c.t.client.Publish(ctx, c.g.channel, msg).Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bellwether/redis: publishing to %s at redis %s: %w", c.g.channel, c.t.where, err)
	}
	return nil
}

// Recv returns the next message another member sent.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	return c.in.Pop(ctx)
}

// MaxMessageSize returns MaxMessageSize.
func (c *Conn) MaxMessageSize() int {
	return MaxMessageSize
}

// Health returns nil while the Transport's subscribing connection works,
// ErrClosed after Close, and otherwise what went wrong on it last: a
// receive error (the server is gone, and the Transport is reconnecting)
// or a PING left unanswered.
func (c *Conn) Health() error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	c.t.mu.RLock()
	err := c.t.recvErr
	c.t.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("bellwether/redis: the subscription to redis at %s is not working: %w; the transport reconnects by itself", c.t.where, err)
	}
	return nil
}

// Dropped reports how many received messages this Conn discarded because
// its buffer of RecvBuffer messages was full.
func (c *Conn) Dropped() uint64 {
	return c.in.Dropped()
}

// Close leaves the group. The Transport unsubscribes from the group's
// channel when its last member here leaves.
func (c *Conn) Close() error {
	if !c.in.Close() {
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

func init() {
	transport.Register("redis", "redis://host:6379/0", open)
	transport.Register("rediss", "rediss://host:6379/0 (Redis over TLS)", open)
}

func open(ctx context.Context, u *url.URL, opts ...transport.Option) (bellwether.Transport, error) {
	t, err := FromURL(ctx, u)
	if err != nil {
		return nil, err
	}
	return t, nil
}
