// Command handover shows an election among three members in one process:
// they elect the smallest id, the leader withdraws, and another takes over.
// Every step is printed with the time since the start.
//
//	go run ./examples/handover
package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/narrate"
)

// bus delivers every broadcast to every other Manager, as an in-memory
// broadcast channel would.
type bus struct {
	mu      sync.Mutex
	members map[string]*bellwether.Manager
}

func (b *bus) broadcast(from string, e bellwether.Event) {
	b.mu.Lock()
	var to []*bellwether.Manager
	for id, m := range b.members {
		if id != from {
			to = append(to, m)
		}
	}
	b.mu.Unlock()
	for _, m := range to {
		m.Receive(e) // never blocks
	}
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	say := narrate.New(w)
	settings := bellwether.Settings{
		ElectionTimeout:   300 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond,
		HeartbeatTimeout:  2 * time.Second,
	}
	b := &bus{members: map[string]*bellwether.Manager{}}
	ids := []string{"carol", "alice", "bob"}
	for _, id := range ids {
		say("%s joins and asks for an election", id)
		m, err := bellwether.NewManager(bellwether.ManagerConfig{
			ID:        id,
			Settings:  settings,
			Broadcast: func(e bellwether.Event) { b.broadcast(id, e) },
			OnLeaderChange: func(leading bool) {
				if leading {
					say("%s is now the leader", id)
				} else {
					say("%s is no longer the leader", id)
				}
			},
			Mode: bellwether.ModeReference, // every member answers, as in the reference
		})
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.members[id] = m
		b.mu.Unlock()
	}

	time.Sleep(time.Second)
	leader, _ := b.members["bob"].Leader()
	say("everyone agrees: the leader is %s (the smallest id)", leader)

	say("%s shuts down cleanly and withdraws", leader)
	b.mu.Lock()
	m := b.members[leader]
	delete(b.members, leader)
	b.mu.Unlock()
	m.Shutdown(true)

	time.Sleep(time.Second)
	next, _ := b.members["carol"].Leader()
	say("the new leader is %s", next)

	for _, id := range ids {
		if m, ok := b.members[id]; ok {
			m.Shutdown(true)
		}
	}
	say("done")
	return nil
}
