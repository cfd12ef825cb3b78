package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/pubsub"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
	goredis "github.com/redis/go-redis/v9"
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
	EchoWindow = pubsub.EchoWindow
	EchoRecord = pubsub.EchoRecord

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
	bus    *pubsub.Bus

	closeOnce sync.Once
	done      chan struct{}
	loopDone  chan struct{}

	// opsMu is held by whoever runs the queued subscription changes, so
	// that they reach the server in the order they were decided.
	opsMu      sync.Mutex
	opsRunners sync.WaitGroup // kick's goroutines
	ops        pubsub.Queue   // the subscription changes to run

	mu      sync.Mutex
	waiters map[string][]chan struct{} // channel → Subscribes awaiting the server's confirmation
	recvErr error                      // why the subscribing connection is not working, or nil
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	*pubsub.Member
}

// New returns a Transport over client, which the caller keeps:
// Transport.Close leaves it open. The Transport subscribes on a connection
// of its own, made with client's options. New fails when the server does
// not answer a PING before ctx is done. Send's ctx deadline bounds its
// wait for the server's reply only if client's options set
// ContextTimeoutEnabled (FromURL sets it); otherwise go-redis waits up to
// its ReadTimeout. New is the first choice for a
// program that uses Redis alone: it configures its client as it likes, and
// involves no registry.
func New(ctx context.Context, client *goredis.Client, opts ...transport.Option) (*Transport, error) {
	if client == nil {
		return nil, errors.New("bellwether/redis: New needs a *redis.Client; got nil")
	}
	where := client.Options().Addr
	log := transport.Apply(opts).Logger
	quietClientLog(log)
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, dialError(where, err)
	}
	return newTransport(client, false, where, log), nil
}

// FromURL connects to the Redis server at u and returns a Transport that
// owns the connection. u is redis://[[user]:password@]host[:port][/db]
// (port 6379 by default), or rediss://… for TLS; the query may carry
// go-redis options such as dial_timeout=3s. ctx bounds only the first
// connection.
func FromURL(ctx context.Context, u *url.URL, opts ...transport.Option) (*Transport, error) {
	if err := busurl.Scheme(u, "redis", "redis://127.0.0.1:6379/0", "use redis://[:password@]host:6379/0 (or rediss:// for TLS)", "redis", "rediss"); err != nil {
		return nil, err
	}
	if err := busurl.Host(u, "redis", "use redis://host:6379/0"); err != nil {
		return nil, err
	}
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("bellwether/redis: URL %q: %w; use redis://[[user]:password@]host:6379/0", redact.URL(u), err)
	}
	if opt.ClientName == "" {
		opt.ClientName = "bellwether"
	}
	// Send's ctx bounds its wait for PUBLISH's reply: without this
	// go-redis waits for its ReadTimeout whatever the deadline.
	opt.ContextTimeoutEnabled = true
	if opt.DialerRetries == 0 {
		// Fail fast while the server is down: Send reports the outage
		// rather than retrying dials for seconds.
		opt.DialerRetries = 1
	}
	log := transport.Apply(opts).Logger
	quietClientLog(log)
	client := goredis.NewClient(opt)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		err = dialError(opt.Addr, err)
		if u.Scheme == "rediss" {
			err = fmt.Errorf("%w (rediss:// needs a server that speaks TLS on that port)", err)
		}
		return nil, err
	}
	return newTransport(client, true, opt.Addr, log), nil
}

func dialError(where string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "invalid password") || strings.Contains(msg, "NOPERM"):
		return fmt.Errorf("bellwether/redis: redis at %s refused the credentials: %w; put the right user and password in the URL (redis://user:password@host:port/db)", where, err)
	case strings.Contains(msg, "DB index is out of range"):
		return fmt.Errorf("bellwether/redis: redis at %s has no such database: %w; use a database number below the server's `databases` setting (default 16)", where, err)
	default:
		return busurl.Unreachable("redis", where, err, "redis-server", "redis-server --bind %s --port %s --daemonize yes")
	}
}

func newTransport(client *goredis.Client, owned bool, where string, log *slog.Logger) *Transport {
	t := &Transport{
		client:   client,
		owned:    owned,
		where:    where,
		ps:       client.Subscribe(context.Background()),
		ping:     pingInterval,
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		waiters:  make(map[string][]chan struct{}),
	}
	t.ops.Wake = t.kick
	t.bus = pubsub.New(pubsub.Config{
		Name:           "redis",
		Layer:          (*layer)(t),
		EchoByContent:  true, // for EchoRecord messages, EchoWindow each
		Channel:        func(group string) string { return channelPrefix + group },
		NewConn:        func(m *pubsub.Member) bellwether.Conn { return &Conn{m} },
		MaxMessageSize: func() int { return MaxMessageSize },
		Health:         t.health,
		Logger:         log,
	})
	go t.receive()
	return t
}

// clientLog receives go-redis's own log lines (go-redis has one logger
// for the whole process): the logger of the latest Transport made.
var (
	clientLog     atomic.Pointer[slog.Logger]
	clientLogOnce sync.Once
)

// quietClientLog sends go-redis's log lines, which repeat what Join and
// Send return (four "connection pool" lines for an unreachable server),
// to log at Debug level instead of the standard logger.
func quietClientLog(log *slog.Logger) {
	clientLog.Store(log)
	clientLogOnce.Do(func() { goredis.SetLogger(clientLogger{}) })
}

type clientLogger struct{}

func (clientLogger) Printf(ctx context.Context, format string, v ...any) {
	if log := clientLog.Load(); log != nil {
		log.DebugContext(ctx, "bellwether/redis: go-redis: "+strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	}
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

// deliver hands payload to the group's members but the one whose echo it
// is.
func (t *Transport) deliver(channel, payload string) {
	t.bus.Deliver(channel, []byte(payload), pubsub.Origin{})
}

// kick runs the queued subscription changes in the background, so that a
// Join's wait for them ends with its ctx.
func (t *Transport) kick() {
	t.opsRunners.Add(1)
	go func() {
		defer t.opsRunners.Done()
		t.runOps()
	}()
}

// runOps sends the queued subscription changes to the server, in order.
func (t *Transport) runOps() {
	t.opsMu.Lock()
	defer t.opsMu.Unlock()
	for {
		op, ok := t.ops.Next()
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		var err error
		if op.Subscribe {
			err = t.ps.Subscribe(ctx, op.Channel)
		} else {
			// Never fails in a way that matters: the channel is off the
			// list that go-redis subscribes to after reconnecting.
			err = t.ps.Unsubscribe(ctx, op.Channel)
		}
		cancel()
		op.Done(err)
	}
}

// Join makes a new member of group. It fails when the server is
// unreachable or does not confirm the subscription before ctx is done.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	return t.bus.Join(ctx, group)
}

// layer is the Transport as a pubsub.Layer.
type layer Transport

// Subscribe runs a SUBSCRIBE to channel and waits for the server to
// confirm it, so that every message published after Join returns reaches
// the new member.
func (l *layer) Subscribe(ctx context.Context, channel string) error {
	t := (*Transport)(l)
	confirmed := make(chan struct{})
	t.mu.Lock()
	t.waiters[channel] = append(t.waiters[channel], confirmed)
	t.mu.Unlock()
	result := t.ops.Subscribe(channel)
	var err error
	select {
	case err = <-result:
		if err != nil {
			err = fmt.Errorf("bellwether/redis: cannot subscribe to %s at redis %s: %w; the transport reconnects by itself, try again once the server is back", channel, t.where, err)
			break
		}
		select {
		case <-confirmed:
			return nil
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	if err == nil {
		err = fmt.Errorf("bellwether/redis: redis at %s did not confirm the subscription to %s: %w", t.where, channel, ctx.Err())
	}
	t.mu.Lock()
	if i := slices.Index(t.waiters[channel], confirmed); i >= 0 {
		t.waiters[channel] = slices.Delete(t.waiters[channel], i, i+1)
	}
	t.mu.Unlock()
	_ = l.Unsubscribe(channel)
	return err
}

// Unsubscribe runs an UNSUBSCRIBE from channel.
func (l *layer) Unsubscribe(channel string) error {
	// Queued: a failure matters not, since the channel is off the list
	// that go-redis subscribes to after reconnecting.
	(*Transport)(l).ops.Unsubscribe(channel)
	return nil
}

// Publish PUBLISHes m's payload, as it is, on channel; go-redis returns
// once the server's reply came back.
func (l *layer) Publish(ctx context.Context, channel string, m *pubsub.Message) error {
	t := (*Transport)(l)
	// Noted before it can come back. A failed PUBLISH may still have
	// reached the server, so its entry stays until its echo or
	// EchoWindow.
	m.Sending(0)
	// go-redis writes the message out before Publish returns, and keeps
	// no reference to it.
	if err := t.client.Publish(ctx, channel, m.Data).Err(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("bellwether/redis: redis at %s did not acknowledge the message in time: %w", t.where, ctx.Err())
		}
		return fmt.Errorf("bellwether/redis: publishing to %s at redis %s: %w", channel, t.where, err)
	}
	return nil
}

// Close closes every Conn, the subscribing connection and, for a
// Transport made by FromURL, the client.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.bus.Close()
		close(t.done)
		t.opsMu.Lock() // wait for subscription changes under way
		_ = t.ps.Close()
		t.opsMu.Unlock()
		t.opsRunners.Wait()
		<-t.loopDone
		if t.owned {
			_ = t.client.Close()
		}
	})
	return nil
}

// health is nil while the subscribing connection works, and otherwise
// what went wrong on it last: a receive error (the server is gone, and the
// Transport is reconnecting) or a PING left unanswered.
func (t *Transport) health() error {
	t.mu.Lock()
	err := t.recvErr
	t.mu.Unlock()
	if err != nil {
		return fmt.Errorf("bellwether/redis: the subscription to redis at %s is not working: %w; the transport reconnects by itself", t.where, err)
	}
	return nil
}

func init() {
	transport.Register("redis", "redis://host:6379/0", transport.Opener(FromURL))
	transport.Register("rediss", "rediss://host:6379/0 (Redis over TLS)", transport.Opener(FromURL))
}
