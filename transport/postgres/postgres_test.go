package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwpostgres "github.com/bellwether-go/bellwether/transport/postgres"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newTransport(t testing.TB, u *url.URL) *bwpostgres.Transport {
	return bustest.Open(t, bwpostgres.FromURL, u)
}

func TestMaxMessageSize(t *testing.T) {
	u := testenv.PostgresURL(t)
	a := bellwethertest.Join(t, newTransport(t, u), testenv.Group(t))
	if got := a.MaxMessageSize(); got != 7999 {
		t.Fatalf("MaxMessageSize = %d; want 7999, the longest notification payload", got)
	}
}

// sessions counts the server's sessions with application_name app.
func sessions(t *testing.T, u *url.URL, app string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	res := conn.ExecParams(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
		[][]byte{[]byte(app)}, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	n, err := strconv.Atoi(string(res.Rows[0][0]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTwoConnectionsPerTransport(t *testing.T) {
	u := testenv.PostgresURL(t)
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	app := testenv.Group(t) // under 64 bytes, the longest application_name
	cfg.RuntimeParams["application_name"] = app
	tr, err := bwpostgres.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	g := testenv.Group(t)
	for i := range 20 {
		a := bellwethertest.Join(t, tr, fmt.Sprintf("%s-%d", g, i))
		bellwethertest.Join(t, tr, fmt.Sprintf("%s-%d", g, i))
		bellwethertest.Send(t, a, []byte("x"))
	}
	if n := sessions(t, u, app); n != 2 {
		t.Fatalf("a transport with 20 groups of 2 members holds %d connections; want 2", n)
	}
}

func TestFromURLErrors(t *testing.T) {
	port := testenv.FreePort(t)
	bustest.FromURLErrors(t, bwpostgres.FromURL, "postgres", []bustest.BadURL{
		{URL: "redis://127.0.0.1:5432", Want: `scheme "redis"; use postgres://`},
		{URL: "postgres://127.0.0.1:5432/x?sslmode=bogus", Want: "sslmode"},
		{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), Want: fmt.Sprintf("cannot reach postgres at 127.0.0.1:%d", port)},
		{URL: fmt.Sprintf("postgresql://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), Want: "is PostgreSQL running"},
	})
	if _, err := bwpostgres.New(context.Background(), nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestFromURLNoSuchDatabase(t *testing.T) {
	u := *testenv.PostgresURL(t)
	u.Path = "/bellwether_no_such_database"
	err := bustest.Refused(t, bwpostgres.FromURL, &u, "a database that does not exist")
	if !strings.Contains(err.Error(), "createdb bellwether_no_such_database") {
		t.Fatalf("FromURL = %v; want it to say how to create the database", err)
	}
}

func TestNew(t *testing.T) {
	u := testenv.PostgresURL(t)
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := bwpostgres.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	bustest.Talks(t, tr, newTransport(t, u))
}
