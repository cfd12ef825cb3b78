package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	})
	if err != nil {
		tr.Close()
		closeListener(ln)
		return nil, fmt.Errorf("--bus %q: %w", co.busName(), scrubError(err, co.bus))
	}
	m.tr, m.e = tr, e
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
	m.log.Log(ctx, level, "joined", "bus", co.busName(), "observer", observer,
		"election_timeout", s.ElectionTimeout, "heartbeat_interval", s.HeartbeatInterval,
		"heartbeat_timeout", s.HeartbeatTimeout, "http", httpAddr(ln))
	return m, nil
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
