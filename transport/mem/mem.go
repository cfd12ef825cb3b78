// Package mem is an in-process bus for tests: a [Hub] stands for the
// network, each [Transport] on it for one process, and the hub injects
// faults (loss, delay, jitter, duplication, reordering, partitions and
// paused members) from a seeded random source, changeable at run time,
// and makes chosen members' sends fail ([Conn.FailSends]).
//
// Who can join: any code of the process holding the Hub (or, through
// [Named] and [FromURL], its name). Nothing leaves the process.
//
// What is guaranteed: with no faults set, Send hands a copy of the
// message to every other member of the group before it returns, so every
// member hears every message, in one order common to all. Faults change
// that as configured; with Delay alone, messages between two members keep
// their order. Each member buffers at most the hub's buffer size (default
// 1024) of messages it has not read; past that the oldest is dropped and
// counted, so a member that stops reading never blocks a sender and hears
// the newest messages when it reads again. Messages are limited to
// the hub's maximum size, 64 KiB by default.
//
// The hub runs no goroutine of its own: delayed messages are delivered by
// a timer of package time, so a hub works under testing/synctest, in
// virtual time, when it is created and used inside one bubble.
package mem

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/inbox"
	"github.com/bellwether-go/bellwether/internal/minheap"
)

// DefaultMaxMessageSize is the message size limit of a hub made without
// [WithMaxMessageSize].
const DefaultMaxMessageSize = 64 << 10

// DefaultBuffer is the per-member buffer of a hub made without
// [WithBuffer].
const DefaultBuffer = 1024

// DefaultReorderDelay is how long a reordered message is held back when
// [Faults].ReorderDelay is zero.
const DefaultReorderDelay = 10 * time.Millisecond

// Faults describes what the hub does to each copy of a message on its way
// from a sender to one receiver. The zero value is a perfect bus.
type Faults struct {
	// Loss is the probability that a copy is lost.
	Loss float64
	// Duplicate is the probability that a receiver gets a message twice.
	// Each of the two copies then has its own loss, delay and reordering.
	Duplicate float64
	// Delay is added to every copy's delivery.
	Delay time.Duration
	// Jitter adds a further delay drawn uniformly from [0, Jitter).
	Jitter time.Duration
	// Reorder is the probability that a copy is held back by ReorderDelay
	// more, so that copies sent after it overtake it.
	Reorder float64
	// ReorderDelay is the hold-back of a reordered copy; zero means
	// DefaultReorderDelay.
	ReorderDelay time.Duration
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"Loss", f.Loss}, {"Duplicate", f.Duplicate}, {"Reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("bellwether/mem: Faults.%s is %v; a probability is between 0 and 1", p.name, p.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Delay", f.Delay}, {"Jitter", f.Jitter}, {"ReorderDelay", f.ReorderDelay}} {
		if d.v < 0 {
			return fmt.Errorf("bellwether/mem: Faults.%s is %v; it cannot be negative", d.name, d.v)
		}
	}
	return nil
}

// Stats counts what a hub did with messages since it was made.
type Stats struct {
	Sent        uint64 // messages accepted by Send, including those queued by a paused member
	Delivered   uint64 // copies put in a receiver's buffer
	Lost        uint64 // copies lost to Faults.Loss
	Duplicated  uint64 // extra copies made by Faults.Duplicate
	Reordered   uint64 // copies held back by Faults.Reorder
	Partitioned uint64 // copies dropped because sender and receiver were in different partitions
	Overflowed  uint64 // buffered copies (or queued sends of a paused member) dropped, oldest first, to make room
	Failed      uint64 // sends refused because of FailSends; not in Sent
}

// Option configures a Hub.
type Option func(*Hub)

// WithSeed seeds the hub's random source; the default seed is 1. The same
// seed and the same sequence of calls give the same faults.
func WithSeed(seed uint64) Option {
	return func(h *Hub) { h.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// WithFaults sets the hub's initial faults; see [Hub.SetFaults].
func WithFaults(f Faults) Option {
	return func(h *Hub) { h.faults = f }
}

// WithBuffer sets how many unread messages each member buffers, and how
// many sends a paused member queues; past that the oldest is dropped. n
// must be positive.
func WithBuffer(n int) Option {
	return func(h *Hub) { h.buffer = n }
}

// WithMaxMessageSize sets the largest message Send accepts; n must be
// positive.
func WithMaxMessageSize(n int) Option {
	return func(h *Hub) { h.maxSize = n }
}

// Hub is an in-process broadcast bus. Its methods are safe for concurrent
// use.
type Hub struct {
	mu      sync.Mutex
	rng     *rand.Rand
	faults  Faults
	buffer  int
	maxSize int
	groups  map[string][]*Conn     // members in join order
	side    map[*Transport]int     // partition of each transport; absent is 0
	pending minheap.Heap[*pending] // delayed copies
	seq     uint64                 // tie-breaker of pending copies
	timer   *time.Timer            // fires at the first pending copy
	armedAt time.Time              // when timer is set to fire; zero if stopped
	stats   Stats
}

// NewHub returns a hub with the given options. It panics if an option is
// invalid.
func NewHub(opts ...Option) *Hub {
	h := &Hub{
		buffer:  DefaultBuffer,
		maxSize: DefaultMaxMessageSize,
		groups:  map[string][]*Conn{},
	}
	WithSeed(1)(h)
	for _, o := range opts {
		o(h)
	}
	if err := h.faults.validate(); err != nil {
		panic(err)
	}
	if h.buffer <= 0 {
		panic(fmt.Sprintf("bellwether/mem: WithBuffer(%d): the buffer must hold at least one message", h.buffer))
	}
	if h.maxSize <= 0 {
		panic(fmt.Sprintf("bellwether/mem: WithMaxMessageSize(%d): the limit must be positive", h.maxSize))
	}
	return h
}

// NewTransport returns a new Transport on the hub: one process on the bus.
func (h *Hub) NewTransport() *Transport {
	return &Transport{h: h}
}

// SetFaults replaces the hub's faults; copies already delayed keep their
// delivery time. It panics if f has a probability outside [0, 1] or a
// negative duration.
func (h *Hub) SetFaults(f Faults) {
	if err := f.validate(); err != nil {
		panic(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = f
}

// Faults returns the hub's current faults.
func (h *Hub) Faults() Faults {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.faults
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Partition splits the bus: members of transports in different sides no
// longer hear each other, and transports in no side form one more side
// together. Conns of one Transport always hear each other. Copies in
// flight across the new split are dropped when due. A later Partition
// replaces this one; [Hub.Heal] ends it. It panics if a transport is of
// another hub.
func (h *Hub) Partition(sides ...[]*Transport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.side = map[*Transport]int{}
	for i, s := range sides {
		for _, t := range s {
			if t.h != h {
				panic("bellwether/mem: Partition: a transport is of another hub")
			}
			h.side[t] = i + 1
		}
	}
}

// Heal ends any partition: every member hears every other again.
func (h *Hub) Heal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.side = nil
}

// connectedLocked reports whether members of a hear those of b.
func (h *Hub) connectedLocked(a, b *Transport) bool {
	return a == b || h.side[a] == h.side[b]
}

// broadcastLocked sends msg from c to the other members of its group.
func (h *Hub) broadcastLocked(from *Conn, msg []byte) {
	now := time.Now()
	for _, to := range h.groups[from.group] {
		if to != from {
			h.routeLocked(from, to, msg, now)
		}
	}
}

// chance draws a fault of probability p, using the random source only
// when the fault is on.
func (h *Hub) chance(p float64) bool {
	return p > 0 && h.rng.Float64() < p
}

func (h *Hub) routeLocked(from, to *Conn, msg []byte, now time.Time) {
	if from != nil && !h.connectedLocked(from.t, to.t) {
		h.stats.Partitioned++
		return
	}
	f := h.faults
	copies := 1
	if h.chance(f.Duplicate) {
		copies = 2
		h.stats.Duplicated++
	}
	for range copies {
		if h.chance(f.Loss) {
			h.stats.Lost++
			continue
		}
		d := f.Delay
		if f.Jitter > 0 {
			d += time.Duration(h.rng.Int64N(int64(f.Jitter)))
		}
		if h.chance(f.Reorder) {
			h.stats.Reordered++
			if f.ReorderDelay > 0 {
				d += f.ReorderDelay
			} else {
				d += DefaultReorderDelay
			}
		}
		if d <= 0 {
			h.deliverLocked(from, to, msg)
			continue
		}
		h.seq++
		h.pending.Push(&pending{at: now.Add(d), seq: h.seq, from: from, to: to, msg: msg})
		h.armLocked()
	}
}

// deliverLocked puts a copy of msg in to's buffer.
func (h *Hub) deliverLocked(from, to *Conn, msg []byte) {
	if to.closed {
		return
	}
	if from != nil && !h.connectedLocked(from.t, to.t) {
		h.stats.Partitioned++
		return
	}
	// When full, the inbox drops the oldest: a member that catches up
	// hears the newest.
	if to.in.Push(append(make([]byte, 0, len(msg)), msg...)) {
		h.stats.Overflowed++
	}
	h.stats.Delivered++
}

// Inject delivers a copy of msg to every member of group as a stranger on
// the bus would, for tests of what a receiver does with bytes no member
// sent: at once, through no fault or partition and with no size limit,
// into each member's buffer like any message (a paused member reads it
// when it resumes). It is counted in Stats.Delivered, not in Sent.
func (h *Hub) Inject(group string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, to := range h.groups[group] {
		h.deliverLocked(nil, to, msg)
	}
}

// Members returns the open members of group, in the order they joined.
func (h *Hub) Members(group string) []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.groups[group])
}

// armLocked sets the timer for the first pending copy.
func (h *Hub) armLocked() {
	if len(h.pending) == 0 {
		if h.timer != nil && !h.armedAt.IsZero() {
			h.timer.Stop()
		}
		h.armedAt = time.Time{}
		return
	}
	next := h.pending[0].at
	if !h.armedAt.IsZero() && !next.Before(h.armedAt) {
		return // the timer fires no later than needed; fire re-arms it
	}
	h.armedAt = next
	if h.timer == nil {
		h.timer = time.AfterFunc(time.Until(next), h.fire)
	} else {
		h.timer.Reset(time.Until(next))
	}
}

// fire delivers the copies that are due, in order of due time and then of
// sending, and re-arms the timer.
func (h *Hub) fire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for len(h.pending) > 0 && !h.pending[0].at.After(now) {
		p := h.pending.Pop()
		h.deliverLocked(p.from, p.to, p.msg)
	}
	h.armedAt = time.Time{}
	h.armLocked()
}

// dropPendingLocked forgets the delayed copies to members of t.
func (h *Hub) dropPendingLocked(t *Transport) {
	kept := h.pending[:0]
	for _, p := range h.pending {
		if p.to.t != t {
			kept = append(kept, p)
		}
	}
	clear(h.pending[len(kept):])
	h.pending = kept
	h.pending.Init()
	h.armLocked()
}

type pending struct {
	at       time.Time
	seq      uint64
	from, to *Conn
	msg      []byte
}

// Less orders copies by due time, then by sending.
func (p *pending) Less(q *pending) bool {
	if !p.at.Equal(q.at) {
		return p.at.Before(q.at)
	}
	return p.seq < q.seq
}

var _ bellwether.Transport = (*Transport)(nil)

// Transport is one process on a Hub. Pause and Resume freeze and thaw
// all its members at once.
type Transport struct {
	h       *Hub
	conns   []*Conn // open members, under h.mu
	closed  bool
	paused  bool
	sendErr error // set by FailSends
	joinErr error // set by FailJoins
}

// Hub returns the hub the transport is on.
func (t *Transport) Hub() *Hub { return t.h }

// Join makes a new member of group. It returns an error if group is not a
// valid group name (see bellwether.ValidateGroup), ErrClosed after Close,
// the FailJoins error while one is set,
// or ctx.Err() if ctx is done.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	if err := bellwether.ValidateGroup(group); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("bellwether/mem: join %q: %w", group, bellwether.ErrClosed)
	}
	if t.joinErr != nil {
		return nil, fmt.Errorf("bellwether/mem: join %q: %w", group, t.joinErr)
	}
	c := &Conn{t: t, group: group, in: inbox.New(h.buffer)}
	c.in.Hold(c.pausedLocked())
	h.groups[group] = append(h.groups[group], c)
	t.conns = append(t.conns, c)
	return c, nil
}

// Close closes every Conn of t; their undelivered messages are lost.
// Later calls return nil.
func (t *Transport) Close() error {
	h := t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	for len(t.conns) > 0 {
		t.conns[0].closeLocked()
	}
	h.dropPendingLocked(t)
	return nil
}

// Pause freezes the process: its members' Send calls queue their messages
// instead of sending them, and their Recv calls wait, while messages to
// them keep arriving in their buffers. Members that join while it is
// paused are paused too.
func (t *Transport) Pause() {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.paused = true
	for _, c := range t.conns {
		c.in.Hold(true)
	}
}

// FailSends makes every Send of the transport's members, present and
// future, fail with err until FailSends(nil); see [Conn.FailSends]. A
// member's own FailSends error, if set, comes first.
func (t *Transport) FailSends(err error) {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.sendErr = err
}

// FailJoins makes every Join of the transport fail with an error wrapping
// err, as a bus that cannot be reached does, until FailJoins(nil).
func (t *Transport) FailJoins(err error) {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.joinErr = err
}

// Resume ends Pause: each member not paused on its own sends the messages
// it queued, in order, and its Recv calls go on.
func (t *Transport) Resume() {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	t.paused = false
	for _, c := range t.conns {
		c.resumedLocked()
	}
}

var (
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

// Conn is one member of a group on a Hub.
type Conn struct {
	t       *Transport
	group   string
	in      *inbox.Inbox // delivered, not yet read; held while paused
	outbox  [][]byte     // sent while paused
	paused  bool
	closed  bool
	sendErr error // set by FailSends
}

// Group returns the member's group.
func (c *Conn) Group() string { return c.group }

// MaxMessageSize returns the hub's message size limit.
func (c *Conn) MaxMessageSize() int { return c.t.h.maxSize }

// Send broadcasts a copy of msg to the other members of the group,
// through the hub's faults; while the member is paused it queues it
// instead. It returns ctx.Err() if ctx is already done, and an error
// wrapping the FailSends error, sending nothing, while one is set.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	h := c.t.h
	if len(msg) > h.maxSize {
		return fmt.Errorf("bellwether/mem: message of %d bytes is over the limit of %d: %w", len(msg), h.maxSize, bellwether.ErrMessageTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := append(make([]byte, 0, len(msg)), msg...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.closed {
		return fmt.Errorf("bellwether/mem: send: %w", bellwether.ErrClosed)
	}
	if err := c.sendErrLocked(); err != nil {
		h.stats.Failed++
		return fmt.Errorf("bellwether/mem: send: %w", err)
	}
	h.stats.Sent++
	if c.pausedLocked() {
		if len(c.outbox) >= h.buffer {
			h.stats.Overflowed++
			c.outbox[0] = nil
			c.outbox = c.outbox[1:]
		}
		c.outbox = append(c.outbox, m)
		return nil
	}
	h.broadcastLocked(c, m)
	return nil
}

// Recv returns the next message in the member's buffer, waiting for one
// while the buffer is empty or the member is paused.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	msg, err := c.in.Pop(ctx)
	if errors.Is(err, bellwether.ErrClosed) {
		return nil, fmt.Errorf("bellwether/mem: recv: %w", err)
	}
	return msg, err
}

// Close leaves the group; unread and queued messages are lost. Later
// calls return nil.
func (c *Conn) Close() error {
	h := c.t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	c.closeLocked()
	return nil
}

// Pause freezes this member alone; see [Transport.Pause].
func (c *Conn) Pause() {
	c.t.h.mu.Lock()
	defer c.t.h.mu.Unlock()
	c.paused = true
	c.in.Hold(true)
}

// Resume ends this member's own Pause; it stays paused while its
// Transport is.
func (c *Conn) Resume() {
	c.t.h.mu.Lock()
	defer c.t.h.mu.Unlock()
	c.paused = false
	c.resumedLocked()
}

// Dropped returns how many messages to this member were dropped, oldest
// first, because its buffer was full.
func (c *Conn) Dropped() uint64 { return c.in.Dropped() }

// FailSends makes every Send of this member fail with an error wrapping
// err, sending nothing (counted in [Stats].Failed), until FailSends(nil);
// [Conn.Health] reports err meanwhile. The member still hears the others,
// as a member whose own link to the bus is down for sending does.
func (c *Conn) FailSends(err error) {
	c.t.h.mu.Lock()
	defer c.t.h.mu.Unlock()
	c.sendErr = err
}

// Health returns ErrClosed after Close, the error set by FailSends (the
// member's own, else its Transport's) while one is set, and nil
// otherwise, so that an Elector on the hub reports a failing member as it
// would one on a real bus.
func (c *Conn) Health() error {
	c.t.h.mu.Lock()
	defer c.t.h.mu.Unlock()
	if c.closed {
		return fmt.Errorf("bellwether/mem: %w", bellwether.ErrClosed)
	}
	return c.sendErrLocked()
}

func (c *Conn) sendErrLocked() error {
	if c.sendErr != nil {
		return c.sendErr
	}
	return c.t.sendErr
}

func (c *Conn) pausedLocked() bool { return c.paused || c.t.paused }

// resumedLocked flushes the sends queued while paused, if no longer paused.
func (c *Conn) resumedLocked() {
	if c.closed || c.pausedLocked() {
		return
	}
	out := c.outbox
	c.outbox = nil
	for _, m := range out {
		c.t.h.broadcastLocked(c, m)
	}
	c.in.Hold(false)
}

func (c *Conn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	c.in.Close()
	h := c.t.h
	members := h.groups[c.group]
	for i, m := range members {
		if m == c {
			members = append(members[:i:i], members[i+1:]...)
			break
		}
	}
	if len(members) == 0 {
		delete(h.groups, c.group)
	} else {
		h.groups[c.group] = members
	}
	for i, m := range c.t.conns {
		if m == c {
			c.t.conns = append(c.t.conns[:i:i], c.t.conns[i+1:]...)
			break
		}
	}
	c.outbox = nil
}
