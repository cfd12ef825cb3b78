//go:build unix

package local_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/transport/local"
)

const (
	envChild = "BELLWETHER_LOCAL_TEST_CHILD"
	envDir   = "BELLWETHER_LOCAL_TEST_DIR"
	envGroup = "BELLWETHER_LOCAL_TEST_GROUP"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child is the other process of the tests: it joins the group, says
// "ready" on stdout, answers each "ping X" with "pong X" and exits on
// "quit".
func child() int {
	tr, err := local.New(os.Getenv(envDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer tr.Close()
	ctx := context.Background()
	c, err := tr.Join(ctx, os.Getenv(envGroup))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	for {
		msg, err := c.Recv(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		switch {
		case string(msg) == "quit":
			return 0
		case bytes.HasPrefix(msg, []byte("ping ")):
			if err := c.Send(ctx, append([]byte("pong "), msg[5:]...)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// startChild runs the test binary as another member of group in dir and
// waits until it has joined.
func startChild(t *testing.T, dir, group string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1", envDir+"="+dir, envGroup+"="+group)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("child process said %q, want ready", line)
		}
	case <-time.After(bellwethertest.Timeout):
		t.Fatalf("child process not ready within %v", bellwethertest.Timeout)
	}
	return cmd
}

func newTransport(t *testing.T, dir string) *local.Transport {
	t.Helper()
	tr, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func sockets(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	bellwethertest.TestTransport(t, func(t *testing.T) bellwether.Transport {
		return newTransport(t, dir)
	})
	if left, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(left) > 0 {
		t.Errorf("files left in the bus directory after every Close: %q", left)
	}
}

func TestSecondProcess(t *testing.T) {
	dir := t.TempDir()
	g := bellwethertest.UniqueGroup(t, "process")
	c := bellwethertest.Join(t, newTransport(t, dir), g)
	cmd := startChild(t, dir, g)
	for i := range 3 {
		bellwethertest.Send(t, c, fmt.Appendf(nil, "ping %d", i))
		bellwethertest.ExpectRecv(t, c, fmt.Appendf(nil, "pong %d", i))
	}

	// The child dies without removing its socket file: the next Send
	// removes it and succeeds.
	gdir := filepath.Join(dir, g)
	if n := len(sockets(t, gdir)); n != 2 {
		t.Fatalf("%d socket files with two members", n)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if n := len(sockets(t, gdir)); n != 2 {
		t.Fatalf("%d socket files after the child's death, want its stale one and ours", n)
	}
	bellwethertest.Send(t, c, []byte("to the dead"))
	if left := sockets(t, gdir); len(left) != 1 {
		t.Fatalf("socket files after a Send to a dead member: %q, want ours alone", left)
	}
}

func TestStoppedProcessBlocksNoOne(t *testing.T) {
	dir := t.TempDir()
	g := bellwethertest.UniqueGroup(t, "stopped")
	tr := newTransport(t, dir)
	a := bellwethertest.Join(t, tr, g)
	r := bellwethertest.Join(t, newTransport(t, dir), g)
	cmd := startChild(t, dir, g)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Signal(syscall.SIGCONT)
	const n = 500
	msg := bytes.Repeat([]byte{'m'}, 4<<10)
	start := time.Now()
	for i := range n {
		copy(msg, fmt.Sprintf("msg %04d ", i))
		bellwethertest.Send(t, a, msg)
		bellwethertest.ExpectRecv(t, r, msg)
	}
	elapsed := time.Since(start)
	unsent := a.(*local.Conn).Unsent()
	t.Logf("%d messages of %d bytes in %v beside a stopped process; %d copies to it dropped", n, len(msg), elapsed, unsent)
	if unsent == 0 {
		t.Error("no copy to the stopped process was dropped; was it stopped?")
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	tr := newTransport(t, dir)
	g := bellwethertest.UniqueGroup(t, "files")
	a := bellwethertest.Join(t, tr, g)
	b := bellwethertest.Join(t, tr, g)
	gdir := filepath.Join(dir, g)
	fi, err := os.Stat(gdir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("group directory mode %v, want 0700", fi.Mode().Perm())
	}
	socks := sockets(t, gdir)
	if len(socks) != 2 {
		t.Fatalf("socket files %q, want 2", socks)
	}
	for _, s := range socks {
		fi, err := os.Lstat(s)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want a socket of mode 0600", s, fi.Mode())
		}
	}
	a.Close()
	if n := len(sockets(t, gdir)); n != 1 {
		t.Fatalf("%d socket files after one of two members closed", n)
	}
	_ = b
	tr.Close()
	if _, err := os.Stat(gdir); !os.IsNotExist(err) {
		t.Fatalf("group directory still there after its last member left: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bus")
	if _, err := local.New(dir); err != nil {
		t.Fatalf("New on a new directory: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("New made the directory with mode %v, want 0700", fi.Mode().Perm())
	}

	for _, mode := range []os.FileMode{0o777, 0o770, 0o702} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := local.New(dir)
		if err == nil || !strings.Contains(err.Error(), "chmod go-w") {
			t.Errorf("New on a directory of mode %v = %v, want a refusal", mode, err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := local.New(dir); err != nil {
		t.Errorf("New on a directory of mode 0755: %v", err)
	}

	// A group directory someone loosened is refused at Join.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tr := newTransport(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "loose"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "loose"), 0o777); err != nil {
		t.Fatal(err)
	}
	if c, err := tr.Join(context.Background(), "loose"); err == nil {
		c.Close()
		t.Error("Join in a world-writable group directory succeeded")
	}

	other := filepath.Join(t.TempDir(), "other")
	if os.Geteuid() == 0 {
		if err := os.Mkdir(other, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		other = "/" // owned by root
	}
	if _, err := local.New(other); err == nil || !strings.Contains(err.Error(), "owned by uid") {
		t.Errorf("New on a directory of another user = %v, want a refusal", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
}

func TestLongNames(t *testing.T) {
	dir := t.TempDir()
	ta, tb := newTransport(t, dir), newTransport(t, dir)
	long := strings.Repeat("g", bellwether.MaxGroupLength)
	a, b := bellwethertest.Join(t, ta, long), bellwethertest.Join(t, tb, long)
	other := bellwethertest.Join(t, tb, long[:100]) // hashed too, differently
	bellwethertest.Send(t, other, []byte("other"))
	bellwethertest.Send(t, a, []byte("long"))
	bellwethertest.ExpectRecv(t, b, []byte("long"))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "~") || len(e.Name()) != 33 {
			t.Errorf("group directory %q for a long group name, want ~ and 32 hex digits", e.Name())
		}
	}

	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 90))
	tr := newTransport(t, deep)
	_, err := tr.Join(context.Background(), "g")
	if err == nil || !strings.Contains(err.Error(), "shorter bus directory") {
		t.Errorf("Join with a socket path over the limit = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	if got, want := local.DefaultDir(), filepath.Join(xdg, "bellwether"); got != want {
		t.Fatalf("DefaultDir() = %q, want %q", got, want)
	}
	tr, err := local.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Dir() != filepath.Join(xdg, "bellwether") {
		t.Fatalf("New(\"\").Dir() = %q", tr.Dir())
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	want := filepath.Join(os.TempDir(), fmt.Sprintf("bellwether-%d", os.Geteuid()))
	if run := fmt.Sprintf("/run/user/%d", os.Geteuid()); dirExists(run) {
		want = filepath.Join(run, "bellwether")
	}
	if got := local.DefaultDir(); got != want {
		t.Fatalf("without XDG_RUNTIME_DIR, DefaultDir() = %q, want %q", got, want)
	}
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func TestFromURL(t *testing.T) {
	dir := t.TempDir()
	u, _ := url.Parse("local://" + dir)
	tr, err := local.FromURL(context.Background(), u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", u, err)
	}
	defer tr.Close()
	if tr.Dir() != dir {
		t.Fatalf("FromURL(%s).Dir() = %q", u, tr.Dir())
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	u, _ = url.Parse("local://")
	def, err := local.FromURL(context.Background(), u)
	if err != nil {
		t.Fatalf("FromURL(local://): %v", err)
	}
	defer def.Close()
	if def.Dir() != local.DefaultDir() {
		t.Fatalf("FromURL(local://).Dir() = %q, want %q", def.Dir(), local.DefaultDir())
	}
	bustest.FromURLErrors(t, local.FromURL, "local", []bustest.BadURL{
		{URL: "local:foo", Want: "'//'"},
		{URL: "local://tmp/x", Want: "three slashes"},
		{URL: "local:///tmp/x?mode=1", Want: "query"},
		{URL: "local:///", Want: "root"},
	})
}
