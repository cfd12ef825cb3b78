package testenv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// fakeTB records how a helper stopped the test instead of stopping it.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestUnavailableSkipsOrFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	Unavailable(f, "x is missing: %s", "install x")
	if f.skipped != "x is missing: install x" || f.failed != "" {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip", f.skipped, f.failed)
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	Unavailable(f, "x is missing")
	if f.failed == "" || f.skipped != "" {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure", f.skipped, f.failed)
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Setenv("CI", "")
	port := FreePort(t)
	t.Setenv("BELLWETHER_TEST_REDIS", fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	f := &fakeTB{TB: t}
	RedisURL(f)
	want := fmt.Sprintf("redis not reachable at 127.0.0.1:%d", port)
	if !strings.HasPrefix(f.skipped, want) || !strings.Contains(f.skipped, "run scripts/services.sh or set BELLWETHER_TEST_REDIS") || strings.Contains(f.skipped, "\n") {
		t.Fatalf("skipped with %q; want one line starting %q and saying how to start the server", f.skipped, want)
	}
}

func TestCommand(t *testing.T) {
	if p := Command(t, "sh", "install a shell"); p == "" {
		t.Fatal("sh not found")
	}
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	if p := Command(f, "bellwether-no-such-program", "install it", t.TempDir()); p != "" || !strings.Contains(f.skipped, "install it") {
		t.Fatalf("Command = %q, skipped %q; want a skip naming the fix", p, f.skipped)
	}
}

func TestGroup(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		g := Group(t)
		if err := bellwether.ValidateGroup(g); err != nil {
			t.Fatal(err)
		}
		if seen[g] {
			t.Fatalf("Group returned %q twice", g)
		}
		seen[g] = true
	}
	t.Run(strings.Repeat("long/name é ", 20), func(t *testing.T) {
		if err := bellwether.ValidateGroup(Group(t)); err != nil {
			t.Fatal(err)
		}
	})
}
