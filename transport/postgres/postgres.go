package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/echoes"
	"github.com/bellwether-go/bellwether/internal/inbox"
	"github.com/bellwether-go/bellwether/transport"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	_ bellwether.Transport     = (*Transport)(nil)
	_ bellwether.Conn          = (*Conn)(nil)
	_ bellwether.HealthChecker = (*Conn)(nil)
)

// ErrNotText is wrapped by Send for a message that is not UTF-8 text or
// holds a NUL byte: a notification payload is text.
var ErrNotText = errors.New("bellwether/postgres: a message must be UTF-8 text without NUL bytes")

const (
	// MaxMessageSize is the largest message a Conn sends: the longest
	// notification payload PostgreSQL takes (fewer than 8000 bytes).
	MaxMessageSize = 7999

	// EchoWindow and EchoRecord bound how a Conn recognises its own
	// messages, which PostgreSQL delivers back to the Transport's
	// listening session: a Conn remembers the digests of the last
	// EchoRecord messages it sent, each for EchoWindow, with the backend
	// PID of the session that sent them; a notification from that PID
	// equal to one of them is its echo.
	EchoWindow = 10 * time.Second
	EchoRecord = 256

	channelPrefix  = "bellwether_"
	maxChannelName = 63

	// opTimeout bounds one statement (LISTEN, pg_notify, a ping) and one
	// connection attempt when the caller's ctx has no earlier deadline.
	opTimeout = 10 * time.Second
	// healthInterval is how long the listening connection may stay idle
	// before it is pinged.
	healthInterval = 30 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// Transport is a bellwether.Transport over one PostgreSQL database.
// Create it with New or FromURL.
type Transport struct {
	listenCfg *pgconn.Config // with OnNotification
	sendCfg   *pgconn.Config
	where     string

	sendSem  chan struct{} // capacity 1: held while using sendConn
	sendConn *pgconn.PgConn

	ctx      context.Context // canceled by Close
	stop     context.CancelFunc
	done     <-chan struct{} // ctx.Done()
	loopDone chan struct{}
	poke     chan struct{} // capacity 1: wakes the listener from its backoff

	mu         sync.RWMutex
	closed     bool
	groups     map[string]*group // by group name
	channels   map[string]*group // by channel name
	reqs       []listenReq
	waitCancel context.CancelFunc // ends the listener's wait for notifications
	lastErr    error              // why the listener is not connected, or nil
}

type listenReq struct {
	listen  bool
	channel string
	result  chan error // capacity 1; nil when nobody waits
}

type group struct {
	name    string
	channel string
	conns   []*Conn
	ready   chan struct{} // closed when LISTEN is done or failed
	err     error         // why it failed; set before ready is closed
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	t    *Transport
	g    *group
	sent *echoes.Record
	in   *inbox.Inbox
}

// FromURL connects to the PostgreSQL database at u and returns a
// Transport. u is postgres://[user[:password]@]host[:port]/database
// (postgresql:// too) with libpq's query parameters, such as
// sslmode=disable; unset parts come from the PG* environment variables
// and libpq's defaults. ctx bounds only the first connection.
func FromURL(ctx context.Context, u *url.URL) (*Transport, error) {
	if u == nil {
		return nil, errors.New("bellwether/postgres: FromURL needs a URL like postgres://user@127.0.0.1:5432/dbname?sslmode=disable; got nil")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("bellwether/postgres: URL %q has scheme %q; use postgres://user:password@host:5432/dbname?sslmode=disable", u.Redacted(), u.Scheme)
	}
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("bellwether/postgres: URL %q: %v; use postgres://user:password@host:5432/dbname?sslmode=disable", u.Redacted(), redact(err, u))
	}
	return New(ctx, cfg)
}

// redact hides u's password in err's text.
func redact(err error, u *url.URL) string {
	msg := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// New connects with cfg, which must come from pgconn.ParseConfig, and
// returns a Transport. The Transport copies cfg and keeps its own two
// connections; ctx bounds only the first ones.
func New(ctx context.Context, cfg *pgconn.Config) (*Transport, error) {
	if cfg == nil {
		return nil, errors.New("bellwether/postgres: New needs a *pgconn.Config from pgconn.ParseConfig; got nil")
	}
	t := &Transport{
		sendCfg:  cfg.Copy(),
		where:    fmt.Sprintf("%s:%d (user %s, database %s)", cfg.Host, cfg.Port, cfg.User, cfg.Database),
		sendSem:  make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		poke:     make(chan struct{}, 1),
		groups:   make(map[string]*group),
		channels: make(map[string]*group),
	}
	if cfg.Host != "" && cfg.Host[0] == '/' {
		t.where = fmt.Sprintf("%s/.s.PGSQL.%d (user %s, database %s)", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	}
	if t.sendCfg.RuntimeParams == nil {
		t.sendCfg.RuntimeParams = map[string]string{}
	}
	if t.sendCfg.RuntimeParams["application_name"] == "" {
		t.sendCfg.RuntimeParams["application_name"] = "bellwether"
	}
	t.listenCfg = t.sendCfg.Copy()
	t.listenCfg.OnNotification = t.onNotification

	listener, err := t.connect(ctx, t.listenCfg)
	if err != nil {
		return nil, err
	}
	sender, err := t.connect(ctx, t.sendCfg)
	if err != nil {
		closeConn(listener)
		return nil, err
	}
	t.sendConn = sender
	t.ctx, t.stop = context.WithCancel(context.Background())
	t.done = t.ctx.Done()
	go t.listen(listener)
	return t, nil
}

func (t *Transport) connect(ctx context.Context, cfg *pgconn.Config) (*pgconn.PgConn, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, t.connectError(err)
	}
	return conn, nil
}

func (t *Transport) connectError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "3D000":
			return fmt.Errorf("bellwether/postgres: cannot connect to postgres at %s: %w; create the database (createdb %s) or name another in the URL", t.where, err, t.sendCfg.Database)
		case strings.HasPrefix(pgErr.Code, "28"):
			return fmt.Errorf("bellwether/postgres: postgres at %s refused the login: %w; put the right user and password in the URL (postgres://user:password@host:port/db), or let the user in through pg_hba.conf", t.where, err)
		}
		return fmt.Errorf("bellwether/postgres: cannot connect to postgres at %s: %w", t.where, err)
	}
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || strings.Contains(msg, "connection refused"):
		return fmt.Errorf("bellwether/postgres: cannot reach postgres at %s: %w; is PostgreSQL running and listening there? start it (on Debian: pg_ctlcluster <version> main start; elsewhere: pg_ctl -D <datadir> start), or fix the URL", t.where, err)
	case strings.Contains(msg, "refused TLS") || strings.Contains(msg, "tls:"):
		return fmt.Errorf("bellwether/postgres: cannot connect to postgres at %s: %w; if the server has no TLS, add sslmode=disable to the URL", t.where, err)
	}
	return fmt.Errorf("bellwether/postgres: cannot connect to postgres at %s: %w; check that PostgreSQL runs there and that the URL is right", t.where, err)
}

func closeConn(c *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// channelName returns the notification channel of a valid group name.
func channelName(group string) string {
	name := channelPrefix + group
	if len(name) <= maxChannelName {
		return name
	}
	sum := sha256.Sum256([]byte(group))
	const keep = maxChannelName - len(channelPrefix) - 1 - 24
	return channelPrefix + group[:keep] + "_" + hex.EncodeToString(sum[:12])
}

// quoteIdent quotes a channel name, which holds no '"', for LISTEN.
func quoteIdent(s string) string {
	return `"` + s + `"`
}

// listen owns the listening connection: it carries out LISTEN and
// UNLISTEN requests, waits for notifications and reconnects.
func (t *Transport) listen(conn *pgconn.PgConn) {
	defer close(t.loopDone)
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	backoff := time.Duration(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-t.done:
			return
		default:
		}
		if conn == nil || conn.IsClosed() {
			if conn != nil {
				t.mu.Lock()
				if t.lastErr == nil {
					t.lastErr = errors.New("the listening connection closed")
				}
				t.mu.Unlock()
				closeConn(conn)
				conn = nil
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			timer.Reset(backoff)
		pause:
			for {
				t.failRequests()
				select {
				case <-t.done:
					return
				case <-t.poke:
				case <-timer.C:
					break pause
				}
			}
			var err error
			conn, err = t.reconnect()
			if err != nil {
				t.setLastErr(err)
				continue
			}
			t.setLastErr(nil)
			backoff = 0
		}

		t.runRequests(conn)
		if conn.IsClosed() {
			continue
		}

		ctx, cancel := context.WithTimeout(context.Background(), healthInterval)
		t.mu.Lock()
		if len(t.reqs) > 0 || t.closed {
			t.mu.Unlock()
			cancel()
			continue
		}
		t.waitCancel = cancel
		t.mu.Unlock()
		err := conn.WaitForNotification(ctx)
		t.mu.Lock()
		t.waitCancel = nil
		t.mu.Unlock()
		idle := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil && idle && !conn.IsClosed() {
			if err := t.exec(conn, "-- bellwether ping"); err != nil {
				t.setLastErr(err)
				closeConn(conn)
			}
		} else if err != nil && conn.IsClosed() {
			t.setLastErr(err)
		}
	}
}

// reconnect dials the listening connection again and LISTENs on every
// group's channel.
func (t *Transport) reconnect() (*pgconn.PgConn, error) {
	conn, err := t.connect(t.ctx, t.listenCfg)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	channels := make([]string, 0, len(t.channels))
	for ch := range t.channels {
		channels = append(channels, ch)
	}
	t.mu.RUnlock()
	for _, ch := range channels {
		if err := t.exec(conn, "LISTEN "+quoteIdent(ch)); err != nil {
			closeConn(conn)
			return nil, fmt.Errorf("bellwether/postgres: LISTEN again after reconnecting to %s: %w", t.where, err)
		}
	}
	return conn, nil
}

func (t *Transport) exec(conn *pgconn.PgConn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil && !conn.IsClosed() {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			closeConn(conn) // a timeout leaves the protocol state unknown
		}
	}
	return err
}

func (t *Transport) takeRequests() []listenReq {
	t.mu.Lock()
	defer t.mu.Unlock()
	reqs := t.reqs
	t.reqs = nil
	return reqs
}

func (t *Transport) runRequests(conn *pgconn.PgConn) {
	reqs := t.takeRequests()
	for i, r := range reqs {
		if conn.IsClosed() {
			t.mu.Lock()
			t.reqs = append(reqs[i:], t.reqs...) // for after reconnecting
			t.mu.Unlock()
			return
		}
		sql := "UNLISTEN " + quoteIdent(r.channel)
		if r.listen {
			sql = "LISTEN " + quoteIdent(r.channel)
		}
		err := t.exec(conn, sql)
		if err != nil {
			err = fmt.Errorf("bellwether/postgres: %s on %s: %w", sql, t.where, err)
		}
		if r.result != nil {
			r.result <- err
		}
	}
}

// failRequests answers the pending requests while disconnected: LISTENs
// fail, UNLISTENs need nothing (the channel is off the list to LISTEN on
// after reconnecting).
func (t *Transport) failRequests() {
	reqs := t.takeRequests()
	t.mu.RLock()
	err := t.lastErr
	t.mu.RUnlock()
	for _, r := range reqs {
		if r.result != nil {
			r.result <- t.notConnected(err)
		}
	}
}

func (t *Transport) notConnected(err error) error {
	return fmt.Errorf("bellwether/postgres: not connected to postgres at %s (%v); the transport reconnects by itself, try again once the server is back", t.where, err)
}

func (t *Transport) setLastErr(err error) {
	t.mu.Lock()
	t.lastErr = err
	t.mu.Unlock()
}

// wake makes the listener look at its requests soon.
func (t *Transport) wake() {
	t.mu.RLock()
	cancel := t.waitCancel
	t.mu.RUnlock()
	if cancel != nil {
		cancel()
	}
	select {
	case t.poke <- struct{}{}:
	default:
	}
}

// onNotification runs on the listener goroutine for every notification.
// It hands the payload to every member of the channel's group but the one
// whose echo it is: only a notification from a session this Transport
// sent on can be.
func (t *Transport) onNotification(_ *pgconn.PgConn, n *pgconn.Notification) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.channels[n.Channel]
	if g == nil {
		return
	}
	sum, now := echoes.SumOf(n.Payload), time.Now()
	for _, c := range g.conns {
		if !c.sent.Take(sum, n.PID, now) {
			c.in.Push([]byte(n.Payload))
		}
	}
}

// Join makes a new member of group. It fails when the server is
// unreachable or LISTEN does not finish before ctx is done.
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
	var result chan error
	if first {
		g = &group{name: name, channel: channelName(name), ready: make(chan struct{})}
		t.groups[name] = g
		t.channels[g.channel] = g
		result = make(chan error, 1)
		t.reqs = append(t.reqs, listenReq{listen: true, channel: g.channel, result: result})
	}
	c.g = g
	g.conns = append(g.conns, c)
	t.mu.Unlock()

	if first {
		t.wake()
		var err error
		select {
		case err = <-result:
		case <-t.done:
			err = bellwether.ErrClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.mu.Lock()
		if err == nil && t.closed {
			err = bellwether.ErrClosed
		}
		if err != nil && t.groups[name] == g {
			t.forget(g) // the next Join tries afresh
		}
		g.err = err
		t.mu.Unlock()
		close(g.ready)
		if err != nil {
			t.wake()
		}
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

// forget removes g and queues its UNLISTEN; t.mu is held.
func (t *Transport) forget(g *group) {
	delete(t.groups, g.name)
	if t.channels[g.channel] == g {
		delete(t.channels, g.channel)
	}
	t.reqs = append(t.reqs, listenReq{channel: g.channel})
}

// Close closes every Conn and both connections and stops the listener.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	groups := t.groups
	t.groups, t.channels = nil, nil
	cancel := t.waitCancel
	t.mu.Unlock()

	for _, g := range groups {
		for _, c := range g.conns {
			c.in.Close()
		}
	}
	t.stop()
	if cancel != nil {
		cancel()
	}
	<-t.loopDone
	t.sendSem <- struct{}{} // wait for a Send under way
	if t.sendConn != nil {
		closeConn(t.sendConn)
		t.sendConn = nil
	}
	<-t.sendSem
	return nil
}

func (t *Transport) isClosed() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.closed
}

// Send broadcasts msg to the group's other members: it is the payload of
// a notification on the group's channel, as it is. msg must be UTF-8 text
// without NUL bytes (else the error wraps ErrNotText) of at most
// MaxMessageSize bytes.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("bellwether/postgres: message is %d bytes; the limit is %d (a notification payload is under 8000 bytes): %w", len(msg), MaxMessageSize, bellwether.ErrMessageTooLarge)
	}
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		return fmt.Errorf("%w: NUL at byte %d", ErrNotText, i)
	}
	if !utf8.Valid(msg) {
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrNotText, invalidAt(msg))
	}
	return c.t.notify(ctx, c.g.channel, msg, c.sent)
}

// invalidAt returns the offset of msg's first byte that is not UTF-8.
func invalidAt(msg []byte) int {
	for i := 0; i < len(msg); {
		r, n := utf8.DecodeRune(msg[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(msg)
}

// notify sends payload on channel, noting it in sent, with the sending
// session's PID, before it can come back.
func (t *Transport) notify(ctx context.Context, channel string, payload []byte, sent *echoes.Record) error {
	select {
	case t.sendSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.done:
		return bellwether.ErrClosed
	}
	defer func() { <-t.sendSem }()
	if t.isClosed() {
		return bellwether.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	sum := echoes.SumOf(payload)
	// A connection broken by a server restart is found out by the first
	// statement on it; one retry on a new connection hides that.
	for attempt := 0; ; attempt++ {
		if t.sendConn == nil {
			conn, err := t.connect(ctx, t.sendCfg)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
			t.sendConn = conn
		}
		pid := t.sendConn.PID()
		sent.Add(sum, pid, time.Now())
		_, err := t.sendConn.ExecParams(ctx, "SELECT pg_notify($1, $2)",
			[][]byte{[]byte(channel), payload}, nil, nil, nil).Close()
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// The statement failed, so nothing was sent. Otherwise the
			// entry stays, in case the notification went out.
			sent.Forget(sum, pid)
		}
		if !errors.As(err, &pgErr) || t.sendConn.IsClosed() {
			closeConn(t.sendConn)
			t.sendConn = nil
			if attempt == 0 && ctx.Err() == nil {
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bellwether/postgres: pg_notify on %s at %s: %w", channel, t.where, err)
	}
}

// Recv returns the next message another member sent.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	return c.in.Pop(ctx)
}

// MaxMessageSize returns MaxMessageSize.
func (c *Conn) MaxMessageSize() int {
	return MaxMessageSize
}

// Health returns nil while the Transport's listening connection is up,
// ErrClosed after Close, and otherwise why it is down (the Transport is
// reconnecting meanwhile).
func (c *Conn) Health() error {
	if c.in.IsClosed() {
		return bellwether.ErrClosed
	}
	c.t.mu.RLock()
	err := c.t.lastErr
	c.t.mu.RUnlock()
	if err != nil {
		return c.t.notConnected(err)
	}
	return nil
}

// Dropped reports how many received messages this Conn discarded because
// its buffer of RecvBuffer messages was full.
func (c *Conn) Dropped() uint64 {
	return c.in.Dropped()
}

// Close leaves the group. The Transport UNLISTENs on the group's channel
// when its last member here leaves.
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
		t.forget(g)
	}
	t.mu.Unlock()
	if last {
		t.wake()
	}
	return nil
}

func init() {
	transport.Register("postgres", "postgres://user:password@host:5432/dbname", open)
	transport.Register("postgresql", "postgresql://user:password@host:5432/dbname", open)
}

func open(ctx context.Context, u *url.URL, opts ...transport.Option) (bellwether.Transport, error) {
	t, err := FromURL(ctx, u)
	if err != nil {
		return nil, err
	}
	return t, nil
}
