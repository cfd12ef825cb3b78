package main

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// goBenchmarks reports the state machine's own costs, which the Node side
// has no counterpart for.
func goBenchmarks(w io.Writer) error {
	t0 := time.Unix(0, 0)
	settings := bellwether.Settings{}
	newM := func(id string) *bellwether.Machine {
		m, err := bellwether.NewMachine(bellwether.MachineConfig{ID: id, Settings: settings, Mode: bellwether.ModeReference})
		if err != nil {
			panic(err)
		}
		m.Start(t0)
		return m
	}
	rows := []struct {
		name string
		f    func(b *testing.B)
	}{
		{"follower hears a heartbeat (Machine.Receive)", func(b *testing.B) {
			m := newM("web-2")
			hb := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
			now := t0
			for b.Loop() {
				now = now.Add(time.Second)
				m.Receive(now, hb)
			}
		}},
		{"leader's heartbeat tick (Machine.Tick)", func(b *testing.B) {
			m := newM("a")
			now := t0.Add(time.Second)
			m.Tick(now)
			for b.Loop() {
				now = now.Add(2 * time.Second)
				m.Tick(now)
			}
		}},
		{"decode a heartbeat (ParseEvent)", func(b *testing.B) {
			msg := []byte(`{"type":"leader","action":"current","clientId":"web-17"}`)
			for b.Loop() {
				if _, err := bellwether.ParseEvent(msg); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"encode a heartbeat (Event.AppendJSON)", func(b *testing.B) {
			e := bellwether.NewEvent(bellwether.ActionCurrent, "web-17")
			buf := make([]byte, 0, 128)
			for b.Loop() {
				buf = e.AppendJSON(buf[:0])
			}
		}},
	}
	fmt.Fprintln(w, "## The state machine")
	fmt.Fprintln(w)
	tableHead(w, "operation", "time", "allocations")
	for _, r := range rows {
		res := testing.Benchmark(func(b *testing.B) { b.ReportAllocs(); r.f(b) })
		fmt.Fprintf(w, "| %s | %.1f ns | %d |\n", r.name, float64(res.T.Nanoseconds())/float64(res.N), res.AllocsPerOp())
	}
	fmt.Fprintln(w)
	return nil
}
