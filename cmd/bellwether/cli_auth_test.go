//go:build unix

package main

// The command's authentication, in-process on mem:// buses: keygen, key
// files, the joined line, and status with the right, a wrong and no key.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// keyFile writes the keys, one a line, to a file of mode perm in a
// directory of t's own and returns its path.
func keyFile(t *testing.T, perm os.FileMode, keys ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "group.key")
	if err := os.WriteFile(path, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// newKey returns a key as keygen prints it.
func newKey(t *testing.T) string {
	t.Helper()
	tc := newCLI()
	if code := tc.run("keygen"); code != 0 {
		t.Fatalf("keygen: exit %d, stderr %q", code, tc.stderr)
	}
	return strings.TrimSuffix(tc.stdout.String(), "\n")
}

// keyID returns the id of key, as the logs name it.
func keyID(t *testing.T, key string) string {
	t.Helper()
	r, err := bellwether.ParseKeyring([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return r.KeyIDs()[0]
}

// noKey fails t if any of the keys shows in out.
func noKey(t *testing.T, what, out string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(out, k) || strings.Contains(out, k[:16]) {
			t.Errorf("%s shows a key:\n%s", what, out)
		}
	}
}

func TestKeygen(t *testing.T) {
	tc := newCLI()
	if code := tc.run("keygen"); code != 0 || tc.stderr.String() != "" {
		t.Fatalf("keygen: exit %d, stderr %q", code, tc.stderr)
	}
	out := tc.stdout.String()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Errorf("keygen printed %q, want one line of 43 base64url characters (32 bytes)", out)
	}
	r, err := bellwether.ParseKeyring([]byte(out))
	if err != nil || len(r.KeyIDs()) != 1 {
		t.Errorf("keygen's output is not a key file of one key: %v", err)
	}
	if other := newKey(t); other+"\n" == out {
		t.Error("two keygens printed the same key")
	}
	tc = newCLI()
	if code := tc.run("keygen", "--help"); code != 0 {
		t.Fatalf("keygen --help: exit %d", code)
	}
	for _, want := range []string{"umask 077", "chmod 600", "rotate", "(old, new)", "(new, old)", "--key-file"} {
		if !strings.Contains(tc.stdout.String(), want) {
			t.Errorf("keygen --help lacks %q:\n%s", want, tc.stdout)
		}
	}
}

// TestKeyFileRefused: a key file its group or others may read or write
// is refused with one line and exit 2, as are a malformed one and a
// missing one; no key shows.
func TestKeyFileRefused(t *testing.T) {
	key := newKey(t)
	for _, tt := range []struct {
		perm os.FileMode
		text string
		want string
	}{
		{0o644, key, "(mode 0644); make it readable by its owner only: chmod 600 "},
		{0o640, key, "(mode 0640)"},
		{0o604, key, "(mode 0604)"},
		{0o620, key, "(mode 0620)"},
		{0o600, key + "\n" + key[:20], "line 2 is not a key"},
		{0o600, key + "\n" + key, "repeats an earlier key"},
		{0o600, "# nothing but a comment", "no keys"},
	} {
		path := keyFile(t, tt.perm, tt.text)
		for _, sub := range [][]string{{"run", "--bus", memBus(), "--key-file", path, "--", "true"}, {"watch", "--key-file", path}, {"status", "--key-file", path}} {
			tc := newCLI()
			if code := tc.run(sub...); code != exitUsage {
				t.Errorf("%v (mode %04o): exit %d, want 2", sub, tt.perm, code)
			}
			stderr := tc.stderr.String()
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "bellwether "+sub[0]+": --key-file: key") || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, path) {
				t.Errorf("%v (mode %04o): stderr %q; want one line naming %s with %q", sub, tt.perm, stderr, path, tt.want)
			}
			noKey(t, "the error", stderr+tc.stdout.String(), key)
		}
	}
}

// TestKeyedInProcess: a keyed member says in its joined line that it is
// keyed and which key signs; status with its key finds it, status and
// watch with a wrong key find none and say why, status without a key
// still sees who leads (nothing is encrypted); the job gets the key
// file's path.
func TestKeyedInProcess(t *testing.T) {
	key, wrong := newKey(t), newKey(t)
	path, wrongPath := keyFile(t, 0o600, key), keyFile(t, 0o400, wrong)
	bus := memBus()
	envFile := filepath.Join(t.TempDir(), "env")
	leader := newCLI()
	args := append([]string{"run", "--bus", bus, "--id", "lead-1", "--key-file", path, "--log-level", "debug"}, fastFlags[:6]...)
	args = append(args, "--", "sh", "-c", `printf %s "$BELLWETHER_KEY_FILE" > "$0.tmp" && mv "$0.tmp" "$0"; exec sleep 1000`, envFile)
	done := make(chan int, 1)
	go func() { done <- leader.run(args...) }()
	waitFor(t, "the job to start", func() bool { _, err := os.Stat(envFile); return err == nil })
	if b, _ := os.ReadFile(envFile); string(b) != path {
		t.Errorf("the job's BELLWETHER_KEY_FILE = %q, want %q", b, path)
	}

	st := newCLI()
	if code := st.run(append([]string{"status", "--bus", bus, "--key-file", path}, fastFlags...)...); code != 0 || st.stdout.String() != "lead-1\n" {
		t.Errorf("status with the key: exit %d, stdout %q, stderr %q", code, st.stdout, st.stderr)
	}
	plain := newCLI()
	if code := plain.run(append([]string{"status", "--bus", bus}, fastFlags...)...); code != 0 || plain.stdout.String() != "lead-1\n" {
		t.Errorf("status without a key: exit %d, stdout %q, stderr %q", code, plain.stdout, plain.stderr)
	}
	bad := newCLI()
	code := bad.run(append([]string{"status", "--bus", bus, "--key-file", wrongPath, "--wait", "500ms"}, fastFlags...)...)
	if stderr := bad.stderr.String(); code != exitNoLeader || bad.stdout.String() != "" ||
		!regexp.MustCompile(`no leader heard in group "default" on mem://\S+ within 500ms; dropped \d+ messages that failed verification \(unknown_key \d+\): the key file's keys are not the group's, or the group is not keyed\n$`).MatchString(stderr) {
		t.Errorf("status with a wrong key: exit %d, stdout %q, stderr %q; want 3 and why", code, bad.stdout, stderr)
	}

	// watch with a wrong key prints no leader and logs why.
	w := newCLI()
	watchDone := make(chan int, 1)
	go func() {
		watchDone <- w.run(append([]string{"watch", "--bus", bus, "--key-file", wrongPath}, fastFlags...)...)
	}()
	waitFor(t, "watch with a wrong key to say why", func() bool {
		return strings.Contains(w.stderr.String(), "level=ERROR msg=\"hearing messages that fail verification and none that pass")
	})
	w.signals <- syscall.SIGTERM
	if code := <-watchDone; code != 0 || w.stdout.String() != "" {
		t.Errorf("watch with a wrong key: exit %d, stdout %q; want 0 and nothing", code, w.stdout)
	}

	leader.signals <- syscall.SIGTERM
	if code := <-done; code != 0 {
		t.Errorf("run: exit %d", code)
	}
	logs := leader.stderr.String()
	if !strings.Contains(logs, "keyed=true signing_key="+keyID(t, key)+" verifying_keys="+keyID(t, key)+" accept_unsigned=false") {
		t.Errorf("the joined line does not say the member is keyed and with which key:\n%s", logs)
	}
	for _, tc := range []*testCLI{leader, st, plain, bad, w} {
		noKey(t, "the output", tc.stdout.String()+tc.stderr.String(), key, wrong)
	}
}

// TestAcceptUnsignedInProcess: a member with --accept-unsigned warns that
// it does, and follows an unkeyed leader; without the flag it does not.
func TestAcceptUnsignedInProcess(t *testing.T) {
	path := keyFile(t, 0o600, newKey(t))
	bus := memBus()
	leader := newCLI()
	args := append([]string{"run", "--bus", bus, "--id", "lead-1"}, fastFlags...)
	done := make(chan int, 1)
	go func() { done <- leader.run(append(args, "--", "sleep", "1000")...) }()
	defer func() {
		leader.signals <- syscall.SIGTERM
		<-done
	}()
	st := newCLI()
	if code := st.run(append([]string{"status", "--bus", bus, "--key-file", path, "--accept-unsigned", "--wait", "5s"}, fastFlags...)...); code != 0 || st.stdout.String() != "lead-1\n" {
		t.Errorf("status --accept-unsigned: exit %d, stdout %q, stderr %q", code, st.stdout, st.stderr)
	}
	if !strings.Contains(st.stderr.String(), "accepting unsigned messages (--accept-unsigned)") {
		t.Errorf("status --accept-unsigned does not warn:\n%s", st.stderr)
	}
	st = newCLI()
	code := st.run(append([]string{"status", "--bus", bus, "--key-file", path, "--wait", "500ms"}, fastFlags...)...)
	if !strings.Contains(st.stderr.String(), "(unsigned ") || !strings.Contains(st.stderr.String(), "the group's members are not keyed") || code != exitNoLeader {
		t.Errorf("status with a key in an unkeyed group: exit %d, stderr %q; want 3 and why", code, st.stderr)
	}
}
