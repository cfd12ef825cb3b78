// Package redis is a bellwether.Transport over Redis publish/subscribe.
//
// # Acknowledged sends
//
// Send returns nil only once PUBLISH's reply came back: the server has
// handed the message to its subscribers. With the server frozen or gone,
// Send returns an error (one wrapping ctx.Err() when ctx's deadline passes
// first), never nil.
//
// # Who can join
//
// Anyone who can connect to the Redis server (with its password or ACL
// user, if it asks for one) and PUBLISH or SUBSCRIBE to the group's
// channel can join a group, send as any member and hear every member.
// Restrict the channels "bellwether:*" with Redis ACLs if that matters.
//
// # Channels
//
// Group g uses the channel "bellwether:" + g. Redis pub/sub channels are
// server-wide: the database number in the URL does not separate groups.
// Redis Cluster is not supported (use one server, or a Sentinel-managed
// primary through a *redis.Client of your own and New).
//
// # On the wire
//
// The payload of a PUBLISH is exactly the message given to Send: for an
// Elector, a leader event in JSON such as
//
//	{"type":"leader","action":"current","clientId":"a"}
//
// # Clients in other languages
//
// Any Redis client joins a group by subscribing to the group's channel and
// publishing plain leader-event JSON to it; its messages reach every
// member on every Transport. For example, with redis-cli:
//
//	redis-cli SUBSCRIBE bellwether:jobs
//	redis-cli PUBLISH bellwether:jobs '{"type":"leader","action":"request","clientId":"z"}'
//
// Redis delivers a message to the publisher's own subscriptions too, so
// such a client must drop its own messages, by their clientId for
// instance.
//
// # Guarantees
//
// Delivery is best effort and at most once: Redis pub/sub keeps nothing,
// so a member that is disconnected, or joins late, misses what was sent
// meanwhile, and Redis disconnects a subscriber that falls more than its
// client-output-buffer-limit behind. Messages from one sender arrive in
// the order it sent them.
//
// # Own messages
//
// Redis hands every message back to the publishing client's subscription.
// Since the bytes on the bus carry nothing but the message, each Conn
// remembers the SHA-256 digests of the last EchoRecord (256) messages it
// sent, each for EchoWindow (10 seconds): an incoming message equal to one
// of them is that Conn's echo, which consumes the entry and is not
// delivered to that Conn; the group's other members get it as usual. A
// member never hears itself unless its echo arrives more than EchoWindow
// late or it has more than EchoRecord messages in flight.
//
// The consequence: a byte-identical message from another sender that
// arrives while a Conn awaits the echo of its own is taken for that echo.
// The Conn still gets one copy of the two, unless its own echo is lost
// (the subscription was down), when it misses the other sender's. For an
// Elector that can only happen between two members with the same id, and
// an Elector drops messages bearing its own id anyway.
//
// # Size limit
//
// Conn.MaxMessageSize is MaxMessageSize (1 MiB), a bound this package sets
// so that one member cannot fill the other members' output buffers on the
// server; Redis itself would take up to 512 MB.
//
// # Cost
//
// A Transport holds one subscribing connection, which carries every group
// it has members in, and one goroutine of its own; Send uses the client's
// connection pool.
//
// # Reconnection
//
// After the server goes away or restarts, the Transport reconnects by
// itself, retrying with a backoff of up to 2 seconds, and subscribes again
// to every group's channel: Recv goes on working without the caller doing
// anything. While the server is unreachable, Send and Join fail with the
// client's error (after the client's retries) instead of buffering;
// messages sent by others meanwhile are lost. A connection that dies
// without closing (a vanished host) is noticed by TCP keepalive.
//
// # Health
//
// Conn implements bellwether.HealthChecker: Health is nil while the
// subscribing connection works and otherwise says what went wrong on it
// last. The Transport pings that connection after 5 seconds without
// traffic, and reports it broken when the PING goes 5 seconds unanswered.
package redis

import "github.com/bellwether-go/bellwether/internal/pubsub"

// RecvBuffer is how many received messages a Conn holds for Recv. When a
// message arrives and the buffer is full, the oldest buffered message is
// dropped (and counted by Conn.Dropped), so a slow reader sees the newest
// heartbeats and never slows the group.
const RecvBuffer = pubsub.RecvBuffer
