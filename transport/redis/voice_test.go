package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/transport"
	bwredis "github.com/bellwether-go/bellwether/transport/redis"
)

// TestClientLogGoesToLogger: go-redis's own log lines about an unreachable
// server (its "connection pool" lines, printed to stderr by default) go
// to the logger given with transport.WithLogger, at Debug level, and
// FromURL's error is the one line that says what is wrong.
func TestClientLogGoesToLogger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u := &url.URL{Scheme: "redis", Host: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), Path: "/0"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr, err := bwredis.FromURL(ctx, u, transport.WithLogger(log))
	if err == nil {
		tr.Close()
		t.Fatal("FromURL succeeded with nothing listening")
	}
	if !strings.HasPrefix(err.Error(), "bellwether/redis: cannot reach redis") {
		t.Errorf("error %q", err)
	}
	if !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "go-redis") {
		t.Fatalf("go-redis's lines did not reach the logger at Debug level; the logger got:\n%s", buf.String())
	}
}
