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
	// Output:
	// a leads: true
	// b leads: true
}

// An Elector on the embedded default transport, with short timings so that
// it leads within half a second. (The README shows this example with the
// default timings.)
func ExampleJoin() {
	ctx := context.Background()
	runBilling := func(ctx context.Context, epoch uint64) { <-ctx.Done() }

	tr, err := transport.Open(ctx, "local://") // or "nats://…", "redis://…", "postgres://…", "mqtt://…", "mem://"
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	leading := make(chan struct{})
	e, err := bellwether.Join(ctx, tr, bellwether.Config{
		ID:    "web-1", // unique in the group; the smallest id wins an election
		Group: "billing-cron",
		Value: "10.0.0.5:8080", // announced while it leads: every member's e.Status().Value
		// The defaults are 1s, 2s and 8s; a new member listens for 8s-1s/2
		// before it may win.
		Settings: bellwether.Settings{ElectionTimeout: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: 400 * time.Millisecond},
		Callbacks: bellwether.Callbacks{
			OnStartedLeading: func(ctx context.Context) { // ctx ends when leadership ends
				epoch, _ := bellwether.Epoch(ctx) // the fencing token: the billing store refuses writes
				fmt.Println("web-1 runs billing, fenced:", epoch > 0)
				close(leading)
				runBilling(ctx, epoch) // with an epoch below the highest it has seen
			},
			OnStoppedLeading: func() { fmt.Println("no longer leading") },        // only after having led
			OnNewLeader:      func(id string) { fmt.Printf("leader: %q\n", id) }, // "" when none is known
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	<-leading
	fmt.Println("value:", e.Status().Value)
	e.Close(context.Background()) // stops runBilling, then withdraws so another member takes over at once
	// Output:
	// leader: "web-1"
	// web-1 runs billing, fenced: true
	// value: 10.0.0.5:8080
	// no longer leading
}
