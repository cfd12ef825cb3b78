// Command natsonly opens a bus the way a program that uses NATS alone
// does; transport's TestLinksOnlyImportedBuses lists what it links.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/bellwether-go/bellwether/transport"
	_ "github.com/bellwether-go/bellwether/transport/nats"
)

func main() {
	t, err := transport.Open(context.Background(), os.Getenv("BUS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t.Close()
}
