//go:build unix

package main

// Secrets in bus URLs, tried as an operator would: the command, built and
// run as a process, must not print a bus URL's password anywhere.

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
)

const secret = "s3cret"

// withPassword returns u with the password secret (and user, when u has
// none and user is not "").
func withPassword(u *url.URL, user string) string {
	c := *u
	if c.User != nil && c.User.Username() != "" {
		user = c.User.Username()
	}
	c.User = url.UserPassword(user, secret)
	return c.String()
}

// noSecret fails t if the secret shows in the output of args.
func noSecret(t *testing.T, args []string, stdout, stderr string) {
	t.Helper()
	if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
		t.Errorf("%v prints the password %q:\nstdout: %s\nstderr: %s", args, secret, stdout, stderr)
	}
}

// TestE2ESecretsInErrors: an unreachable or malformed bus's error names
// the bus without its secrets.
func TestE2ESecretsInErrors(t *testing.T) {
	t.Parallel()
	binary(t)
	free := testenv.FreePort(t)
	for _, bus := range []string{
		fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/x", secret, free),
		fmt.Sprintf("postgres://127.0.0.1:%d/x?sslmode=disable&password=%s", free, secret),
		fmt.Sprintf("nats://u:%s@127.0.0.1:%d", secret, free),
		fmt.Sprintf("nats://%s@127.0.0.1:%d", secret, free), // a token
		fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", secret, free),
		fmt.Sprintf("mqtt://u:%s@127.0.0.1:%d", secret, free),
		fmt.Sprintf("postgres://u:%s%%zz@127.0.0.1:%d/x", secret, free), // not a URL
		fmt.Sprintf("host=127.0.0.1 port=%d password=%s", free, secret), // a DSN
		fmt.Sprintf("mem://u:%s@x", secret),
	} {
		for _, args := range [][]string{
			{"run", "--log-level", "debug", "--bus", bus, "--", "true"},
			{"status", "--log-level", "debug", "--bus", bus},
		} {
			code, stdout, stderr := runBin(t, args...)
			if code != exitUsage || !strings.Contains(stderr, "xxxxx") {
				t.Errorf("%v: exit %d, stderr %q; want %d and the bus named with xxxxx for its secret", args, code, stderr, exitUsage)
			}
			noSecret(t, args, stdout, stderr)
		}
	}
}

// TestE2ESecretsOnServers: with a password the servers accept (the test
// PostgreSQL trusts any; Redis without requirepass too), run's "joined"
// line and status's "no leader heard" error hide it, while run's job
// still gets the bus URL whole in BELLWETHER_BUS.
func TestE2ESecretsOnServers(t *testing.T) {
	t.Parallel()
	binary(t)
	buses := map[string]string{}
	if u := testenv.PostgresURL(t); u != nil {
		buses["postgres"] = withPassword(u, "postgres")
	}
	if u := testenv.RedisURL(t); u != nil {
		buses["redis"] = withPassword(u, "")
	}
	for name, bus := range buses {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			group := testenv.Group(t)
			env := filepath.Join(t.TempDir(), "bus")
			args := append([]string{"run", "--log-level", "debug", "--bus", bus, "--group", group}, e2eTimings...)
			args = append(args, "--", "sh", "-c", `printf %s "$BELLWETHER_BUS" > "$0"`, env)
			code, stdout, stderr := runBin(t, args...)
			if code != 0 || !strings.Contains(stderr, "msg=joined") || !strings.Contains(stderr, ":xxxxx@") {
				t.Errorf("run on %s: exit %d; want 0 and a joined line naming the bus with xxxxx; stderr:\n%s", name, code, stderr)
			}
			noSecret(t, args, stdout, stderr)
			if got, err := os.ReadFile(env); err != nil || string(got) != bus {
				t.Errorf("the job's BELLWETHER_BUS = %q (%v); want the bus URL whole, %q", got, err, bus)
			}

			args = []string{"status", "--log-level", "debug", "--bus", bus, "--group", testenv.Group(t), "--wait", "500ms"}
			code, stdout, stderr = runBin(t, args...)
			if code != exitNoLeader || !strings.Contains(stderr, "no leader heard") || !strings.Contains(stderr, ":xxxxx@") {
				t.Errorf("status on %s: exit %d; want %d and \"no leader heard\" naming the bus with xxxxx; stderr:\n%s", name, code, exitNoLeader, stderr)
			}
			noSecret(t, args, stdout, stderr)
		})
	}
}

// TestE2ESecretsInHelp: a password in BELLWETHER_BUS does not show in
// --help, which lists each flag's environment variable.
func TestE2ESecretsInHelp(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	for _, sub := range []string{"run", "watch", "status"} {
		cmd := exec.Command(bin, sub, "--help")
		cmd.Env = append(cleanEnv(), "BELLWETHER_BUS=postgres://postgres:"+secret+"@127.0.0.1:5432/postgres?password="+secret)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s --help: %v; stderr:\n%s", sub, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "BELLWETHER_BUS") {
			t.Errorf("%s --help does not name BELLWETHER_BUS:\n%s", sub, stdout.String())
		}
		noSecret(t, []string{sub, "--help"}, stdout.String(), stderr.String())
	}
}
