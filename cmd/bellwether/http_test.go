package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

// sickTransport wraps a mem transport whose connections report an
// unhealthy bus on demand.
type sickTransport struct {
	*mem.Transport
	sick atomic.Bool
}

type sickConn struct {
	bellwether.Conn
	t *sickTransport
}

func (s *sickTransport) Join(ctx context.Context, group string) (bellwether.Conn, error) {
	c, err := s.Transport.Join(ctx, group)
	if err != nil {
		return nil, err
	}
	return sickConn{c, s}, nil
}

func (c sickConn) Health() error {
	if c.t.sick.Load() {
		return errors.New("bus unreachable: dial redis://:s3cret@127.0.0.1:1 failed") // as a client library may say
	}
	return nil
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestStatusServer(t *testing.T) {
	tr := &sickTransport{Transport: mem.NewHub().NewTransport()}
	defer tr.Close()
	s := bellwether.Settings{ElectionTimeout: 20 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond, HeartbeatTimeout: 200 * time.Millisecond}
	e, err := bellwether.Join(t.Context(), tr, bellwether.Config{ID: "a", Group: "web", Settings: s, Value: "a.web:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	f, err := bellwether.Join(t.Context(), tr, bellwether.Config{ID: "b", Group: "web", Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.AwaitLeadership(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to know the leader", func() bool { l, _ := f.Leader(); return l == "a" })

	for _, tt := range []struct {
		e        *bellwether.Elector
		isLeader bool
	}{{e, true}, {f, false}} {
		srv := httptest.NewServer(newStatusHandler(tt.e, "redis://:s3cret@127.0.0.1:1"))
		code, body, h := get(t, srv.URL+"/leader")
		if code != 200 || h.Get("Content-Type") != "application/json" {
			t.Errorf("/leader: %d %s", code, h.Get("Content-Type"))
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("/leader: %v: %s", err, body)
		}
		if got["group"] != "web" || got["id"] != tt.e.ID() || got["leader"] != "a" || got["isLeader"] != tt.isLeader {
			t.Errorf("/leader of %s: %s", tt.e.ID(), body)
		}
		since, _ := got["since"].(string)
		if ts, err := time.Parse(time.RFC3339Nano, since); err != nil || !ts.Equal(tt.e.Status().Since) {
			t.Errorf("/leader: since %q: %v", since, err)
		}
		if epoch := tt.e.Status().Epoch; epoch == 0 || got["epoch"] != float64(epoch) || got["value"] != "a.web:8080" {
			t.Errorf("/leader of %s: %s; want the leader's epoch %d and its value", tt.e.ID(), body, epoch)
		}
		if len(got) != 7 {
			t.Errorf("/leader has %d fields, want 7: %s", len(got), body)
		}

		code, body, _ = get(t, srv.URL+"/metrics")
		want := `bellwether_is_leader{group="web",id="` + tt.e.ID() + `"} `
		if tt.isLeader {
			want += "1"
		} else {
			want += "0"
		}
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics: %d, lacks %q:\n%s", code, want, body)
		}
		for _, name := range []string{"bellwether_leader_changes_total", "bellwether_elections_total",
			`bellwether_events_sent_total{action="current"`, `bellwether_events_received_total{action="request"`,
			`bellwether_events_rejected_total{group="web",id="` + tt.e.ID() + `",reason="syntax"}`,
			"bellwether_duplicate_leaders_total", "bellwether_election_duration_seconds_bucket"} {
			if !strings.Contains(body, name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
		if strings.Contains(body, "go_goroutines") {
			t.Error("/metrics serves the global registry's metrics")
		}

		code, body, _ = get(t, srv.URL+"/healthz")
		if code != 200 || body != "ok\n" {
			t.Errorf("/healthz: %d %q", code, body)
		}
		tr.sick.Store(true)
		code, body, _ = get(t, srv.URL+"/healthz")
		if code != 503 || !strings.Contains(body, "bus unreachable") || strings.Contains(body, "s3cret") {
			t.Errorf("/healthz of a sick bus: %d %q; want 503, the reason, and the bus's password hidden", code, body)
		}
		tr.sick.Store(false)

		if code, _, _ = get(t, srv.URL+"/nothing"); code != 404 {
			t.Errorf("/nothing: %d", code)
		}
		resp, err := http.Post(srv.URL+"/leader", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /leader: %d", resp.StatusCode)
		}
		srv.Close()
	}

	// No leader known: "leader" is null.
	otr := mem.NewHub().NewTransport()
	defer otr.Close()
	o, err := bellwether.Join(t.Context(), otr, bellwether.Config{ID: "o", Group: "web", Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newStatusHandler(o, ""))
	_, body, _ := get(t, srv.URL+"/leader")
	srv.Close()
	o.Close(context.Background())
	if !strings.Contains(body, `"leader":null,"value":"","epoch":0,`) || !strings.Contains(body, `"isLeader":false`) {
		t.Errorf("/leader without a leader: %s", body)
	}
}
