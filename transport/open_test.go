package transport_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport"
)

// TestLinksOnlyImportedBuses: a program that imports transport and
// transport/nats links nats.go, and neither go-redis, pgx nor the MQTT
// client.
func TestLinksOnlyImportedBuses(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(gocmd, "list", "-deps", "./testdata/natsonly").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if !deps["github.com/nats-io/nats.go"] {
		t.Fatalf("the program does not link nats.go; go list said:\n%s", out)
	}
	for p := range deps {
		for _, sdk := range []string{"github.com/redis/", "github.com/jackc/", "github.com/eclipse/paho", "transport/redis", "transport/postgres", "transport/mqtt", "transport/udp", "transport/local", "transport/mem"} {
			if strings.Contains(p, sdk) {
				t.Errorf("a program that imports only transport/nats links %s", p)
			}
		}
	}
}

// TestOpenNamesTheMissingImport: a scheme whose bus the program does not
// import gets an error naming the import; this test imports no bus.
func TestOpenNamesTheMissingImport(t *testing.T) {
	_, err := transport.Open(context.Background(), "nats://127.0.0.1:4222")
	if err == nil || !strings.Contains(err.Error(), `import _ "github.com/bellwether-go/bellwether/transport/nats"`) {
		t.Fatalf("Open of an unimported bus: %v", err)
	}
	_, err = transport.Open(context.Background(), "carrier-pigeon://coop")
	if err == nil || !strings.Contains(err.Error(), `unknown scheme "carrier-pigeon"`) {
		t.Fatalf("Open of an unknown scheme: %v", err)
	}
}

type fake struct{ bellwether.Transport }

func TestRegister(t *testing.T) {
	open := func(_ context.Context, u *url.URL, _ ...transport.Option) (bellwether.Transport, error) {
		return fake{}, nil
	}
	// The registry is the process's: with -count=2 the first run's
	// registration is still there.
	if !slices.Contains(transport.Schemes(), "test-register") {
		transport.Register("test-register", "test-register://x", open)
	}
	tr, err := transport.Open(context.Background(), "test-register://x")
	if err != nil || tr != (fake{}) {
		t.Fatalf("Open of a registered scheme = %v, %v", tr, err)
	}
	found := false
	for _, s := range transport.Schemes() {
		found = found || s == "test-register"
	}
	if !found {
		t.Fatalf("Schemes() = %q lacks test-register", transport.Schemes())
	}
	for _, bad := range []struct {
		name, scheme, example string
		open                  transport.OpenFunc
	}{
		{"duplicate", "test-register", "test-register://x", open},
		{"nil open", "test-nil", "test-nil://x", nil},
		{"empty scheme", "", "x://", open},
		{"empty example", "test-noexample", "", open},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register with %s did not panic", bad.name)
				}
			}()
			transport.Register(bad.scheme, bad.example, bad.open)
		}()
	}
}

func TestCheckURL(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	u := func(s string) *url.URL {
		t.Helper()
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"nil URL", transport.CheckURL(context.Background(), nil, "x", "x://h", "want x://h", "x"), "bellwether/x: FromURL needs a URL like x://h; got nil"},
		{"ctx done", transport.CheckURL(canceled, u("x://h"), "x", "x://h", "want x://h", "x"), "bellwether/x: opening x://h: context canceled"},
		{"good", transport.CheckURL(context.Background(), u("x://h"), "x", "x://h", "want x://h", "x"), ""},
		{"other scheme", transport.CheckURL(context.Background(), u("y://h"), "x", "x://h", "want x://h", "x"), `bellwether/x: URL "y://h" has scheme "y"; want x://h`},
		{"scheme: nil URL", transport.CheckScheme(nil, "s", "s://h", "use s://h", "s", "ss"), "bellwether/s: FromURL needs a URL like s://h; got nil"},
		{"scheme: second", transport.CheckScheme(u("ss://h"), "s", "s://h", "use s://h", "s", "ss"), ""},
		{"scheme: other", transport.CheckScheme(u("t://h"), "s", "s://h", "use s://h", "s", "ss"), `bellwether/s: URL "t://h" has scheme "t"; use s://h`},
		{"no host", transport.CheckHost(u("s:///p"), "s", "use s://h"), `bellwether/s: URL "s:///p" has no host; use s://h`},
		{"host", transport.CheckHost(u("s://h:1"), "s", "use s://h"), ""},
		{"unreachable", transport.Unreachable("s", "h:1", errors.New("refused"), "s-server", "s-server -a %s -p %s"), "bellwether/s: cannot reach s at h:1: refused; is s-server running? start it with `s-server -a h -p 1`, or fix the URL"},
	} {
		got := ""
		if c.err != nil {
			got = c.err.Error()
		}
		if got != c.want {
			t.Errorf("%s: error %q, want %q", c.name, got, c.want)
		}
	}
}
