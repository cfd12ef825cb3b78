package testserver

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/nats-io/nats-server/v2/server"
)

// envNATS asks the test binary, run again as a child, to serve NATS on
// the port it names.
const envNATS = "BELLWETHER_TESTSERVER_NATS_PORT"

// NATS starts a private NATS server. It is the test binary itself, run
// again as a process of its own so that it can be frozen and killed: the
// package's TestMain must call [ServeNATSIfAsked] first. The server is
// the nats-server module the transport is tested with, so nothing needs
// installing.
func NATS(t testing.TB) *Server {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	s := &Server{name: "nats-server", port: testenv.FreePort(t), dir: tempDir(t, "nats"), stopSignal: sigTerm,
		hint: " (does TestMain call testserver.ServeNATSIfAsked?)"}
	s.url = &url.URL{Scheme: "nats", Host: s.Addr()}
	s.command = func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), envNATS+"="+strconv.Itoa(s.port))
		return cmd
	}
	return newServer(t, s)
}

// InProcessNATS runs a NATS server in the test process on a random port
// of 127.0.0.1 until the test ends, and returns it and its client URL, for
// tests that look inside the server or leave it alone. Tests that take the
// server down use [NATS].
func InProcessNATS(t testing.TB) (*server.Server, *url.URL) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("testserver: nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(startTimeout) {
		s.Shutdown()
		t.Fatalf("testserver: nats server did not start within %v", startTimeout)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		t.Fatalf("testserver: nats server's URL: %v", err)
	}
	return s, u
}

// ServeNATSIfAsked serves NATS until SIGTERM or SIGINT and exits, when
// the process is a server started by [NATS]; otherwise it returns at once.
// Call it first in TestMain.
func ServeNATSIfAsked() {
	p := os.Getenv(envNATS)
	if p == "" {
		return
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testserver: %s=%q: %v\n", envNATS, p, err)
		os.Exit(2)
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testserver: nats server: %v\n", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, sigTerm, sigInt)
	s.Start()
	if !s.ReadyForConnections(startTimeout) {
		fmt.Fprintf(os.Stderr, "testserver: nats server on port %d did not start within %v\n", port, startTimeout)
		os.Exit(1)
	}
	<-stop
	s.Shutdown()
	done := make(chan struct{})
	go func() {
		s.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	os.Exit(0)
}
