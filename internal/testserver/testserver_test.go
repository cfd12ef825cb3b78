//go:build unix

package testserver

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	ServeNATSIfAsked()
	m.Run()
}

// ping says PING to a Redis-protocol server and returns its first line
// of answer; NATS greets with INFO first, so for it this is that line.
func firstLine(addr, say string, wait time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if say != "" {
		if _, err := c.Write([]byte(say)); err != nil {
			return "", err
		}
	}
	return bufio.NewReader(c).ReadString('\n')
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestControls runs each server through every control and checks what a
// client sees: it answers, answers nothing while frozen, refuses
// connections while stopped or killed, and answers again on the same port
// when started; and after the test nothing of it is left.
func TestControls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Server
		say   string // what makes the server answer
		want  string // the start of its answer
	}{
		{"redis", Redis, "PING\r\n", "+PONG"},
		{"nats", NATS, "", "INFO "},
		{"postgres", Postgres, "", ""},
		{"mosquitto", Mosquitto, "", ""},
	} {
		var pids []int
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			answers := func() error {
				if tc.want == "" { // a server that says nothing first: it accepts
					c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
					if err == nil {
						c.Close()
					}
					return err
				}
				line, err := firstLine(s.Addr(), tc.say, time.Second)
				if err == nil && !strings.HasPrefix(line, tc.want) {
					t.Fatalf("%s answered %q; want %q…", tc.name, line, tc.want)
				}
				return err
			}
			if err := answers(); err != nil {
				t.Fatalf("started: %v", err)
			}
			pids = append(pids, s.PID())
			s.Freeze()
			if tc.want != "" {
				if line, err := firstLine(s.Addr(), tc.say, 300*time.Millisecond); err == nil {
					t.Fatalf("frozen, it answered %q", line)
				}
			}
			s.Thaw()
			if err := answers(); err != nil {
				t.Fatalf("thawed: %v", err)
			}
			port := s.Port()
			for _, halt := range []func(){s.Kill, s.Stop} {
				halt()
				if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
					c.Close()
					t.Fatal("down, it accepts connections")
				}
				s.Start()
				pids = append(pids, s.PID())
				if s.Port() != port {
					t.Fatalf("port %d after Start; want %d", s.Port(), port)
				}
				if err := answers(); err != nil {
					t.Fatalf("started again: %v", err)
				}
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
