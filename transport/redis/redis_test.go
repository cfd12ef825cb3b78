package redis_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
	"github.com/bellwether-go/bellwether/internal/bustest"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage tests make many.
	goredis.SetLogger(quietLogger{})
	goleak.VerifyTestMain(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func newTransport(t testing.TB, u *url.URL) *bwredis.Transport {
	return bustest.Open(t, bwredis.FromURL, u)
}

func TestLastMemberUnsubscribes(t *testing.T) {
	u := testenv.RedisURL(t)
	g := testenv.Group(t)
	channel := "bellwether:" + g

	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opt)
	defer admin.Close()
	subscribers := func() int {
		n, err := admin.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatalf("PUBSUB NUMSUB: %v", err)
		}
		return int(n[channel])
	}
	bustest.LastMemberUnsubscribes(t, newTransport(t, u), newTransport(t, u), g, subscribers)
}

func TestFromURLErrors(t *testing.T) {
	port := testenv.FreePort(t)
	bustest.FromURLErrors(t, bwredis.FromURL, "redis", []bustest.BadURL{
		{URL: "nats://127.0.0.1:6379", Want: `scheme "nats"; use redis://`},
		{URL: "redis://", Want: "has no host"},
		{URL: "redis://127.0.0.1:6379/x", Want: "invalid database number"},
		{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Want: fmt.Sprintf("cannot reach redis at 127.0.0.1:%d", port)},
		{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Want: "connection refused; is redis-server running? start it with `redis-server"},
	})
}

func TestFromURLBadCredentials(t *testing.T) {
	u := *testenv.RedisURL(t)
	u.User = url.UserPassword("bellwether-no-such-user", "secret")
	err := bustest.Refused(t, bwredis.FromURL, &u, "a user that does not exist")
	if !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("FromURL = %v; want it to blame the credentials without showing the password", err)
	}
}

func TestNewKeepsCallersClient(t *testing.T) {
	u := testenv.RedisURL(t)
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(opt)
	defer client.Close()
	tr, err := bwredis.New(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	bustest.Talks(t, tr, newTransport(t, u))
	tr.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the caller's client no longer works after Transport.Close: %v", err)
	}
	if _, err := bwredis.New(context.Background(), nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// TestKit runs the conformance kit and the outage test, each on a
// redis-server of its own.
func TestKit(t *testing.T) {
	bustest.Kit(t, testserver.Redis, bwredis.FromURL, bellwethertest.RecvBuffer(bwredis.RecvBuffer), bellwethertest.HealthDown("is not working"))
}
