package bellwether_test

import (
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
)

// Two Managers over an in-memory bus. (The README shows this example.)
func ExampleNewManager() {
	// An in-memory bus: every broadcast reaches every other member.
	var mu sync.Mutex
	members := map[string]*bellwether.Manager{}
	join := func(id string) *bellwether.Manager {
		m, err := bellwether.NewManager(id,
			func(leading bool) { fmt.Println(id, "leads:", leading) },
			func(e bellwether.Event) {
				mu.Lock()
				defer mu.Unlock()
				for other, o := range members {
					if other != id {
						o.Receive(e) // never blocks, so calling it here is fine
					}
				}
			},
			bellwether.Settings{}) // the defaults: 1s election, 2s heartbeat, 8s timeout
		if err != nil {
			log.Fatal(err)
		}
		mu.Lock()
		members[id] = m
		mu.Unlock()
		return m
	}
	a, b := join("a"), join("b")
	time.Sleep(1500 * time.Millisecond) // "a leads: true"
	a.Shutdown(true)                    // withdraws: b leads within about 1s
	time.Sleep(1500 * time.Millisecond) // "b leads: true"
	b.Shutdown(true)
}
