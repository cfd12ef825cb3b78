//go:build unix

package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// pgServer is a throwaway PostgreSQL cluster in a temporary directory,
// on a port of its own, run by pg_ctl.
type pgServer struct {
	t     testing.TB
	pgctl string
	dir   string // holds data/, the log and the unix socket
	port  int
	cred  *syscall.Credential // the postgres user's, when running as root
}

const installHint = "install PostgreSQL (apt-get install postgresql, or run scripts/services.sh)"

func startPostgres(t testing.TB) *pgServer {
	t.Helper()
	initdb := testenv.Command(t, "initdb", installHint, "/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
	pgctl := filepath.Join(filepath.Dir(initdb), "pg_ctl")
	if _, err := os.Stat(pgctl); err != nil {
		pgctl = testenv.Command(t, "pg_ctl", installHint)
	}
	// Not t.TempDir: its parent is private to root, and the server may
	// run as the postgres user.
	dir, err := os.MkdirTemp("", "bellwether-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &pgServer{t: t, pgctl: pgctl, dir: dir, port: testenv.FreePort(t)}
	t.Cleanup(func() {
		s.stop("immediate")
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
				t.Logf("postgres log:\n%s", log)
			}
		}
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "running as root needs a postgres user to run a test cluster as: %v; %s", err, installHint)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.run(initdb, "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	s.start()
	return s
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

func (s *pgServer) url() *url.URL {
	return &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", s.port),
		Path: "/postgres", RawQuery: "sslmode=disable&connect_timeout=5"}
}

func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

func (s *pgServer) run(name string, args ...string) {
	s.t.Helper()
	out, err := s.command(name, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

func (s *pgServer) start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", s.port, s.dir)
	s.run(s.pgctl, "start", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "-o", opts)
	if err := testenv.WaitForPort(fmt.Sprintf("127.0.0.1:%d", s.port), 30*time.Second); err != nil {
		s.t.Fatalf("postgres: %v", err)
	}
}

// stop stops the server with pg_ctl's mode ("fast" ends every session
// with an error, as a restart does), or kills it if pg_ctl cannot.
func (s *pgServer) stop(mode string) {
	pidFile := filepath.Join(s.data(), "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return // not running
	}
	if err := s.command(s.pgctl, "stop", "-D", s.data(), "-m", mode, "-w", "-t", "30").Run(); err == nil {
		return
	}
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0]); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestServerRestart: a broker restart does not end the member: it
// reconnects, and messages flow again both ways.
func TestServerRestart(t *testing.T) {
	s := startPostgres(t)
	t1, t2 := newTransport(t, s.url()), newTransport(t, s.url())
	g := testenv.Group(t)
	a, b := testenv.Join(t, t1, g), testenv.Join(t, t2, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, b); got != "before" {
		t.Fatalf("got %q", got)
	}
	health := b.(bellwether.HealthChecker).Health
	if err := health(); err != nil {
		t.Fatalf("Health() = %v while connected", err)
	}

	s.stop("fast")
	testenv.Eventually(t, "Health() to report the lost connection", func() error {
		if err := health(); err == nil || !strings.Contains(err.Error(), "not connected to postgres") {
			return fmt.Errorf("Health() = %v", err)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Send(ctx, []byte("during")); err == nil {
		t.Fatal("Send succeeded while the server was down")
	} else {
		t.Logf("Send while down: %v", err)
	}
	if c, err := t1.Join(ctx, g+"-new"); err == nil {
		c.Close()
		t.Fatal("Join succeeded while the server was down")
	} else {
		t.Logf("Join while down: %v", err)
	}

	s.start()
	testenv.Exchange(t, a, b, "after-a")
	testenv.Exchange(t, b, a, "after-b")
	testenv.Eventually(t, "Health() to be nil after reconnecting", health)
	// A group joined after the restart works too.
	c, d := testenv.Join(t, t1, g+"-late"), testenv.Join(t, t2, g+"-late")
	testenv.Send(t, c, "late")
	if got := testenv.Recv(t, d); got != "late" {
		t.Fatalf("got %q", got)
	}
}
