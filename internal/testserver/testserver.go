// Package testserver runs private bus servers for tests that take a
// server down: a nats-server, redis-server, PostgreSQL or Mosquitto of the
// test's own on a free port of 127.0.0.1, which the test can stop, kill,
// freeze (SIGSTOP), thaw (SIGCONT) and start again on the same port. The
// shared servers on the usual ports are never touched.
//
// A signal reaches every process of the server: PostgreSQL's backends too. When the test ends the
// server is killed and waited for, and its files are removed; the end of
// its log is printed if the test failed. A missing server program stops the
// test with [testenv.Unavailable] (a skip, or a failure under CI=true).
//
// A *Server satisfies bellwethertest.Server.
package testserver

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
)

// startTimeout bounds how long a server may take to accept connections;
// they take well under a second, PostgreSQL after a crash a little more.
const startTimeout = 30 * time.Second

// Server is one private server. Its methods fail the test if the change
// cannot be made; they are safe for concurrent use.
type Server struct {
	t    testing.TB
	name string
	port int
	url  *url.URL
	dir  string // the server's files and its log
	// command makes the command that runs the server in the foreground.
	command func() *exec.Cmd
	// stopSignal shuts the server down cleanly, ending every session.
	stopSignal syscall.Signal
	// hint is said when the server exits at start.
	hint string
	// ready reports whether a started server is ready for clients; nil
	// means once its port accepts connections.
	ready func() error

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	frozen bool
}

// URL returns the URL clients connect to.
func (s *Server) URL() *url.URL {
	u := *s.url
	return &u
}

// Port returns the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Addr returns the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// PID returns the process id of the running server, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// newServer registers the cleanup of s and starts it.
func newServer(t testing.TB, s *Server) *Server {
	t.Helper()
	s.t = t
	t.Cleanup(func() {
		s.halt(sigKill)
		if t.Failed() {
			if b, err := os.ReadFile(s.logFile()); err == nil && len(b) > 0 {
				const tail = 4 << 10
				if len(b) > tail {
					b = append([]byte("…"), b[len(b)-tail:]...)
				}
				t.Logf("%s log (its end):\n%s", s.name, b)
			}
		}
	})
	s.Start()
	return s
}

func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// Start starts the server on its port and waits until it is ready for
// clients. Starting a running server fails the test.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatalf("testserver: %s is already running", s.name)
		return
	}
	log, err := os.OpenFile(s.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		s.t.Fatalf("testserver: %v", err)
		return
	}
	cmd := s.command()
	cmd.Stdout, cmd.Stderr = log, log
	ownGroup(cmd) // not to get the signals of the test's terminal
	err = cmd.Start()
	log.Close()
	if err != nil {
		s.mu.Unlock()
		s.t.Fatalf("testserver: starting %s: %v", s.name, err)
		return
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.frozen = cmd, exited, false
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		err := testenv.WaitForPort(s.Addr(), 50*time.Millisecond)
		if err == nil && s.ready != nil {
			err = s.ready()
		}
		if err == nil {
			return
		}
		select {
		case <-exited:
			s.stopped()
			s.t.Fatalf("testserver: %s exited at start (see its log below)%s: %v", s.name, s.hint, err)
			return
		default:
		}
		if time.Now().After(deadline) {
			s.halt(sigKill)
			s.t.Fatalf("testserver: %s not ready within %v: %v", s.name, startTimeout, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down cleanly (it ends every session, as a restart
// does) and waits until it has exited; a server that takes longer than
// 30s is killed.
func (s *Server) Stop() {
	s.t.Helper()
	s.halt(s.stopSignal)
}

// Kill kills every process of the server at once (SIGKILL), as a crash
// would, and waits until they have exited.
func (s *Server) Kill() {
	s.t.Helper()
	s.halt(sigKill)
}

// Freeze stops every process of the server (SIGSTOP): its sockets stay
// open and it answers nothing, as a hung server or a lost network does.
func (s *Server) Freeze() {
	s.t.Helper()
	s.stopOrGo("Freeze", "freezing", freeze, true)
}

// Thaw lets a frozen server run again (SIGCONT).
func (s *Server) Thaw() {
	s.t.Helper()
	s.stopOrGo("Thaw", "thawing", thaw, false)
}

// stopOrGo freezes or thaws the running server with signal, as frozen
// says; op and doing name it in failures.
func (s *Server) stopOrGo(op, doing string, signal func(*exec.Cmd) error, frozen bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("testserver: %s of %s, which is not running", op, s.name)
		return
	}
	if err := signal(s.cmd); err != nil {
		s.t.Fatalf("testserver: %s %s: %v", doing, s.name, err)
	}
	s.frozen = frozen
}

// halt ends the server with sig and waits until every process of it has
// exited; it does nothing if the server is not running.
func (s *Server) halt(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pids := procs(s.cmd)
	if sig != sigKill && s.frozen {
		// A frozen process acts on no signal but SIGKILL.
		_ = signalAll(pids, sigCont)
	}
	if sig == sigKill {
		_ = signalAll(pids, sig)
	} else {
		_ = signalAll(pids[:1], sig) // the server ends its own children
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = signalAll(pids, sigKill)
		<-s.exited
	}
	// Children (PostgreSQL's backends) may outlive the server a moment,
	// holding its port, files and shared memory; none may be left at the
	// next Start.
	pids = append(pids, procs(s.cmd)[1:]...)
	_ = signalAll(pids[1:], sigKill)
	awaitState(pids[1:], "ZX", 10*time.Second)
	s.cmd, s.exited, s.frozen = nil, nil, false
}

// stopped forgets a server that exited by itself.
func (s *Server) stopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = signalAll(procs(s.cmd), sigKill)
	}
	s.cmd, s.exited, s.frozen = nil, nil, false
}

// tempDir returns a new directory removed when t ends. Unlike t.TempDir
// its parent is not private to the user running the test, since a server
// may run as another user.
func tempDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bellwether-"+name+"-")
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Redis starts a private redis-server without persistence.
func Redis(t testing.TB) *Server {
	t.Helper()
	bin := testenv.Command(t, "redis-server", "install it (apt-get install redis-server, or run scripts/services.sh)")
	s := &Server{name: "redis-server", port: testenv.FreePort(t), dir: tempDir(t, "redis"), stopSignal: sigTerm}
	s.url = &url.URL{Scheme: "redis", Host: s.Addr(), Path: "/0"}
	s.command = func() *exec.Cmd {
		return exec.Command(bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "")
	}
	return newServer(t, s)
}

// Mosquitto starts a private Mosquitto MQTT broker without persistence,
// open to anonymous clients on 127.0.0.1 only.
func Mosquitto(t testing.TB) *Server {
	t.Helper()
	bin := testenv.Command(t, "mosquitto", "install it (apt-get install mosquitto)", "/usr/sbin")
	s := &Server{name: "mosquitto", port: testenv.FreePort(t), dir: tempDir(t, "mosquitto"), stopSignal: sigTerm}
	s.url = &url.URL{Scheme: "mqtt", Host: s.Addr()}
	conf := filepath.Join(s.dir, "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n", s.port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	s.command = func() *exec.Cmd { return exec.Command(bin, "-c", conf) }
	return newServer(t, s)
}
