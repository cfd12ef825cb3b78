package redis_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
	goredis "github.com/redis/go-redis/v9"
)

// rawClient is a plain go-redis client of the server at u, closed when the
// test ends.
func rawClient(t *testing.T, u string) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestWire: the payload on the bus is exactly the message; a plain Redis
// client that PUBLISHes leader-event JSON is heard by every member; no
// member hears itself.
func TestWire(t *testing.T) {
	u := testenv.RedisURL(t)
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := testenv.Group(t)
	members := []bellwether.Conn{testenv.Join(t, t1, g), testenv.Join(t, t1, g), testenv.Join(t, t2, g)}

	raw := rawClient(t, u.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	channel := "bellwether:" + g
	sub := raw.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.ReceiveTimeout(ctx, 10*time.Second); err != nil { // the confirmation
		t.Fatal(err)
	}
	testenv.Wire(t, members, testenv.Bus{
		Publish: func(ctx context.Context, msg string) error { return raw.Publish(ctx, channel, msg).Err() },
		Next: func(ctx context.Context) (string, error) {
			m, err := sub.ReceiveMessage(ctx)
			if err != nil {
				return "", err
			}
			return m.Payload, nil
		},
	})
}

// TestIdenticalMessages: own echoes are told apart by content, so
// byte-identical messages are counted: each member hears every copy the
// others sent and none of its own.
func TestIdenticalMessages(t *testing.T) {
	u := testenv.RedisURL(t)
	t1, t2 := newTransport(t, u), newTransport(t, u)
	g := testenv.Group(t)
	a, b, c := testenv.Join(t, t1, g), testenv.Join(t, t1, g), testenv.Join(t, t2, g)
	const same = `{"type":"leader","action":"current","clientId":"twin"}`
	testenv.Send(t, a, same)
	testenv.Send(t, a, same)
	testenv.Send(t, b, same)
	for _, tc := range []struct {
		name string
		c    bellwether.Conn
		n    int
	}{{"a", a, 1}, {"b", b, 2}, {"c", c, 3}} {
		for i := range tc.n {
			if got := testenv.Recv(t, tc.c); got != same {
				t.Fatalf("%s: message %d = %q", tc.name, i, got)
			}
		}
	}
	// Had a or b heard one copy too many, it would come before this.
	testenv.Send(t, c, "marker")
	for _, m := range []bellwether.Conn{a, b} {
		if got := testenv.Recv(t, m); got != "marker" {
			t.Fatalf("got %q; want the marker", got)
		}
	}
	testenv.Silent(t, a, b, c)
}

// TestHealth: Health is nil while the subscription works, reports a server
// that stops answering (the PING goes unanswered) and a server that is
// gone, and is nil again once the Transport has reconnected.
func TestHealth(t *testing.T) {
	defer bwredis.SetPingInterval(200 * time.Millisecond)()
	s := startRedis(t)
	tr := newTransport(t, s.url())
	a := testenv.Join(t, tr, testenv.Group(t))
	health := a.(bellwether.HealthChecker).Health
	// Idle for several ping intervals: the PINGs are answered.
	time.Sleep(time.Second)
	if err := health(); err != nil {
		t.Fatalf("Health() = %v on an idle, working connection", err)
	}

	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Health() to report the unanswered PING", func() error {
		if err := health(); err == nil || !strings.Contains(err.Error(), "no reply to PING") {
			return errors.New("Health() = " + errString(err))
		}
		return nil
	})
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "Health() to be nil once the server answers again", health)

	s.kill()
	testenv.Eventually(t, "Health() to report the server gone", func() error {
		if err := health(); err == nil || !strings.Contains(err.Error(), "is not working") {
			return errors.New("Health() = " + errString(err))
		}
		return nil
	})
	s.start()
	testenv.Eventually(t, "Health() to be nil after reconnecting", health)
	a.Close()
	if err := health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v; want ErrClosed", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
