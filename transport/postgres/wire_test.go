package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwpostgres "github.com/bellwether-go/bellwether/transport/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestWire: the payload on the bus is exactly the message; a plain
// PostgreSQL client that sends leader-event JSON with pg_notify is heard by
// every member; no member hears itself.
func TestWire(t *testing.T) {
	u := testenv.PostgresURL(t)
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := testenv.Group(t)
	members := []bellwether.Conn{bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t2, g)}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// One session listens, as a foreign member would, and another sends.
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	heard := make(chan []byte, 100)
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) { heard <- []byte(n.Payload) }
	listener, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	sender, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(context.Background())
	channel := "bellwether_" + g
	if _, err := listener.Exec(ctx, `LISTEN "`+channel+`"`).ReadAll(); err != nil {
		t.Fatal(err)
	}
	bellwethertest.TestWire(t, members, bellwethertest.Bus{
		Publish: func(ctx context.Context, msg []byte) error {
			return sender.ExecParams(ctx, "SELECT pg_notify($1, $2)", [][]byte{[]byte(channel), msg}, nil, nil, nil).Read().Err
		},
		Next: func(ctx context.Context) ([]byte, error) {
			for {
				select {
				case p := <-heard:
					return p, nil
				default:
				}
				if err := listener.WaitForNotification(ctx); err != nil {
					return nil, err
				}
			}
		},
	})
}

// TestForeignSameBytes: a notification with the same bytes as
// a member's message but from another session is not taken for its echo.
func TestForeignSameBytes(t *testing.T) {
	u := testenv.PostgresURL(t)
	g := testenv.Group(t)
	a := bellwethertest.Join(t, newTransport(t, u), g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sender, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(context.Background())
	const same = `{"type":"leader","action":"current","clientId":"a"}`
	// a's message and an identical one from another session: a hears the
	// other session's copy, not its own.
	bellwethertest.Send(t, a, []byte(same))
	if err := sender.ExecParams(ctx, "SELECT pg_notify($1, $2)", [][]byte{[]byte("bellwether_" + g), []byte(same)}, nil, nil, nil).Read().Err; err != nil {
		t.Fatal(err)
	}
	bellwethertest.ExpectRecv(t, a, []byte(same))
	bellwethertest.ExpectSilence(t, a)
}

func TestSendRefusesWhatIsNotText(t *testing.T) {
	u := testenv.PostgresURL(t)
	g := testenv.Group(t)
	a, b := bellwethertest.Join(t, newTransport(t, u), g), bellwethertest.Join(t, newTransport(t, u), g)
	for _, tc := range []struct {
		msg, want string
	}{
		{"a\x00b", "NUL at byte 1"},
		{"ok\xffno", "invalid UTF-8 at byte 2"},
		{"\xe2\x98", "invalid UTF-8 at byte 0"}, // a cut rune
	} {
		err := a.Send(context.Background(), []byte(tc.msg))
		if !errors.Is(err, bwpostgres.ErrNotText) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Send(%q) = %v; want ErrNotText saying %q", tc.msg, err, tc.want)
		}
	}
	// Nothing went out: the next message is the first b gets.
	bellwethertest.Send(t, a, []byte("ünïcödé ☃"))
	bellwethertest.ExpectRecv(t, b, []byte("ünïcödé ☃"))
}
