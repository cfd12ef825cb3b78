package testserver

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether/internal/testenv"
)

const postgresHint = "install PostgreSQL (apt-get install postgresql, or run scripts/services.sh)"

// Postgres starts a private PostgreSQL cluster, made by initdb in a
// temporary directory, with user postgres trusted and durability off. Run
// as root, the cluster runs as the postgres user, since PostgreSQL refuses
// to run as root. Stop is a fast shutdown (SIGINT), which ends every
// session with an error.
func Postgres(t testing.TB) *Server {
	t.Helper()
	initdb := testenv.Command(t, "initdb", postgresHint, "/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
	postgres := filepath.Join(filepath.Dir(initdb), "postgres")
	if _, err := os.Stat(postgres); err != nil {
		postgres = testenv.Command(t, "postgres", postgresHint)
	}
	s := &Server{name: "postgres", port: testenv.FreePort(t), dir: tempDir(t, "pg"), stopSignal: sigInt}
	s.url = &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: s.Addr(),
		Path: "/postgres", RawQuery: "sslmode=disable&connect_timeout=5"}
	data := filepath.Join(s.dir, "data")
	asUser := func(cmd *exec.Cmd) *exec.Cmd { return cmd }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "running as root needs a postgres user to run a test cluster as: %v; %s", err, postgresHint)
			return nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			t.Fatalf("testserver: %v", err)
		}
		asUser = func(cmd *exec.Cmd) *exec.Cmd {
			runAs(cmd, uint32(uid), uint32(gid))
			return cmd
		}
	}
	init := asUser(exec.Command(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"))
	init.Dir = s.dir
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("testserver: initdb: %v\n%s", err, out)
	}
	s.command = func() *exec.Cmd {
		cmd := asUser(exec.Command(postgres, "-D", data, "-p", strconv.Itoa(s.port), "-k", s.dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"))
		cmd.Dir = s.dir
		return cmd
	}
	// Its port opens before it takes sessions; the last line of
	// postmaster.pid says "ready" once it does (what pg_ctl -w waits for).
	s.ready = func() error {
		b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if st := strings.TrimSpace(lines[len(lines)-1]); st != "ready" {
			return fmt.Errorf("postmaster.pid says %q", st)
		}
		return nil
	}
	return newServer(t, s)
}
