package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/pubsub"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
	natsgo "github.com/nats-io/nats.go"
)

func init() {
	transport.Register("nats", "nats://host:4222", transport.Opener(FromURL))
	transport.Register("tls", "tls://host:4222 (NATS over TLS)", transport.Opener(FromURL))
}

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

	// flushTimeout bounds one flush, the PING whose PONG acknowledges
	// every publish before it.
	flushTimeout = 10 * time.Second
)

// Transport is a bellwether.Transport over one NATS connection. Create it
// with New or FromURL.
type Transport struct {
	nc    *natsgo.Conn
	owned bool // Close closes nc
	where string
	bus   *pubsub.Bus
	acks  flusher
	// stopAcks ends the flush under way, at Close.
	stopAcks context.CancelFunc

	msgs      chan *natsgo.Msg
	closeOnce sync.Once
	done      chan struct{}
	loopDone  chan struct{}

	mu   sync.Mutex
	subs map[string]*natsgo.Subscription // by subject
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	*pubsub.Member
}

// New returns a Transport over nc, which the caller keeps: Transport.Close
// leaves nc open, and nc's own options decide how it reconnects. Send
// fails while nc is not connected. Every member needs nc's echo option left
// on (the default) to hear the other members using the same connection.
// New is the first choice for a program that uses NATS alone: it
// configures its connection as it likes, and involves no registry.
// nc's asynchronous errors still go to nc's own ErrorHandler.
func New(nc *natsgo.Conn, opts ...transport.Option) (*Transport, error) {
	if nc == nil {
		return nil, errors.New("bellwether/nats: New needs a *nats.Conn; got nil")
	}
	if nc.IsClosed() {
		return nil, errors.New("bellwether/nats: New was given a closed *nats.Conn; connect again with nats.Connect")
	}
	return newTransport(nc, false, nc.ConnectedUrlRedacted(), transport.Apply(opts).Logger), nil
}

// FromURL connects to the NATS server at u and returns a Transport that
// owns the connection and reconnects forever after losing it. u is
// nats://[user:password@]host[:port] (port 4222 by default), or tls://…
// for TLS; a token goes in the user part (nats://token@host). ctx bounds
// only the first connection. nats.go's asynchronous errors go to the
// logger of transport.WithLogger.
func FromURL(ctx context.Context, u *url.URL, opts ...transport.Option) (*Transport, error) {
	if err := busurl.Scheme(u, "nats", "nats://127.0.0.1:4222", "use nats://host:4222 (or tls://host:4222 for TLS)", "nats", "tls"); err != nil {
		return nil, err
	}
	if err := busurl.Host(u, "nats", "use nats://host:4222"); err != nil {
		return nil, err
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("bellwether/nats: URL %q has a path or query, which NATS does not use; use nats://[user:password@]host:port", redact.URL(u))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bellwether/nats: connecting: %w", err)
	}
	log := transport.Apply(opts).Logger
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
		natsgo.ErrorHandler(asyncError(log)),
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
	return newTransport(nc, true, where, log), nil
}

// asyncError reports the NATS client's asynchronous errors to log, but
// for slow-consumer events: they are expected under overload and
// Transport.Dropped counts what they lost.
func asyncError(log *slog.Logger) natsgo.ErrHandler {
	return func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
		if errors.Is(err, natsgo.ErrSlowConsumer) {
			return
		}
		if sub != nil {
			log.Warn("bellwether/nats: "+err.Error(), "subject", sub.Subject)
			return
		}
		log.Warn("bellwether/nats: " + err.Error())
	}
}

func dialError(where string, err error) error {
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
	return busurl.Unreachable("nats", where, err, "nats-server", "nats-server -a %s -p %s")
}

func newTransport(nc *natsgo.Conn, owned bool, where string, log *slog.Logger) *Transport {
	t := &Transport{
		nc:       nc,
		owned:    owned,
		where:    where,
		msgs:     make(chan *natsgo.Msg, queueLen),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
		subs:     make(map[string]*natsgo.Subscription),
	}
	t.bus = pubsub.New(pubsub.Config{
		Name:           "nats",
		Layer:          (*layer)(t),
		Channel:        subject,
		NewConn:        func(m *pubsub.Member) bellwether.Conn { return &Conn{m} },
		MaxMessageSize: t.maxMessageSize,
		SizeNote:       fmt.Sprintf("(the server's max_payload less the %d bytes of the %s header)", headerOverhead, SenderHeader),
		Health:         t.health,
		Logger:         log,
	})
	t.acks.nc = nc
	t.acks.where = where
	t.acks.ctx, t.stopAcks = context.WithCancel(context.Background())
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
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	return t.bus.Join(ctx, group)
}

// layer is the Transport as a pubsub.Layer.
type layer Transport

// Subscribe subscribes to subj and waits until the server has it.
func (l *layer) Subscribe(ctx context.Context, subj string) error {
	t := (*Transport)(l)
	if st := t.nc.Status(); st != natsgo.CONNECTED {
		return t.notConnected(st)
	}
	sub, err := t.nc.ChanSubscribe(subj, t.msgs)
	if err != nil {
		return fmt.Errorf("bellwether/nats: subscribing to %s: %w", subj, err)
	}
	if err := t.nc.FlushWithContext(ctx); err != nil {
		_ = sub.Unsubscribe()
		if ctx.Err() != nil {
			return fmt.Errorf("bellwether/nats: nats at %s did not confirm the subscription to %s: %w", t.where, subj, ctx.Err())
		}
		return fmt.Errorf("bellwether/nats: nats at %s did not confirm the subscription to %s: %w", t.where, subj, err)
	}
	t.mu.Lock()
	t.subs[subj] = sub
	t.mu.Unlock()
	return nil
}

// Unsubscribe ends the subscription to subj.
func (l *layer) Unsubscribe(subj string) error {
	t := (*Transport)(l)
	t.mu.Lock()
	sub := t.subs[subj]
	delete(t.subs, subj)
	t.mu.Unlock()
	if sub == nil {
		return nil
	}
	return sub.Unsubscribe()
}

// Publish publishes m with its SenderHeader, then waits for a flush that
// covers it (see flusher).
func (l *layer) Publish(ctx context.Context, subj string, m *pubsub.Message) error {
	t := (*Transport)(l)
	if st := t.nc.Status(); st != natsgo.CONNECTED {
		return t.notConnected(st)
	}
	// nats.go copies the message into its write buffer before PublishMsg
	// returns.
	msg := &natsgo.Msg{Subject: subj, Header: natsgo.Header{SenderHeader: []string{m.Sender}}, Data: m.Data}
	if err := t.nc.PublishMsg(msg); err != nil {
		if errors.Is(err, natsgo.ErrReconnectBufExceeded) {
			return t.notConnected(t.nc.Status())
		}
		return fmt.Errorf("bellwether/nats: publishing to %s: %w", subj, err)
	}
	return t.acks.ack(ctx)
}

func (t *Transport) notConnected(st natsgo.Status) error {
	return fmt.Errorf("bellwether/nats: not connected to nats at %s (status %s, last error: %v); the transport reconnects by itself, try again once the server is back", t.where, st, t.nc.LastError())
}

// maxMessageSize is the server's max_payload less the 49 bytes that the
// SenderHeader takes of it (NATS counts headers in max_payload).
func (t *Transport) maxMessageSize() int {
	return int(t.nc.MaxPayload()) - headerOverhead
}

// health is nil while the connection to the server is up, and otherwise
// an error giving the connection's status and last error.
func (t *Transport) health() error {
	if st := t.nc.Status(); st != natsgo.CONNECTED {
		return t.notConnected(st)
	}
	return nil
}

// dispatch hands each received message to the group's members but its
// sender, the Conn named by its SenderHeader if it is one of ours.
func (t *Transport) dispatch() {
	defer close(t.loopDone)
	for {
		select {
		case m := <-t.msgs:
			var from string
			if m.Header != nil {
				from = m.Header.Get(SenderHeader)
			}
			t.bus.Deliver(m.Subject, m.Data, pubsub.Origin{Sender: from})
		case <-t.done:
			return
		}
	}
}

// Dropped reports how many messages for the groups this Transport is in
// now the NATS client discarded because the Transport's receive queue of
// 16384 messages was full. Messages a Conn discards because its own buffer
// was full are counted by Conn.Dropped.
func (t *Transport) Dropped() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	for _, sub := range t.subs {
		if d, err := sub.Dropped(); err == nil && d > 0 {
			n += uint64(d)
		}
	}
	return n
}

// Close closes every Conn, stops the Transport's goroutines and, for a
// Transport made by FromURL, closes the NATS connection.
func (t *Transport) Close() error {
	t.closeOnce.Do(t.close)
	return nil
}

func (t *Transport) close() {
	chs := t.bus.Close()
	if !t.owned {
		for _, ch := range chs {
			_ = (*layer)(t).Unsubscribe(ch)
		}
	}
	close(t.done)
	<-t.loopDone
	t.stopAcks()
	t.acks.wait()
	if t.owned {
		t.nc.Close()
	}
}
