package udp

import (
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
)

// TestDeafMember: a member whose socket reader failed (here its socket is
// closed under it) reports it in Health and Recv.
func TestDeafMember(t *testing.T) {
	requireNetns(t)
	tr := newTransport(t, Config{Address: "239.77.1.1:29995", Interface: "lo"})
	c := bellwethertest.Join(t, tr, bellwethertest.UniqueGroup(t, "deaf")).(*Conn)
	bellwethertest.TestDeaf(t, c, func() {
		c.p.Close()
		c.in.Wait()
	})
}
