// Package pubsub is the plumbing that bellwether's server buses (nats,
// redis, postgres, mqtt) share: the registry of groups, the Join in which
// the first member subscribes the group's channel, the fan-out of each
// message to the group's members but the one whose echo it is, the
// unsubscribe when the last member leaves, and each member's receive
// queue (internal/inbox).
//
// A bus supplies only a Layer, three calls on its own connection
// (Subscribe, Unsubscribe, Publish), and calls Bus.Deliver with every
// message that arrives, with the origin the bus reports, so that echo
// suppression is decided here, once for every bus.
package pubsub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/echoes"
	"github.com/bellwether-go/bellwether/internal/inbox"
)

// Layer is what a bus supplies: its calls on its own connection. Each
// may be called from several goroutines at once, but never two on the
// same channel at once: Bus orders them per channel, and never
// subscribes a channel twice without an Unsubscribe between.
type Layer interface {
	// Subscribe makes the bus deliver channel's messages to Bus.Deliver
	// from now on, and returns once the server confirmed it, or with an
	// error (ctx's when ctx ended first). After an error the channel is
	// not subscribed, or the layer unsubscribes it by itself.
	Subscribe(ctx context.Context, channel string) error
	// Unsubscribe stops the channel's deliveries. It may return before
	// the server confirms, but a Subscribe of the same channel that
	// follows it must take effect after it. Its error is only logged: the
	// member has left either way.
	Unsubscribe(channel string) error
	// Publish sends m on channel and returns nil only once the bus has
	// acknowledged it (each bus's package doc says how), or an error:
	// one wrapping ctx.Err() when ctx ended first.
	Publish(ctx context.Context, channel string, m *Message) error
}

// Origin is what a bus reports about who sent a delivered message.
type Origin struct {
	// Sender is the member id the message carries (Message.Sender, on a
	// bus that carries it, as a NATS header or an MQTT user property);
	// "" when the message carries none (a foreign client's).
	Sender string
	// Tag names the connection that sent it, on a bus that says so
	// (PostgreSQL's backend PID); 0 otherwise.
	Tag uint32
}

// Message is one message a member publishes.
type Message struct {
	// Sender is the publishing member's id: a bus that can carry it
	// beside the payload does, and reports it in Origin.Sender.
	Sender string
	// Data is the payload. The layer must not keep it after Publish.
	Data []byte

	rec *echoes.Record // nil unless the bus recognises echoes by content
	sum echoes.Sum
}

// Sending notes, before the message can come back, that it goes out on
// the connection tag (0 on a bus that names no connection). A layer of a
// bus configured with EchoByContent calls it before each attempt.
func (m *Message) Sending(tag uint32) {
	if m.rec != nil {
		m.rec.Add(m.sum, tag, time.Now())
	}
}

// NotSent withdraws a Sending(tag) whose attempt surely did not reach the
// server (it failed before anything was written).
func (m *Message) NotSent(tag uint32) {
	if m.rec != nil {
		m.rec.Forget(m.sum, tag)
	}
}

// Change is a subscription change that a bus's connection carries out in
// the order they were queued: a SUBSCRIBE or LISTEN (Subscribe true), or
// its undoing.
type Change struct {
	Subscribe bool
	Channel   string
	Result    chan error // capacity 1; nil when nobody waits
}

// Done reports the change's outcome to whoever waits for it.
func (c Change) Done(err error) {
	if c.Result != nil {
		c.Result <- err
	}
}

// Queue holds the subscription changes a bus's connection has yet to
// carry out, in the order they were queued, for a layer whose connection
// takes them on a goroutine of its own. The zero Queue is empty; it must
// not be copied.
type Queue struct {
	// Wake, if set, is called after each Push, outside the queue's lock,
	// to have the changes carried out.
	Wake func()

	mu   sync.Mutex
	list []Change
}

// Push queues c and calls Wake.
func (q *Queue) Push(c Change) {
	q.mu.Lock()
	q.list = append(q.list, c)
	q.mu.Unlock()
	if q.Wake != nil {
		q.Wake()
	}
}

// Subscribe queues a subscription to channel and returns where its
// outcome will come.
func (q *Queue) Subscribe(channel string) <-chan error {
	result := make(chan error, 1)
	q.Push(Change{Subscribe: true, Channel: channel, Result: result})
	return result
}

// Unsubscribe queues the undoing of channel's subscription; nobody waits
// for it.
func (q *Queue) Unsubscribe(channel string) {
	q.Push(Change{Channel: channel})
}

// Next removes and returns the first change; ok is false when there is
// none.
func (q *Queue) Next() (c Change, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) == 0 {
		return Change{}, false
	}
	c = q.list[0]
	q.list = slices.Delete(q.list, 0, 1)
	return c, true
}

// Take removes and returns every change.
func (q *Queue) Take() []Change {
	q.mu.Lock()
	defer q.mu.Unlock()
	cs := q.list
	q.list = nil
	return cs
}

// Requeue puts cs, taken and not carried out, back before the changes
// queued since.
func (q *Queue) Requeue(cs []Change) {
	q.mu.Lock()
	q.list = append(cs, q.list...)
	q.mu.Unlock()
}

// Len returns how many changes wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.list)
}

// Config describes a bus to New.
type Config struct {
	// Name is the bus's name in errors: "bellwether/" + Name + ": ...".
	Name string
	// Layer is the bus's connection.
	Layer Layer
	// RecvBuffer is how many messages each member's queue holds; the
	// package's RecvBuffer when zero.
	RecvBuffer int
	// EchoByContent makes a member recognise its echo by the message's
	// digest (and Origin.Tag), for a bus that carries no sender id: the
	// member remembers EchoRecord messages for EchoWindow (internal/echoes),
	// the package's EchoRecord and EchoWindow when zero. Otherwise a
	// message is a member's echo when Origin.Sender is its id.
	EchoByContent bool
	EchoRecord    int
	EchoWindow    time.Duration
	// Channel names the bus's channel (subject, topic) of a valid group
	// name.
	Channel func(group string) string
	// NewConn wraps a new member in the bus's Conn type.
	NewConn func(*Member) bellwether.Conn
	// MaxMessageSize is the largest message a member sends; SizeNote, if
	// set, explains it in Send's error, as "(a notification payload is
	// under 8000 bytes)".
	MaxMessageSize func() int
	SizeNote       string
	// Check, if set, vets a message that is not too large before Send
	// publishes it, and returns the error Send returns.
	Check func(msg []byte) error
	// Health, if set, reports the connection's health for Member.Health.
	Health func() error
	// JoinTimeout bounds a subscription when Join's ctx has no deadline,
	// and AckTimeout the wait for a Send's acknowledgement; both are 10
	// seconds when zero.
	JoinTimeout time.Duration
	AckTimeout  time.Duration
	// Logger receives the bus's warnings (a failed unsubscribe); nil
	// discards them.
	Logger *slog.Logger
}

// Bus is the group registry of one Transport.
type Bus struct {
	cfg    Config
	prefix string // "bellwether/name: "
	log    *slog.Logger
	ctx    context.Context // canceled by Close
	stop   context.CancelFunc

	mu     sync.RWMutex
	closed bool
	groups map[string]*group // by channel
}

type group struct {
	channel string
	members []*Member
	state   state
	// changed is closed whenever the state leaves subscribing or
	// unsubscribing, then nil: it is made when a joiner waits, so that a
	// group at rest holds none (heap, per group).
	changed chan struct{}
	err     error // the last failed Subscribe, for the joiners it concerns
	// gen counts failed attempts, so a waiter knows one ended.
	gen int
	// ctxFailed reports that the last attempt failed because its
	// joiner's ctx ended: another joiner then tries under its own.
	ctxFailed bool
}

type state int

const (
	unsubscribed state = iota
	subscribing
	subscribed
	unsubscribing
)

// New returns an empty Bus.
func New(cfg Config) *Bus {
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = 10 * time.Second
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = 10 * time.Second
	}
	if cfg.RecvBuffer == 0 {
		cfg.RecvBuffer = RecvBuffer
	}
	if cfg.EchoRecord == 0 {
		cfg.EchoRecord = EchoRecord
	}
	if cfg.EchoWindow == 0 {
		cfg.EchoWindow = EchoWindow
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{cfg: cfg, prefix: "bellwether/" + cfg.Name + ": ", log: log, groups: make(map[string]*group)}
	b.ctx, b.stop = context.WithCancel(context.Background())
	return b
}

// Errorf formats an error with the bus's prefix, "bellwether/NAME: ".
func (b *Bus) Errorf(format string, args ...any) error {
	return fmt.Errorf(b.prefix+format, args...)
}

// Join makes a new member of group, a valid group name (else the error
// is ValidateGroup's), and returns it as the bus's Conn: see join.
func (b *Bus) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	if err := bellwether.ValidateGroup(group); err != nil {
		return nil, err
	}
	m, err := b.join(ctx, b.cfg.Channel(group))
	if err != nil {
		return nil, err
	}
	return b.cfg.NewConn(m), nil
}

// join makes a new member of the group whose channel is channel. The
// first member subscribes the channel, under its own ctx; a member that
// joins meanwhile waits for that subscription, and makes it itself, under
// its own ctx, if the first member's ctx ended first. Join returns once
// the channel is subscribed, so that every message published after it
// returns reaches the member.
func (b *Bus) join(ctx context.Context, channel string) (*Member, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, b.Errorf("making a member id: %w", err)
	}
	m := &Member{b: b, id: hex.EncodeToString(id[:]), in: inbox.New(b.cfg.RecvBuffer)}
	if b.cfg.EchoByContent {
		m.sent = echoes.New(b.cfg.EchoRecord, b.cfg.EchoWindow)
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bellwether.ErrClosed
	}
	g := b.groups[channel]
	if g == nil {
		g = &group{channel: channel}
		b.groups[channel] = g
	}
	m.g = g
	g.members = append(g.members, m)
	seen := g.gen
	for {
		switch g.state {
		case subscribed:
			b.mu.Unlock()
			return m, nil
		case unsubscribed:
			if g.gen != seen && !g.ctxFailed {
				// The attempt this member waited for failed for a reason
				// that is not its joiner's ctx: it is ours too.
				err := g.err
				b.mu.Unlock()
				m.Close()
				return nil, err
			}
			g.state = subscribing
			b.mu.Unlock()
			err := b.subscribe(ctx, channel)
			b.mu.Lock()
			if err == nil && b.closed {
				b.mu.Unlock()
				b.unsubscribe(channel) // Close missed it
				m.Close()
				return nil, bellwether.ErrClosed
			}
			if err == nil {
				g.state = subscribed
			} else {
				g.state = unsubscribed
				g.err, g.ctxFailed = err, ctx.Err() != nil
				g.gen++
			}
			g.settle()
			if err != nil {
				b.mu.Unlock()
				m.Close()
				return nil, err
			}
			b.mu.Unlock()
			return m, nil
		default: // subscribing or unsubscribing: wait for the outcome
			if g.changed == nil {
				g.changed = make(chan struct{})
			}
			changed := g.changed
			b.mu.Unlock()
			select {
			case <-changed:
			case <-ctx.Done():
				m.Close()
				return nil, b.Errorf("joining %s: %w", channel, ctx.Err())
			case <-b.ctx.Done():
				m.Close()
				return nil, bellwether.ErrClosed
			}
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				m.Close()
				return nil, bellwether.ErrClosed
			}
			// Unsubscribed again with gen unchanged: an Unsubscribe
			// ended, and the loop subscribes afresh.
		}
	}
}

// subscribe runs the layer's Subscribe under ctx, bounded by JoinTimeout
// when ctx has no deadline, and ended by Close.
func (b *Bus) subscribe(ctx context.Context, channel string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.JoinTimeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()
	err := b.cfg.Layer.Subscribe(ctx, channel)
	if err != nil && b.ctx.Err() != nil {
		return bellwether.ErrClosed
	}
	return err
}

// unsubscribe has the layer unsubscribe channel, logging a failure.
func (b *Bus) unsubscribe(channel string) {
	if err := b.cfg.Layer.Unsubscribe(channel); err != nil {
		b.log.Warn(b.prefix+"unsubscribing failed; the server may go on sending the channel's messages, which are dropped", "channel", channel, "err", err)
	}
}

// Deliver hands data, which arrived on channel from origin, to every
// member of the channel's group but the one whose echo it is. Each member
// gets a copy: the caller keeps data.
func (b *Bus) Deliver(channel string, data []byte, from Origin) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	g := b.groups[channel]
	if g == nil {
		return
	}
	var sum echoes.Sum
	now := time.Now()
	if b.cfg.EchoByContent {
		sum = echoes.SumOf(data)
	}
	for _, m := range g.members {
		if b.cfg.EchoByContent {
			if m.sent.Take(sum, from.Tag, now) {
				continue
			}
		} else if from.Sender != "" && from.Sender == m.id {
			continue
		}
		msg := make([]byte, len(data))
		copy(msg, data)
		m.in.Push(msg)
	}
}

// Channels returns the channels subscribed now, for a layer that
// subscribes again after reconnecting.
func (b *Bus) Channels() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var chs []string
	for ch, g := range b.groups {
		if g.state == subscribed || g.state == subscribing {
			chs = append(chs, ch)
		}
	}
	return chs
}

// Close closes every member, ends the Joins and Sends under way and
// returns the channels that were subscribed. Later calls return nil.
func (b *Bus) Close() []string {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var members []*Member
	var chs []string
	for ch, g := range b.groups {
		members = append(members, g.members...)
		if g.state == subscribed {
			chs = append(chs, ch)
		}
	}
	b.groups = map[string]*group{}
	b.mu.Unlock()
	b.stop()
	for _, m := range members {
		m.in.Close()
	}
	return chs
}

// Member is one member of a group: a bus's Conn embeds it for Send,
// Recv, Health, Dropped and Close, which makes that Conn a
// bellwether.HealthChecker. (A bus's Transport is checked where it
// registers, by transport.Opener.)
type Member struct {
	b    *Bus
	g    *group
	id   string
	in   *inbox.Inbox
	sent *echoes.Record // EchoByContent only
}

var (
	_ bellwether.Conn          = (*Member)(nil)
	_ bellwether.HealthChecker = (*Member)(nil)
)

// ID returns the member's random id, which a bus that carries a sender
// id sends with its messages.
func (m *Member) ID() string { return m.id }

// Send broadcasts msg to the group's other members, returning nil only
// once the bus acknowledged it (the package doc of each bus says what
// that means there). It returns ErrClosed after Close and an error
// wrapping ctx.Err() if ctx ends first; with no deadline in ctx it waits
// at most AckTimeout.
func (m *Member) Send(ctx context.Context, msg []byte) error {
	if m.in.IsClosed() {
		return bellwether.ErrClosed
	}
	b := m.b
	if limit := b.cfg.MaxMessageSize(); len(msg) > limit {
		note := ""
		if b.cfg.SizeNote != "" {
			note = " " + b.cfg.SizeNote
		}
		return b.Errorf("message is %d bytes; the limit is %d%s: %w", len(msg), limit, note, bellwether.ErrMessageTooLarge)
	}
	if b.cfg.Check != nil {
		if err := b.cfg.Check(msg); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return b.Errorf("sending on %s: %w", m.g.channel, err)
	}
	out := &Message{Sender: m.id, Data: msg, rec: m.sent}
	if m.sent != nil {
		out.sum = echoes.SumOf(msg)
	}
	// Exactly one child of ctx, released by cancel: a child made and
	// then replaced would stay registered with a cancellable ctx that
	// has no deadline for as long as that ctx lives.
	var sctx context.Context
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); ok {
		sctx, cancel = context.WithCancel(ctx)
	} else {
		sctx, cancel = context.WithTimeout(ctx, b.cfg.AckTimeout)
	}
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()
	err := b.cfg.Layer.Publish(sctx, m.g.channel, out)
	if err == nil {
		return nil
	}
	if m.in.IsClosed() || b.ctx.Err() != nil {
		return bellwether.ErrClosed
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return b.Errorf("sending on %s: %w (%v)", m.g.channel, ctx.Err(), err)
	}
	return err
}

// Recv returns the next message another member sent.
func (m *Member) Recv(ctx context.Context) ([]byte, error) {
	return m.in.Pop(ctx)
}

// MaxMessageSize is the largest message Send accepts.
func (m *Member) MaxMessageSize() int { return m.b.cfg.MaxMessageSize() }

// Health returns nil while the bus's connection works, ErrClosed after
// Close, and otherwise what is wrong with the connection.
func (m *Member) Health() error {
	if m.in.IsClosed() {
		return bellwether.ErrClosed
	}
	if m.b.cfg.Health != nil {
		return m.b.cfg.Health()
	}
	return nil
}

// Dropped reports how many received messages this member discarded
// because its queue was full.
func (m *Member) Dropped() uint64 { return m.in.Dropped() }

// Close leaves the group; the group's channel is unsubscribed when its
// last member here leaves. Later calls return nil.
func (m *Member) Close() error {
	if !m.in.Close() {
		return nil
	}
	b, g := m.b, m.g
	b.mu.Lock()
	if i := slices.Index(g.members, m); i >= 0 {
		g.members = slices.Delete(g.members, i, i+1)
	}
	if len(g.members) > 0 || b.groups[g.channel] != g {
		b.mu.Unlock()
		return nil
	}
	if g.state != subscribed {
		if g.state == unsubscribed {
			delete(b.groups, g.channel)
		}
		b.mu.Unlock()
		return nil
	}
	g.state = unsubscribing
	b.mu.Unlock()

	b.unsubscribe(g.channel)

	b.mu.Lock()
	g.state = unsubscribed
	if len(g.members) == 0 && b.groups[g.channel] == g {
		delete(b.groups, g.channel)
	}
	g.settle()
	b.mu.Unlock()
	return nil
}

// settle wakes the joiners waiting for the state to leave subscribing or
// unsubscribing; b.mu is held.
func (g *group) settle() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

// RecvBuffer is how many received messages a member of a server bus
// holds for Recv. When a message arrives and the buffer is full, the
// oldest buffered message is dropped (and counted by Dropped), so a slow
// reader sees the newest heartbeats and never slows the group.
const RecvBuffer = 256

// EchoRecord and EchoWindow bound how a member of a bus that recognises
// echoes by content (Config.EchoByContent) does it: it remembers the
// digests of the last EchoRecord messages it sent, each for EchoWindow.
const (
	EchoRecord = 256
	EchoWindow = 10 * time.Second
)
