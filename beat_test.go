package bellwether

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// lastBeat's bytes are AppendJSON's for every event, the one it kept or
// another: one field changed at a time, a string of the same length and
// other bytes, the same bytes in another string, and bytes the caller
// wrote over in the message it was given.
func TestLastBeatEncodesAsAppendJSON(t *testing.T) {
	beat := Event{Type: EventType, Action: ActionCurrent, ClientID: "web-17", Epoch: 1764770000123456, Value: "10.0.0.7:8080"}
	events := []Event{beat, beat}
	for _, change := range []func(*Event){
		func(e *Event) { e.Epoch++ },
		func(e *Event) { e.Epoch = 0 },
		func(e *Event) { e.Epoch = MaxEpoch },
		func(e *Event) { e.Value = "10.0.0.8:8080" }, // same length
		func(e *Event) { e.Value = "" },
		func(e *Event) { e.ClientID = "web-18" },
		func(e *Event) { e.ClientID = strings.Clone(e.ClientID) }, // same bytes, another string
		func(e *Event) { e.Takeover = "web-9" },
		func(e *Event) { e.Action = ActionAccept },
		func(e *Event) { e.Type = "leaderx" },
		func(e *Event) { e.Value = "é\"\\\u2028" },
	} {
		e := beat
		change(&e)
		events = append(events, e, e, beat)
	}
	var c lastBeat
	buf := []byte("prefix:")
	for i, ev := range events {
		got := c.appendJSON(buf[:7], &ev)
		if want := string(ev.AppendJSON([]byte("prefix:"))); string(got) != want {
			t.Fatalf("event %d: appendJSON = %s, want %s", i, got, want)
		}
		for j := 7; j < len(got); j++ {
			got[j] = '#' // a Conn that writes into what it is sent
		}
		buf = got
	}
}

// A step's one effect becomes the driver's queue only when the queue is
// empty, and the buffers it swaps are never one: a heartbeat that comes
// while the report of the election waits for the worker goes after it,
// and the next step writes none of the queue's effects over.
func TestSteppedHandsOverItsOneEffectToAnEmptyQueueOnly(t *testing.T) {
	m, err := NewMachine(MachineConfig{ID: "a", Settings: Settings{}.WithDefaults(), Mode: ModeReference, Lease: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(m, func(*Effect) {}, nil)
	d.coalesce = true
	now := time.Now()
	kinds := func() []EffectKind {
		var k []EffectKind
		for _, ef := range d.queue {
			k = append(k, ef.Kind)
		}
		return k
	}
	// take hands the queue to a worker that acknowledges every broadcast
	// at once, as a bus does.
	take := func() {
		batch := d.queue
		d.queue = nil
		for _, ef := range batch {
			if ef.Kind == EffectBroadcast {
				m.acked(now, ef.Seq)
				d.stepped(now)
			}
		}
	}
	tick := func() {
		now = m.timeOf(d.next)
		m.tick(now)
		d.stepped(now)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m.Start(now)
	d.after(m.out, m.deadline(), now)
	for i := 0; !m.leading; i++ {
		if i == 20 {
			t.Fatal("the member was not elected")
		}
		take()
		tick()
	}
	// Elected, and its first heartbeat queued: its acknowledgement makes
	// the report, which waits in the queue for the next heartbeat.
	if got := kinds(); !slices.Equal(got, []EffectKind{EffectBroadcast}) {
		t.Fatalf("after the election's tick, queue %v, want a broadcast", got)
	}
	beat := d.queue[0]
	d.queue = nil
	m.acked(now, beat.Seq)
	d.stepped(now)
	tick()
	if got, want := kinds(), []EffectKind{EffectLeader, EffectLeading, EffectBroadcast}; !slices.Equal(got, want) {
		t.Fatalf("a heartbeat after the pending report: queue %v, want %v", got, want)
	}
	take()
	for range 3 {
		tick() // at rest: the heartbeat goes to the empty queue
		if got := kinds(); !slices.Equal(got, []EffectKind{EffectBroadcast}) {
			t.Fatalf("a heartbeat at rest: queue %v, want a broadcast", got)
		}
		if cap(m.out) > 0 && &m.out[:1][0] == &d.queue[0] {
			t.Fatal("the machine's buffer is the queue's")
		}
		queued := d.queue[0]
		if out := m.Receive(now, NewEvent(ActionCurrent, "b")); len(out.Effects) == 0 { // another leader, with a larger id: it stays, and says so
			t.Fatal("the leader did not answer another")
		}
		if d.queue[0].Seq != queued.Seq {
			t.Fatalf("the queued heartbeat changed under the next step: seq %d, was %d", d.queue[0].Seq, queued.Seq)
		}
		take()
	}
}
