package bellwether

import (
	"strings"
	"testing"
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
