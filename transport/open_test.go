package transport_test

import (
	"context"
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
