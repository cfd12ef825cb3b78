package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestMeasure: on a perfect in-process bus, the measured times fall where
// the protocol puts them: a clean handover takes an election, a crash the
// rest of the heartbeat timeout and an election.
func TestMeasure(t *testing.T) { synctest.Test(t, testMeasure) }

func testMeasure(t *testing.T) {
	s := bellwether.Settings{ElectionTimeout: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: 800 * time.Millisecond}
	hub := mem.NewHub()
	open := func(context.Context) (bellwether.Transport, error) { return hub.NewTransport(), nil }
	r, err := measure(context.Background(), open, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.startup) != 4 || len(r.handover) != 2 || len(r.failover) != 2 {
		t.Fatalf("got %d startups, %d handovers, %d failovers; want 4, 2, 2", len(r.startup), len(r.handover), len(r.failover))
	}
	// Generous upper bounds: a loaded machine may be slow, never early.
	for _, d := range r.handover {
		if d < s.ElectionTimeout || d > s.ElectionTimeout+5*time.Second {
			t.Errorf("clean handover took %v; want an election timeout (%v) and a little", d, s.ElectionTimeout)
		}
	}
	for _, d := range r.failover {
		low := s.HeartbeatTimeout - s.HeartbeatInterval + s.ElectionTimeout
		if d < low || d > s.HeartbeatTimeout+s.ElectionTimeout+5*time.Second {
			t.Errorf("crash failover took %v; want at least %v (heartbeat timeout less an interval, and an election)", d, low)
		}
	}
}

func TestRunPrintsTable(t *testing.T) { synctest.Test(t, testRunPrintsTable) }

func testRunPrintsTable(t *testing.T) {
	var out, log bytes.Buffer
	// Only mem and the skipped udp, with the default settings, in virtual
	// time.
	if err := run(&out, &log, 1, "mem,udp", "redis://127.0.0.1:1/0", "postgres://127.0.0.1:1/x"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"settings 1s/2s/8s", "| transport | first election |", "| mem | ", "| udp | not measured"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "nats") || strings.Contains(got, "redis") {
		t.Errorf("-only mem,udp measured others:\n%s", got)
	}
}
