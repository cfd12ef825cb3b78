// Package nats is a bellwether.Transport over core NATS publish/subscribe.
//
// # Who can join
//
// Anyone who can connect to the NATS server (with its credentials, if it
// asks for any) and publish or subscribe to the group's subject can join a
// group, send as any member and hear every member. Restrict the subjects
// "bellwether.>" with NATS accounts and permissions if that matters.
//
// # Subjects
//
// Group g uses the subject "bellwether." + g, with every '.' of g written
// as '~' (group "a.b" uses "bellwether.a~b"), so that a group name is one
// subject token.
//
// # On the wire
//
// The payload of a NATS message is exactly the message given to Send: for
// an Elector, a leader event in JSON such as
//
//	{"type":"leader","action":"current","clientId":"a"}
//
// Each message also carries the NATS header SenderHeader
// ("Bellwether-Sender") with the sending Conn's random id, because NATS
// delivers a message to its publisher's own subscription too and a Conn
// must not hear itself; NATS clients that ignore headers never see it.
//
// # Clients in other languages
//
// Any NATS client joins a group by subscribing to the group's subject and
// publishing plain leader-event JSON to it, with no header: a message
// without SenderHeader reaches every member of the group on every
// Transport. Such a client must drop its own messages itself, which most
// clients do when connected with the no-echo option (nats.js
// `connect({servers, noEcho: true})`, nats.go nats.NoEcho()). For example,
// with the nats command-line tool:
//
//	nats sub bellwether.jobs
//	nats pub bellwether.jobs '{"type":"leader","action":"request","clientId":"z"}'
//
// # Acknowledged sends
//
// Send returns nil only once the server has taken the message: after the
// publish, it waits for a flush (a PING) sent after it to get its PONG,
// which the server answers only after reading everything before it on
// the connection. One flush acknowledges every publish before it, so the
// Sends of all the members on one Transport share flushes: a Send that
// finds a flush under way waits for the next one, and that covers every
// Send made meanwhile. With the server frozen or gone, Send returns an
// error (one wrapping ctx.Err() when ctx ends first), never nil.
//
// # Guarantees
//
// Delivery is best effort and at most once: core NATS keeps nothing, so a
// member that is disconnected, or joins late, misses what was sent
// meanwhile. Messages from one sender arrive in the order it sent them,
// as NATS orders messages of one publishing connection. A Conn never
// receives its own messages.
//
// # Size limit
//
// NATS counts headers in the server's max_payload (1 MiB unless the
// server sets otherwise), so Conn.MaxMessageSize is max_payload less the 49
// bytes that SenderHeader takes. A foreign client's message may be up to
// max_payload.
//
// # Health
//
// Conn implements bellwether.HealthChecker: Health is nil while the
// connection to the server is up and otherwise says its status.
//
// # Cost
//
// A Transport holds one NATS connection, one goroutine of its own (besides
// those of nats.go) and one subscription per group it has members in,
// however many members: thousands of groups share the connection cheaply.
//
// # Reconnection
//
// A Transport made by FromURL reconnects forever, every half second or so,
// after the server goes away or restarts, and then renews its
// subscriptions: Recv goes on working without the caller doing anything.
// While disconnected, Send and Join fail at once with an error saying so
// rather than buffering messages (nats.go's reconnect buffer is disabled),
// since stale leader messages are worse than lost ones; messages sent by
// others meanwhile are lost. A Transport made by New uses the caller's
// connection with the caller's reconnect settings, and Send fails in the
// same way while that connection is not connected.
package nats

import "github.com/bellwether-go/bellwether/internal/pubsub"

// RecvBuffer is how many received messages a Conn holds for Recv. When a
// message arrives and the buffer is full, the oldest buffered message is
// dropped (and counted by Conn.Dropped), so a slow reader sees the newest
// heartbeats and never slows the group.
const RecvBuffer = pubsub.RecvBuffer
