//go:build unix

package testserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ bellwethertest.Server = (*Server)(nil)

func TestMain(m *testing.M) {
	ServeNATSIfAsked()
	m.Run()
}

// session is a client connection to a server: ask sends one request and
// waits up to wait for the answer.
type session struct {
	ask   func(wait time.Duration) error
	close func()
}

// rawSession opens a TCP connection, sends hello and reads helloReply,
// then asks with req and expects reply. Lines starting with skip are
// skipped before an answer.
func rawSession(addr string, hello, helloReply, req, reply []byte, skip string) (*session, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	exchange := func(req, want []byte, wait time.Duration) error {
		c.SetDeadline(time.Now().Add(wait))
		if len(req) > 0 {
			if _, err := c.Write(req); err != nil {
				return err
			}
		}
		for skip != "" && len(want) > 0 {
			if p, err := r.Peek(len(skip)); err != nil {
				return err
			} else if string(p) != skip {
				break
			}
			if _, err := r.ReadString('\n'); err != nil {
				return err
			}
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("answer %q, want %q", got, want)
		}
		return nil
	}
	if err := exchange(hello, helloReply, time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return &session{ask: func(wait time.Duration) error { return exchange(req, reply, wait) }, close: func() { c.Close() }}, nil
}

func redisSession(s *Server) (*session, error) {
	return rawSession(s.Addr(), nil, nil, []byte("PING\r\n"), []byte("+PONG\r\n"), "")
}

func natsSession(s *Server) (*session, error) {
	// The server greets with a line INFO {…}, and may send more.
	return rawSession(s.Addr(), []byte("CONNECT {\"verbose\":false}\r\n"), nil, []byte("PING\r\n"), []byte("PONG\r\n"), "INFO ")
}

func mqttSession(s *Server) (*session, error) {
	connect := []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 't'} // MQTT 3.1.1, clean session, id "t"
	connack := []byte{0x20, 2, 0, 0}
	return rawSession(s.Addr(), connect, connack, []byte{0xc0, 0}, []byte{0xd0, 0}, "") // PINGREQ, PINGRESP
}

func postgresSession(s *Server) (*session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, s.URL().String())
	if err != nil {
		return nil, err
	}
	return &session{
		ask: func(wait time.Duration) error {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_, err := c.Exec(ctx, "SELECT 1").ReadAll()
			return err
		},
		close: func() { c.Close(context.Background()) },
	}, nil
}

// alive reports whether pid runs; a zombie, dead but not yet reaped by
// init, does not.
func alive(pid int) bool {
	if _, _, st, ok := readStat(fmt.Sprintf("/proc/%d/stat", pid)); ok {
		return st != "Z" && st != "X"
	}
	return syscall.Kill(pid, 0) == nil
}

// TestControls runs each server through every control and checks what
// clients see: it answers; while frozen it answers nothing, on a session
// opened before as on a new one, and after Thaw the session goes on;
// killed or stopped it refuses connections; started again it answers on
// the same port; and after the test no process of it is left.
func TestControls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		start   func(testing.TB) *Server
		session func(*Server) (*session, error)
	}{
		{"redis", Redis, redisSession},
		{"nats", NATS, natsSession},
		{"postgres", Postgres, postgresSession},
		{"mosquitto", Mosquitto, mqttSession},
	} {
		var pids []int
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			open := func(what string) *session {
				t.Helper()
				c, err := tc.session(s)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				t.Cleanup(c.close)
				if err := c.ask(5 * time.Second); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				return c
			}
			c := open("started")
			pids = append(pids, procs(s.cmd)...)
			s.Freeze()
			if err := c.ask(300 * time.Millisecond); err == nil {
				t.Fatal("frozen, it answered a session opened before")
			}
			if nc, err := tc.session(s); err == nil {
				if err := nc.ask(300 * time.Millisecond); err == nil {
					t.Fatal("frozen, it answered a new session")
				}
				nc.close()
			}
			s.Thaw()
			if tc.name != "postgres" { // pgconn closes a session whose ctx ended
				if err := c.ask(5 * time.Second); err != nil {
					t.Fatalf("thawed, the session opened before: %v", err)
				}
			}
			open("thawed")
			port := s.Port()
			for _, halt := range []func(){s.Kill, s.Stop} {
				halt()
				if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
					c.Close()
					t.Fatal("down, it accepts connections")
				}
				s.Start()
				if s.Port() != port {
					t.Fatalf("port %d after Start; want %d", s.Port(), port)
				}
				open("started again")
				pids = append(pids, procs(s.cmd)...)
			}
			s.Freeze() // the cleanup must end a frozen server too
		})
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("%s: process %d still runs after the test", tc.name, pid)
			}
		}
	}
}
