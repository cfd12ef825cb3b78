// Package testenv finds what the transport tests need from the machine:
// the shared Redis and PostgreSQL servers, server binaries for tests that
// run their own, free ports and unique group names.
//
// A test whose server or binary is missing skips with one line saying how
// to get it, except under CI=true, where it fails: CI must run every test.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Defaults for the environment variables BELLWETHER_TEST_REDIS and
// BELLWETHER_TEST_POSTGRES, which name the shared test servers.
const (
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// CI reports whether the tests run in CI (CI=true), where a missing server
// or binary fails a test instead of skipping it.
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Unavailable stops t because something it needs is missing: it skips
// with the message, or under CI=true fails with it.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true: failing rather than skipping)", msg)
		return
	}
	t.Skip(msg)
}

// RedisURL returns the shared test Redis server's URL, from
// BELLWETHER_TEST_REDIS or DefaultRedisURL, once it accepts TCP
// connections; otherwise it stops t with Unavailable.
func RedisURL(t testing.TB) *url.URL {
	t.Helper()
	return serverURL(t, "BELLWETHER_TEST_REDIS", DefaultRedisURL, "redis", "6379")
}

// PostgresURL returns the shared test PostgreSQL server's URL, from
// BELLWETHER_TEST_POSTGRES or DefaultPostgresURL, once it accepts TCP
// connections; otherwise it stops t with Unavailable.
func PostgresURL(t testing.TB) *url.URL {
	t.Helper()
	return serverURL(t, "BELLWETHER_TEST_POSTGRES", DefaultPostgresURL, "postgres", "5432")
}

func serverURL(t testing.TB, env, def, name, defPort string) *url.URL {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s=%q is not a URL: %v", env, raw, err)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = defPort
	}
	addr := net.JoinHostPort(host, port)
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		Unavailable(t, "%s not reachable at %s (%v): run scripts/services.sh or set %s", name, addr, err, env)
		return nil
	}
	c.Close()
	return u
}

// Command returns the path of the program name, looked up in PATH and
// then in dirs (which may hold glob patterns, the newest match first); if
// it is nowhere it stops t with Unavailable, naming install as the fix.
func Command(t testing.TB, name, install string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, name))
		slices.Reverse(matches) // "…/17/bin" before "…/15/bin"
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return m
			}
		}
	}
	Unavailable(t, "%s not found in PATH: %s", name, install)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitForPort waits until addr accepts TCP connections or timeout passes.
func WaitForPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Group returns a group name unique to this run, made of t's name and a
// random suffix, since the shared servers may carry other runs' groups.
func Group(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatal(err)
	}
	return name + "-" + hex.EncodeToString(suffix[:])
}

// Eventually calls f every 10ms until it returns nil, and fails t with
// f's last error if that takes longer than 30 seconds.
func Eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
