package redis_test

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the restart tests make many.
	goredis.SetLogger(quietLogger{})
	goleak.VerifyTestMain(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func newTransport(t testing.TB, u *url.URL) *bwredis.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := bwredis.FromURL(ctx, u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", u.Redacted(), err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestBasic(t *testing.T) {
	u := testenv.RedisURL(t)
	testenv.Basic(t, func(t testing.TB) bellwether.Transport { return newTransport(t, u) }, testenv.Caps{RecvBuffer: bwredis.RecvBuffer})
}

func TestLastMemberUnsubscribes(t *testing.T) {
	u := testenv.RedisURL(t)
	tr := newTransport(t, u)
	g := testenv.Group(t)
	channel := "bellwether:" + g

	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opt)
	defer admin.Close()
	subscribers := func() int64 {
		n, err := admin.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatalf("PUBSUB NUMSUB: %v", err)
		}
		return n[channel]
	}

	a, b := testenv.Join(t, tr, g), testenv.Join(t, tr, g)
	if n := subscribers(); n != 1 {
		t.Fatalf("two members on one transport make %d subscriptions to %s; want 1", n, channel)
	}
	a.Close()
	if n := subscribers(); n != 1 {
		t.Fatalf("after one of two members left, %d subscriptions; want 1", n)
	}
	b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %d subscribers 5s after the last member left", channel, subscribers())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFromURLErrors(t *testing.T) {
	ctx := context.Background()
	port := testenv.FreePort(t)
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"nats://127.0.0.1:6379", `scheme "nats"; use redis://`},
		{"redis://", "has no host"},
		{"redis://127.0.0.1:6379/x", "invalid database number"},
		{fmt.Sprintf("redis://127.0.0.1:%d/0", port), fmt.Sprintf("cannot reach redis at 127.0.0.1:%d", port)},
		{fmt.Sprintf("redis://127.0.0.1:%d/0", port), "connection refused; is redis-server running? start it with `redis-server"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := bwredis.FromURL(ctx, u)
		if err == nil {
			tr.Close()
			t.Errorf("FromURL(%s) succeeded; want an error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromURL(%s) = %v; want it to say %q", tc.url, err, tc.want)
		}
	}
	if _, err := bwredis.FromURL(ctx, nil); err == nil {
		t.Error("FromURL(nil) succeeded")
	}
}

func TestFromURLBadCredentials(t *testing.T) {
	u := *testenv.RedisURL(t)
	u.User = url.UserPassword("bellwether-no-such-user", "secret")
	tr, err := bwredis.FromURL(context.Background(), &u)
	if err == nil {
		tr.Close()
		t.Fatal("FromURL with a user that does not exist succeeded")
	}
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
	g := testenv.Group(t)
	a, b := testenv.Join(t, tr, g), testenv.Join(t, newTransport(t, u), g)
	testenv.Send(t, a, "hi")
	if got := testenv.Recv(t, b); got != "hi" {
		t.Fatalf("got %q", got)
	}
	tr.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the caller's client no longer works after Transport.Close: %v", err)
	}
	if _, err := bwredis.New(context.Background(), nil); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// redisServer is a redis-server child process on a port of its own.
type redisServer struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin := testenv.Command(t, "redis-server", "install it (apt-get install redis-server, or run scripts/services.sh)")
	s := &redisServer{t: t, bin: bin, port: testenv.FreePort(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) url() *url.URL {
	return &url.URL{Scheme: "redis", Host: "127.0.0.1:" + strconv.Itoa(s.port), Path: "/0"}
}

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	if err := testenv.WaitForPort(fmt.Sprintf("127.0.0.1:%d", s.port), 10*time.Second); err != nil {
		s.kill()
		s.t.Fatalf("redis-server: %v", err)
	}
}

// kill stops the server at once, as a crash would.
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// TestServerRestart: a broker restart does not end the member: it
// reconnects, and messages flow again both ways.
func TestServerRestart(t *testing.T) {
	s := startRedis(t)
	t1, t2 := newTransport(t, s.url()), newTransport(t, s.url())
	g := testenv.Group(t)
	a, b := testenv.Join(t, t1, g), testenv.Join(t, t2, g)
	testenv.Send(t, a, "before")
	if got := testenv.Recv(t, b); got != "before" {
		t.Fatalf("got %q", got)
	}

	s.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Send(ctx, []byte("during")); err == nil {
		t.Fatal("Send succeeded while the server was down")
	}
	if c, err := t1.Join(ctx, g+"-new"); err == nil {
		c.Close()
		t.Fatal("Join succeeded while the server was down")
	}

	s.start()
	testenv.Exchange(t, a, b, "after-a")
	testenv.Exchange(t, b, a, "after-b")
	// A group joined after the restart works too.
	c, d := testenv.Join(t, t1, g+"-late"), testenv.Join(t, t2, g+"-late")
	testenv.Send(t, c, "late")
	if got := testenv.Recv(t, d); got != "late" {
		t.Fatalf("got %q", got)
	}
}
