package bellwether_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
)

// FuzzSignedMessage: whatever the bytes, verification never panics, and a
// message it accepts says exactly what the one genuine message said: no
// change to a signed message (its id, action, epoch, value, counter, time,
// key id or MAC) passes, only changes of form (white space, field order,
// escapes) that JSON allows.
func FuzzSignedMessage(f *testing.F) {
	ring, err := bellwether.NewKeyring(bytes.Repeat([]byte{7}, bellwether.MinKeySize))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	genuine := current("leader-1", 1764547200000000, "10.0.0.1:80")
	msg := bellwether.NewSigner(ring, "g")(genuine, now)
	f.Add(msg)
	f.Add(bytes.Replace(msg, []byte(`"clientId":"leader-1"`), []byte(`"clientId":"leader-0"`), 1))
	f.Add(bytes.Replace(msg, []byte(`{"type"`), []byte(`{ "type"`), 1))
	f.Add([]byte(`{"type":"leader","action":"current","clientId":"a","kid":"0000000000000000","boot":"0000000000000000","grp":"00000000","ctr":1,"ts":1,"mac":"` + string(bytes.Repeat([]byte("0"), 64)) + `"}`))
	f.Add([]byte(`{"type":"leader","action":"request","clientId":"a","ctr":-1,"ts":1e3,"mac":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		verify := bellwether.NewVerifier(ring, "g")
		if verify(data, now) != "" {
			return
		}
		got, err := bellwether.ParseEvent(data)
		if err != nil || got != genuine {
			t.Fatalf("accepted %q, which says %+v (%v), not the genuine %+v", data, got, err, genuine)
		}
	})
}
