package bellwethertest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/bellwether-go/bellwether"
)

// Bus is a client of a transport's bus that knows nothing of bellwether,
// as a program in another language would be, for [TestWire]: it publishes
// plain payloads on a group's channel (subject, topic) and sees the
// payloads there.
type Bus struct {
	// Publish puts msg on the group's channel as it is.
	Publish func(ctx context.Context, msg []byte) error
	// Next returns the next payload seen on the group's channel.
	Next func(ctx context.Context) ([]byte, error)
}

// TestWire checks that the bytes on the bus are exactly the messages members
// send, and that a foreign client joins by publishing plain leader-event
// JSON: its messages reach every member, while no member ever hears
// itself. members are Conns of one group, at least three, two of them on
// one Transport; bus is subscribed to the group's channel already.
func TestWire(t *testing.T, members []bellwether.Conn, bus Bus) {
	t.Helper()
	if len(members) < 3 {
		t.Fatalf("TestWire needs 3 members; got %d", len(members))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	defer cancel()
	publish := func(msg string) {
		t.Helper()
		if err := bus.Publish(ctx, []byte(msg)); err != nil {
			t.Fatalf("publishing %s with the bus's own client: %v", msg, err)
		}
	}

	// What a member sends is, byte for byte, the payload on the bus.
	event := `{"type":"leader","action":"current","clientId":"member-0"}`
	Send(t, members[0], []byte(event))
	got, err := bus.Next(ctx)
	if err != nil {
		t.Fatalf("the bus's own subscriber saw nothing: %v", err)
	}
	if !bytes.Equal(got, []byte(event)) {
		t.Fatalf("payload on the bus = %q; want exactly the message sent, %q", got, event)
	}
	for i, m := range members[1:] {
		if got := string(Recv(t, m)); got != event {
			t.Fatalf("member %d got %q; want %q", i+1, got, event)
		}
	}

	// A foreign client's plain JSON reaches every member. Member 0's own
	// message went out before it, so member 0 would read that first had it
	// come back.
	foreign := `{"type":"leader","action":"request","clientId":"foreign"}`
	publish(foreign)
	for i, m := range members {
		if got := string(Recv(t, m)); got != foreign {
			t.Fatalf("member %d got %q; want the foreign client's %q", i, got, foreign)
		}
	}

	// Every member speaks; each hears all the others and then the foreign
	// client's next message, never itself.
	sent := make([]string, len(members))
	for i, m := range members {
		sent[i] = fmt.Sprintf(`{"type":"leader","action":"accept","clientId":"member-%d"}`, i)
		Send(t, m, []byte(sent[i]))
	}
	for i, m := range members {
		want := slices.Delete(slices.Clone(sent), i, i+1)
		for len(want) > 0 {
			got := string(Recv(t, m))
			j := slices.Index(want, got)
			if got == sent[i] {
				t.Fatalf("member %d received its own message %s", i, got)
			}
			if j < 0 {
				t.Fatalf("member %d got %q; want one of %q", i, got, want)
			}
			want = slices.Delete(want, j, j+1)
		}
	}
	end := `{"type":"leader","action":"withdraw","clientId":"foreign"}`
	publish(end)
	for i, m := range members {
		if got := string(Recv(t, m)); got != end {
			t.Fatalf("member %d got %q; want the foreign client's %q (its own message came back?)", i, got, end)
		}
	}
	ExpectSilence(t, members...)
}
