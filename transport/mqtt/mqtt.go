package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/busurl"
	"github.com/bellwether-go/bellwether/internal/pubsub"
	"github.com/bellwether-go/bellwether/internal/redact"
	"github.com/bellwether-go/bellwether/transport"
)

func init() {
	transport.Register("mqtt", "mqtt://host:1883", transport.Opener(FromURL))
	transport.Register("mqtts", "mqtts://host:8883 (MQTT over TLS)", transport.Opener(FromURL))
}

const (
	// TopicPrefix begins the topic of every group: group g uses the topic
	// TopicPrefix + g.
	TopicPrefix = "bellwether/"
	// SenderProperty is the MQTT 5 user property in which a Conn names
	// itself, a random id of 16 hex digits, so that it drops its own
	// messages when the broker delivers them back (the broker's No Local
	// option would drop those of every member on the same connection).
	// A message without it reaches every member.
	SenderProperty = "bellwether-sender"
	// MaxMessageSize is the largest message a Conn sends.
	MaxMessageSize = 1 << 20
)

// Transport is a bellwether.Transport over one MQTT 5 connection. Create
// it with New or FromURL.
type Transport struct {
	cm    *autopaho.ConnectionManager
	where string
	bus   *pubsub.Bus
	log   *slog.Logger

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	resubs sync.WaitGroup // resubscribe goroutines

	mu   sync.Mutex
	up   bool
	down error // why the connection is down, or nil
}

// Conn is one member of a group. Join returns it as a bellwether.Conn.
type Conn struct {
	*pubsub.Member
}

// FromURL connects to the MQTT broker at u and returns a Transport that
// owns the connection and reconnects forever after losing it. u is
// mqtt://[user:password@]host[:port] (port 1883 by default), or
// mqtts://… (port 8883) for TLS. ctx bounds only the first connection,
// which fails at once if the broker refuses it or cannot be reached.
func FromURL(ctx context.Context, u *url.URL, opts ...transport.Option) (*Transport, error) {
	const form = "mqtt://[user:password@]host:1883 (or mqtts://host:8883 for TLS)"
	if err := busurl.Scheme(u, "mqtt", "mqtt://127.0.0.1:1883", "use "+form, "mqtt", "mqtts"); err != nil {
		return nil, err
	}
	if err := busurl.Host(u, "mqtt", "use "+form); err != nil {
		return nil, err
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bellwether/mqtt: URL %q has a path or query, which bellwether's MQTT bus does not use; use %s", redact.URL(u), form)
	}
	server := *u
	server.User, server.Path = nil, ""
	if u.Port() == "" {
		port := "1883"
		if u.Scheme == "mqtts" {
			port = "8883"
		}
		server.Host = net.JoinHostPort(u.Hostname(), port)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("bellwether/mqtt: making a client id: %w", err)
	}
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{&server},
		KeepAlive:                     20,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewConstantBackoff(500 * time.Millisecond),
		ConnectTimeout:                5 * time.Second,
		ClientConfig:                  paho.ClientConfig{ClientID: "bellwether-" + hex.EncodeToString(id[:])},
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		cfg.ConnectUsername, cfg.ConnectPassword = u.User.Username(), []byte(pw)
	}
	return New(ctx, cfg, opts...)
}

// New connects with cfg and returns a Transport that owns the
// connection; it is the first choice for a program that uses MQTT alone
// and configures the connection itself (TLS, credentials, keep-alive).
// Unless cfg sets AttemptConnection, the Transport dials TCP and TLS
// itself, so that on Linux a PUBACK is not held up by the broker's
// Nagle algorithm and a delayed ACK. The Transport adds its own
// OnConnectionUp, OnConnectionDown,
// OnConnectError and OnPublishReceived hooks to cfg's, which still run
// (cfg's first). ctx bounds only the first connection, which fails at
// once if the broker refuses it or cannot be reached.
func New(ctx context.Context, cfg autopaho.ClientConfig, opts ...transport.Option) (*Transport, error) {
	log := transport.Apply(opts).Logger
	t := &Transport{log: log}
	if len(cfg.ServerUrls) > 0 {
		t.where = cfg.ServerUrls[0].Host
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.bus = pubsub.New(pubsub.Config{
		Name:           "mqtt",
		Layer:          (*layer)(t),
		Channel:        func(group string) string { return TopicPrefix + group },
		NewConn:        func(m *pubsub.Member) bellwether.Conn { return &Conn{m} },
		MaxMessageSize: func() int { return MaxMessageSize },
		Health:         t.health,
		Logger:         log,
	})

	first := make(chan error, 1)
	userUp, userDown, userErr := cfg.OnConnectionUp, cfg.OnConnectionDown, cfg.OnConnectError
	cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, ack *paho.Connack) {
		if userUp != nil {
			userUp(cm, ack)
		}
		t.connected(cm)
		select {
		case first <- nil:
		default:
		}
	}
	cfg.OnConnectionDown = func() bool {
		t.setDown(errors.New("the connection to the broker was lost"))
		return userDown == nil || userDown()
	}
	cfg.OnConnectError = func(err error) {
		if userErr != nil {
			userErr(err)
		}
		t.setDown(err)
		select {
		case first <- err:
		default:
		}
	}
	cfg.OnPublishReceived = append(cfg.OnPublishReceived, func(r paho.PublishReceived) (bool, error) {
		var from string
		if p := r.Packet.Properties; p != nil {
			from = p.User.Get(SenderProperty)
		}
		t.bus.Deliver(r.Packet.Topic, r.Packet.Payload, pubsub.Origin{Sender: from})
		return true, nil
	})
	// autopaho and paho log nothing by default; what they would say goes
	// to the logger at Debug level, since Join, Send and Health report
	// the failures that matter.
	if cfg.Errors == nil {
		cfg.Errors = debugLog{log}
	}
	if cfg.PahoErrors == nil {
		cfg.PahoErrors = debugLog{log}
	}

	if cfg.AttemptConnection == nil {
		cfg.AttemptConnection = dial(&cfg)
	}
	cm, err := autopaho.NewConnection(t.ctx, cfg)
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("bellwether/mqtt: %w", err)
	}
	t.cm = cm
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		t.cancel()
		<-cm.Done()
		t.bus.Close()
		host, port, _ := net.SplitHostPort(t.where)
		return nil, fmt.Errorf("bellwether/mqtt: cannot connect to the MQTT broker at %s: %w; is it running? start it with `mosquitto -p %s` (on %s), or fix the URL", t.where, err, port, host)
	}
	return t, nil
}

// connected runs when the connection is (re)made: the session is new, so
// the groups' topics are subscribed again.
func (t *Transport) connected(cm *autopaho.ConnectionManager) {
	t.mu.Lock()
	t.up, t.down = true, nil
	t.mu.Unlock()
	chs := t.bus.Channels()
	if len(chs) == 0 {
		return
	}
	t.resubs.Add(1)
	go func() { // OnConnectionUp must not block
		defer t.resubs.Done()
		for _, ch := range chs {
			ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
			err := subscribe(ctx, cm, ch)
			cancel()
			if err != nil && t.ctx.Err() == nil {
				t.setDown(fmt.Errorf("subscribing again to %s: %w", ch, err))
				t.log.Warn("bellwether/mqtt: subscribing again after reconnecting failed", "topic", ch, "err", err)
			}
		}
	}()
}

func (t *Transport) setDown(err error) {
	t.mu.Lock()
	t.up, t.down = false, err
	t.mu.Unlock()
}

// Join makes a new member of group. It fails when the connection is down
// or the broker does not acknowledge the subscription before ctx is done.
func (t *Transport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	return t.bus.Join(ctx, group)
}

// Close closes every Conn and the connection.
func (t *Transport) Close() error {
	if t.bus.Close() == nil && t.ctx.Err() != nil {
		return nil
	}
	t.cancel()
	<-t.cm.Done()
	t.resubs.Wait()
	return nil
}

// layer is the Transport as a pubsub.Layer.
type layer Transport

// Subscribe subscribes to topic at QoS 0 (the broker then delivers each
// message once), without retained messages, and waits for the SUBACK.
func (l *layer) Subscribe(ctx context.Context, topic string) error {
	t := (*Transport)(l)
	if err := subscribe(ctx, t.cm, topic); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("bellwether/mqtt: the broker at %s did not acknowledge the subscription to %s: %w", t.where, topic, err)
	}
	return nil
}

func subscribe(ctx context.Context, cm *autopaho.ConnectionManager, topic string) error {
	ack, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: topic, QoS: 0, RetainHandling: 2},
	}})
	if err == nil && ack != nil && len(ack.Reasons) > 0 && ack.Reasons[0] >= 0x80 {
		err = fmt.Errorf("refused with reason code 0x%02x", ack.Reasons[0])
	}
	return err
}

// Unsubscribe unsubscribes from topic.
func (l *layer) Unsubscribe(topic string) error {
	t := (*Transport)(l)
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	// A failure leaves a subscription that the next reconnection drops.
	_, err := t.cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{topic}})
	if errors.Is(err, autopaho.ConnectionDownError) {
		return nil // the session, and its subscriptions, ended with it
	}
	return err
}

// Publish publishes m at QoS 1, not retained, and returns once the
// broker's PUBACK came back.
func (l *layer) Publish(ctx context.Context, topic string, m *pubsub.Message) error {
	t := (*Transport)(l)
	p := &paho.Publish{QoS: 1, Topic: topic, Payload: m.Data,
		Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: SenderProperty, Value: m.Sender}}}}
	res, err := t.cm.Publish(ctx, p)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("bellwether/mqtt: the broker at %s did not acknowledge the message in time: %w", t.where, ctx.Err())
	case errors.Is(err, autopaho.ConnectionDownError):
		return fmt.Errorf("bellwether/mqtt: not connected to the broker at %s (%v); the transport reconnects by itself, try again once the broker is back", t.where, t.health())
	case err != nil:
		return fmt.Errorf("bellwether/mqtt: publishing to %s at %s: %w", topic, t.where, err)
	case res != nil && res.ReasonCode >= 0x80:
		return fmt.Errorf("bellwether/mqtt: the broker at %s refused the message on %s with reason code 0x%02x", t.where, topic, res.ReasonCode)
	}
	return nil
}

// health is nil while the connection is up (and its subscriptions were
// renewed), and otherwise says what is wrong.
func (t *Transport) health() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.up {
		return nil
	}
	err := t.down
	if err == nil {
		err = errors.New("not connected")
	}
	return fmt.Errorf("bellwether/mqtt: the connection to the broker at %s is down: %w; the transport reconnects by itself", t.where, err)
}

// debugLog is a paho logger that writes to an slog.Logger at Debug level.
type debugLog struct{ log *slog.Logger }

func (d debugLog) Println(v ...any) { d.log.Debug("bellwether/mqtt: paho: " + fmt.Sprint(v...)) }
func (d debugLog) Printf(format string, v ...any) {
	d.log.Debug("bellwether/mqtt: paho: " + fmt.Sprintf(format, v...))
}
