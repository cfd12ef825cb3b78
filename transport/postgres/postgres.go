package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/pubsub"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
	"github.com/jackc/pgx/v5/pgconn"
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
	EchoWindow = pubsub.EchoWindow
	EchoRecord = pubsub.EchoRecord

	channelPrefix  = "bellwether_"
	maxChannelName = 63

	// opTimeout bounds one statement (LISTEN, pg_notify, a ping) and one
	// connection attempt when the caller's ctx has no earlier deadline.
	opTimeout = 10 * time.Second
	// healthInterval is how long the listening connection may stay idle
	// before it is pinged.
	healthInterval = 30 * time.Second
	minBackoff     = 100 * time.Millisecond
	// maxBackoff bounds the wait between reconnection attempts: members
	// that last tried just before the server came back wait this long
	// before the group can elect again (5s made that 5.5s after a kill).
	maxBackoff = 2 * time.Second
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

	bus *pubsub.Bus

	reqs pubsub.Queue // LISTENs and UNLISTENs for the listener

	mu         sync.Mutex
	closed     bool
	waitCancel context.CancelFunc // ends the listener's wait for notifications
	lastErr    error              // why the listener is not connected, or nil
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	*pubsub.Member
}

// FromURL connects to the PostgreSQL database at u and returns a
// Transport. u is postgres://[user[:password]@]host[:port]/database
// (postgresql:// too) with libpq's query parameters, such as
// sslmode=disable; unset parts come from the PG* environment variables
// and libpq's defaults. ctx bounds only the first connection.
func FromURL(ctx context.Context, u *url.URL, opts ...transport.Option) (*Transport, error) {
	if err := busurl.Scheme(u, "postgres", "postgres://user@127.0.0.1:5432/dbname?sslmode=disable", "use postgres://user:password@host:5432/dbname?sslmode=disable", "postgres", "postgresql"); err != nil {
		return nil, err
	}
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("bellwether/postgres: URL %q: %v; use postgres://user:password@host:5432/dbname?sslmode=disable", redact.URL(u), redact.Scrub(err.Error(), u.String()))
	}
	return New(ctx, cfg, opts...)
}

// New connects with cfg, which must come from pgconn.ParseConfig, and
// returns a Transport. The Transport copies cfg and keeps its own two
// connections; ctx bounds only the first ones. New is the first choice
// for a program that uses PostgreSQL alone: it builds its configuration
// as it likes, and involves no registry.
func New(ctx context.Context, cfg *pgconn.Config, opts ...transport.Option) (*Transport, error) {
	if cfg == nil {
		return nil, errors.New("bellwether/postgres: New needs a *pgconn.Config from pgconn.ParseConfig; got nil")
	}
	t := &Transport{
		sendCfg:  cfg.Copy(),
		where:    fmt.Sprintf("%s:%d (user %s, database %s)", cfg.Host, cfg.Port, cfg.User, cfg.Database),
		sendSem:  make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		poke:     make(chan struct{}, 1),
	}
	t.reqs.Wake = t.wake
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
	t.bus = pubsub.New(pubsub.Config{
		Name:           "postgres",
		Layer:          (*layer)(t),
		EchoByContent:  true, // for EchoRecord messages, EchoWindow each
		Channel:        channelName,
		NewConn:        func(m *pubsub.Member) bellwether.Conn { return &Conn{m} },
		MaxMessageSize: func() int { return MaxMessageSize },
		SizeNote:       "(a notification payload is under 8000 bytes)",
		Check:          checkText,
		Health:         t.health,
		Logger:         transport.Apply(opts).Logger,
	})
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
		if t.reqs.Len() > 0 || t.closed {
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
	for _, ch := range t.bus.Channels() {
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

func (t *Transport) runRequests(conn *pgconn.PgConn) {
	reqs := t.reqs.Take()
	for i, r := range reqs {
		if conn.IsClosed() {
			t.reqs.Requeue(reqs[i:]) // for after reconnecting
			return
		}
		sql := "UNLISTEN " + quoteIdent(r.Channel)
		if r.Subscribe {
			sql = "LISTEN " + quoteIdent(r.Channel)
		}
		err := t.exec(conn, sql)
		if err != nil {
			err = fmt.Errorf("bellwether/postgres: %s on %s: %w", sql, t.where, err)
		}
		r.Done(err)
	}
}

// failRequests answers the pending requests while disconnected: LISTENs
// fail, UNLISTENs need nothing (the channel is off the list to LISTEN on
// after reconnecting).
func (t *Transport) failRequests() {
	reqs := t.reqs.Take()
	t.mu.Lock()
	err := t.lastErr
	t.mu.Unlock()
	for _, r := range reqs {
		r.Done(t.notConnected(err))
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
	t.mu.Lock()
	cancel := t.waitCancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	select {
	case t.poke <- struct{}{}:
	default:
	}
}

// onNotification runs on the listener goroutine for every notification.
// Only a notification from a session this Transport sent on (its PID
// the Origin's Tag) can be a member's echo.
func (t *Transport) onNotification(_ *pgconn.PgConn, n *pgconn.Notification) {
	t.bus.Deliver(n.Channel, []byte(n.Payload), pubsub.Origin{Tag: n.PID})
}

// Join makes a new member of group. It fails when the server is
// unreachable or LISTEN does not finish before ctx is done.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	return t.bus.Join(ctx, group)
}

// layer is the Transport as a pubsub.Layer.
type layer Transport

// Subscribe has the listener LISTEN on channel and waits for it.
func (l *layer) Subscribe(ctx context.Context, channel string) error {
	t := (*Transport)(l)
	result := t.reqs.Subscribe(channel)
	var err error
	select {
	case err = <-result:
		if err == nil {
			return nil
		}
	case <-ctx.Done():
		err = fmt.Errorf("bellwether/postgres: LISTEN on %s at %s did not finish in time: %w", channel, t.where, ctx.Err())
	}
	_ = l.Unsubscribe(channel)
	return err
}

// Unsubscribe queues an UNLISTEN on channel for the listener.
func (l *layer) Unsubscribe(channel string) error {
	// Queued: after reconnecting the listener LISTENs only on the groups'
	// channels.
	(*Transport)(l).reqs.Unsubscribe(channel)
	return nil
}

// Close closes every Conn and both connections and stops the listener.
func (t *Transport) Close() error {
	t.mu.Lock()
	already, cancel := t.closed, t.waitCancel
	t.closed = true
	t.mu.Unlock()
	if already {
		return nil
	}

	t.bus.Close()
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
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// checkText refuses what a notification cannot carry: anything but UTF-8
// text without NUL bytes (the error wraps ErrNotText).
func checkText(msg []byte) error {
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		return fmt.Errorf("%w: NUL at byte %d", ErrNotText, i)
	}
	if !utf8.Valid(msg) {
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrNotText, invalidAt(msg))
	}
	return nil
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

// Publish sends m as a notification on channel, noting it, with the
// sending session's PID, before it can come back; it returns once the
// statement completed.
func (l *layer) Publish(ctx context.Context, channel string, m *pubsub.Message) error {
	t := (*Transport)(l)
	inTime := func() error {
		return fmt.Errorf("bellwether/postgres: pg_notify on %s at %s did not complete in time: %w", channel, t.where, ctx.Err())
	}
	select {
	case t.sendSem <- struct{}{}:
	case <-ctx.Done():
		return inTime()
	case <-t.done:
		return bellwether.ErrClosed
	}
	defer func() { <-t.sendSem }()
	if t.isClosed() {
		return bellwether.ErrClosed
	}
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	// A connection broken by a server restart is found out by the first
	// statement on it; one retry on a new connection hides that.
	for attempt := 0; ; attempt++ {
		if t.sendConn == nil {
			conn, err := t.connect(octx, t.sendCfg)
			if err != nil {
				if ctx.Err() != nil {
					return inTime()
				}
				return err
			}
			t.sendConn = conn
		}
		pid := t.sendConn.PID()
		m.Sending(pid)
		_, err := t.sendConn.ExecParams(octx, "SELECT pg_notify($1, $2)",
			[][]byte{[]byte(channel), m.Data}, nil, nil, nil).Close()
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// The statement failed, so nothing was sent. Otherwise the
			// entry stays, in case the notification went out.
			m.NotSent(pid)
		}
		if !errors.As(err, &pgErr) || t.sendConn.IsClosed() {
			closeConn(t.sendConn)
			t.sendConn = nil
			if attempt == 0 && octx.Err() == nil {
				continue
			}
		}
		if ctx.Err() != nil {
			return inTime()
		}
		return fmt.Errorf("bellwether/postgres: pg_notify on %s at %s: %w", channel, t.where, err)
	}
}

// health is nil while the listening connection is up, and otherwise why
// it is down (the Transport is reconnecting meanwhile).
func (t *Transport) health() error {
	t.mu.Lock()
	err := t.lastErr
	t.mu.Unlock()
	if err != nil {
		return t.notConnected(err)
	}
	return nil
}

func init() {
	transport.Register("postgres", "postgres://user:password@host:5432/dbname", transport.Opener(FromURL))
	transport.Register("postgresql", "postgresql://user:password@host:5432/dbname", transport.Opener(FromURL))
}
