package bellwether_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport"
	_ "github.com/bellwether-go/bellwether/transport/local"
)

// Two Managers over an in-memory bus. (The README shows this example.)
func ExampleNewManager() {
	// An in-memory bus: every broadcast reaches every other member.
	var mu sync.Mutex
	members := map[string]*bellwether.Manager{}
	join := func(id string) *bellwether.Manager {
		m, err := bellwether.NewManager(bellwether.ManagerConfig{
			ID:             id,
			OnLeaderChange: func(leading bool) { fmt.Println(id, "leads:", leading) },
			Broadcast: func(e bellwether.Event) {
				mu.Lock()
				defer mu.Unlock()
				for other, o := range members {
					if other != id {
						o.Receive(e) // never blocks, so calling it here is fine
					}
				}
			},
			Mode: bellwether.ModeReference, // as the reference class; the zero value is ModeQuiet
			// Settings left zero: 1s election, 2s heartbeat, 8s timeout
		})
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

// An Elector on the embedded default transport. (The README shows this
// example.)
func ExampleJoin() {
	ctx := context.Background()
	runBilling := func(ctx context.Context) { <-ctx.Done() }

	tr, err := transport.Open(ctx, "local://") // or "nats://…", "redis://…", "postgres://…", "mem://"
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	e, err := bellwether.Join(ctx, tr, bellwether.Config{
		ID:    "web-1", // unique in the group
		Group: "billing-cron",
		Callbacks: bellwether.Callbacks{
			OnStartedLeading: func(ctx context.Context) { runBilling(ctx) },    // ctx ends when leadership ends
			OnStoppedLeading: func() { log.Print("no longer leading") },        // only after having led
			OnNewLeader:      func(id string) { log.Printf("leader: %q", id) }, // "" when none is known
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(context.Background()) // stops runBilling, then withdraws so another member takes over at once
}
