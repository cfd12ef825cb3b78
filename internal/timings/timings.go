// Package timings holds the short protocol settings that the demo and
// the real-time tests share, so that they are chosen once.
package timings

import (
	"time"

	"github.com/bellwether-go/bellwether"
)

// Fast are short timings for members that run in real time across
// processes or a server's restart: an election takes a few hundred
// milliseconds and a silent leader is noticed after a second, so that a
// scripted show (the demo) or a test takes seconds, while four heartbeats
// fit in a timeout and a loaded machine does not trip it.
var Fast = bellwether.Settings{
	ElectionTimeout:   200 * time.Millisecond,
	HeartbeatInterval: 250 * time.Millisecond,
	HeartbeatTimeout:  time.Second,
}

// Tight are shorter still, for tests in which an outage must outlast
// many heartbeat timeouts.
var Tight = bellwether.Settings{
	ElectionTimeout:   200 * time.Millisecond,
	HeartbeatInterval: 150 * time.Millisecond,
	HeartbeatTimeout:  600 * time.Millisecond,
}
