//go:build unix

package local

import (
	"context"
	"testing"

	"github.com/bellwether-go/bellwether/bellwethertest"
)

// TestDeafMember: a member whose socket reader failed (here its socket is
// closed under it) reports it in Health and Recv.
func TestDeafMember(t *testing.T) {
	tr, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	conn, err := tr.Join(context.Background(), "deaf")
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*Conn)
	bellwethertest.TestDeaf(t, c, func() {
		c.sock.Close()
		c.in.Wait()
	})
}
