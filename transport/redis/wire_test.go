package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
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
	members := []bellwether.Conn{bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t2, g)}

	raw := rawClient(t, u.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	channel := "bellwether:" + g
	sub := raw.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.ReceiveTimeout(ctx, 10*time.Second); err != nil { // the confirmation
		t.Fatal(err)
	}
	bellwethertest.TestWire(t, members, bellwethertest.Bus{
		Publish: func(ctx context.Context, msg []byte) error { return raw.Publish(ctx, channel, msg).Err() },
		Next: func(ctx context.Context) ([]byte, error) {
			m, err := sub.ReceiveMessage(ctx)
			if err != nil {
				return nil, err
			}
			return []byte(m.Payload), nil
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
	a, b, c := bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t1, g), bellwethertest.Join(t, t2, g)
	same := []byte(`{"type":"leader","action":"current","clientId":"twin"}`)
	bellwethertest.Send(t, a, same)
	bellwethertest.Send(t, a, same)
	bellwethertest.Send(t, b, same)
	for _, tc := range []struct {
		name string
		c    bellwether.Conn
		n    int
	}{{"a", a, 1}, {"b", b, 2}, {"c", c, 3}} {
		for i := range tc.n {
			if got := bellwethertest.Recv(t, tc.c); string(got) != string(same) {
				t.Fatalf("%s: message %d = %q", tc.name, i, got)
			}
		}
	}
	// Had a or b heard one copy too many, it would come before this.
	bellwethertest.Send(t, c, []byte("marker"))
	for _, m := range []bellwether.Conn{a, b} {
		if got := bellwethertest.Recv(t, m); string(got) != "marker" {
			t.Fatalf("got %q; want the marker", got)
		}
	}
	bellwethertest.ExpectSilence(t, a, b, c)
}

// TestHealth: Health is nil while the subscription works, reports a server
// that stops answering (the PING goes unanswered) and a server that is
// gone, and is nil again once the Transport has reconnected.
func TestHealth(t *testing.T) {
	defer bwredis.SetPingInterval(200 * time.Millisecond)()
	s := testserver.Redis(t)
	tr := newTransport(t, s.URL())
	a := bellwethertest.Join(t, tr, testenv.Group(t))
	health := a.(bellwether.HealthChecker).Health
	// Idle for several ping intervals: the PINGs are answered.
	time.Sleep(time.Second)
	if err := health(); err != nil {
		t.Fatalf("Health() = %v on an idle, working connection", err)
	}

	// reports is the wait for Health's error to say text.
	reports := func(text string) func() error {
		return func() error {
			if err := health(); err == nil || !strings.Contains(err.Error(), text) {
				return fmt.Errorf("Health() = %v; want an error saying %q", err, text)
			}
			return nil
		}
	}
	s.Freeze()
	testenv.Eventually(t, "Health() to report the unanswered PING", reports("no reply to PING"))
	s.Thaw()
	testenv.Eventually(t, "Health() to be nil once the server answers again", health)

	s.Kill()
	testenv.Eventually(t, "Health() to report the server gone", reports("is not working"))
	s.Start()
	testenv.Eventually(t, "Health() to be nil after reconnecting", health)
	a.Close()
	if err := health(); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v; want ErrClosed", err)
	}
}
