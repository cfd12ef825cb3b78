package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport"
	_ "github.com/bellwether-go/bellwether/transport/all"
)

// connectTimeout bounds opening the bus and joining the group.
const connectTimeout = 10 * time.Second

// member is a joined Elector with its bus and its status server.
type member struct {
	co  *common
	log *slog.Logger // with the member's group and id
	tr  bellwether.Transport
	e   *bellwether.Elector
	srv *http.Server
	// srvDone is closed when the status server has stopped serving.
	srvDone chan struct{}
	// keysStop ends the key file's watcher; keysDone is closed when it
	// has ended. Both nil without a key file.
	keysStop, keysDone chan struct{}
}

// keyFilePoll is how often a keyed member looks at its key file for a
// change.
const keyFilePoll = time.Second

// watchKeyFile reloads the key file whenever it changes (its size, time
// or inode), so that a group rotates its key with no restart and no pause
// of its job: each step written to every member's key file (atomically:
// write a new file, then rename it over the old) before the next. A file
// that does not load (loose, malformed, half written) is reported once per
// change and the keys in use are kept.
func (m *member) watchKeyFile(path string) {
	defer close(m.keysDone)
	stamp := func() (string, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d %d %v", fi.Size(), fi.ModTime().UnixNano(), fi.Sys()), nil
	}
	last, _ := stamp()
	t := time.NewTicker(keyFilePoll)
	defer t.Stop()
	for {
		select {
		case <-m.keysStop:
			return
		case <-t.C:
		}
		now, err := stamp()
		if now == last {
			continue
		}
		last = now
		var k *bellwether.Keyring
		if err == nil {
			k, err = bellwether.LoadKeyring(path)
		}
		if err == nil {
			err = m.e.SetKeys(k)
		}
		if err != nil {
			m.log.Error("the key file changed but could not be loaded; keeping the keys in use", "err", err)
			continue
		}
		ids := k.KeyIDs()
		m.log.Info("key file reloaded", "signing_key", ids[0], "verifying_keys", strings.Join(ids, ","))
	}
}

// join opens the bus co names, starts the status server if co asks for
// one, and joins the group. Every error is the user's to fix (a bad URL,
// an unreachable bus, an address in use) and leaves nothing running.
// base is the logger from co.logger.
func (c *cli) join(ctx context.Context, co *common, base *slog.Logger, observer bool, cb bellwether.Callbacks) (*member, error) {
	m := &member{co: co, log: memberLog(base, co)}
	var ln net.Listener
	if co.http != "" {
		var err error
		ln, err = net.Listen("tcp", co.http)
		if err != nil {
			return nil, fmt.Errorf("--http %q: %v; give a free host:port, such as 127.0.0.1:9090", co.http, unwrapOp(err))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	tr, err := transport.Open(cctx, co.bus, transport.WithLogger(base))
	if err != nil {
		closeListener(ln)
		return nil, fmt.Errorf("--bus %q: %w", co.busName(), scrubError(err, co.bus))
	}
	e, err := bellwether.Join(cctx, tr, bellwether.Config{
		ID:        co.id,
		Group:     co.group,
		Settings:  co.settings,
		Observer:  observer,
		Value:     co.value,
		Preempt:   co.preempt,
		Logger:    base,
		Callbacks: cb,

		Keys:           co.keys,
		AcceptUnsigned: co.acceptUnsigned,
	})
	if err != nil {
		tr.Close()
		closeListener(ln)
		return nil, fmt.Errorf("--bus %q: %w", co.busName(), scrubError(err, co.bus))
	}
	m.tr, m.e = tr, e
	if co.keys != nil && co.keyFile != "" {
		m.keysStop, m.keysDone = make(chan struct{}), make(chan struct{})
		go m.watchKeyFile(co.keyFile)
	}
	if ln != nil {
		m.srv = &http.Server{Handler: newStatusHandler(e, co.bus), ReadHeaderTimeout: 5 * time.Second}
		m.srvDone = make(chan struct{})
		go func() {
			defer close(m.srvDone)
			if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("status server stopped", "err", err)
			}
		}()
	}
	s := e.Settings()
	level := slog.LevelInfo
	if observer {
		level = slog.LevelDebug // watch and status: their output says it all
	}
	m.log.Log(ctx, level, "joined", append([]any{"bus", co.busName(), "observer", observer,
		"election_timeout", s.ElectionTimeout, "heartbeat_interval", s.HeartbeatInterval,
		"heartbeat_timeout", s.HeartbeatTimeout, "http", httpAddr(ln)}, keyAttrs(co)...)...)
	if co.acceptUnsigned {
		m.log.Warn("accepting unsigned messages (--accept-unsigned): anyone who can publish on the bus can still disrupt the group; remove the flag once every member is keyed")
	}
	return m, nil
}

// keyAttrs are the joined line's attributes about authentication: whether
// the member is keyed and, if so, the id of the key it signs with and the
// ids of the keys it verifies with. Key ids are not secret; keys never
// appear in a log.
func keyAttrs(co *common) []any {
	if co.keys == nil {
		return []any{"keyed", false}
	}
	ids := co.keys.KeyIDs()
	return []any{"keyed", true, "signing_key", ids[0], "verifying_keys", strings.Join(ids, ","),
		"accept_unsigned", co.acceptUnsigned}
}

// memberLog returns base with the member's group and id.
func memberLog(base *slog.Logger, co *common) *slog.Logger {
	return base.With("group", co.group, "id", co.id)
}

func httpAddr(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

func closeListener(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}

// unwrapOp drops the "listen tcp ADDR:" prefix the error repeats.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// close stops the member: the Elector first (which stops a running job and
// withdraws), then the status server and the bus.
func (m *member) close() {
	if m.keysStop != nil {
		close(m.keysStop)
		<-m.keysDone
	}
	if err := m.e.Close(context.Background()); err != nil {
		m.log.Warn("closing", "err", err)
	}
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m.srv.Shutdown(ctx)
		cancel()
		m.srv.Close()
		<-m.srvDone
	}
	m.tr.Close()
}
