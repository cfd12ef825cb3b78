// Package postgres is a bellwether.Transport over PostgreSQL's LISTEN and
// NOTIFY.
//
// # Acknowledged sends
//
// Send returns nil only once the pg_notify statement completed: the
// server has queued the notification, which outside a transaction is
// delivered at once. With the server frozen or gone, Send returns an error
// (one wrapping ctx.Err() when ctx ends first), never nil.
//
// # Who can join
//
// Anyone who can connect to the database server (as any role that may
// connect to the database named in the URL) can join a group, send as any
// member and hear every member: PostgreSQL does not restrict LISTEN or
// NOTIFY beyond the right to connect. Notifications are per database, so
// transports on different databases of one server never hear each other.
//
// # Channels
//
// Group g uses the notification channel "bellwether_" + g (LISTENed as a
// quoted identifier, so case is kept). A channel name is at most 63 bytes;
// a longer one is cut to "bellwether_", the group's first 27 bytes, "_"
// and 24 hex digits of the SHA-256 of the group name.
//
// # On the wire
//
// The payload of a notification is exactly the message given to Send: for
// an Elector, a leader event in JSON such as
//
//	{"type":"leader","action":"current","clientId":"a"}
//
// A payload is text, so a message must be UTF-8 without NUL bytes (Send
// returns an error wrapping ErrNotText otherwise; leader events always
// are), and the database's encoding should be UTF8 (or SQL_ASCII) for the
// bytes to arrive unchanged.
//
// # Clients in other languages
//
// Any PostgreSQL client joins a group by LISTENing on the group's channel
// and sending plain leader-event JSON with NOTIFY or pg_notify; its
// notifications reach every member on every Transport. For example, with
// psql:
//
//	LISTEN "bellwether_jobs";
//	SELECT pg_notify('bellwether_jobs', '{"type":"leader","action":"request","clientId":"z"}');
//
// PostgreSQL delivers a notification to the sending session too when it
// listens; such a client can drop those by comparing the notification's
// PID with its own session's (pg_backend_pid()).
//
// # Guarantees
//
// Delivery is best effort and at most once: a member that is disconnected,
// or joins late, misses what was sent meanwhile. Messages from one sender
// arrive in the order it sent them, since PostgreSQL delivers
// notifications in commit order and a Transport sends on one connection.
//
// # Own messages
//
// A Transport listens on one session and sends on another, and the
// listening session hears the notifications the sending one makes. Since
// the payload carries nothing but the message, each Conn remembers the
// SHA-256 digests of the last EchoRecord (256) messages it sent, each for
// EchoWindow (10 seconds), with the backend PID of the session that sent
// it. A notification is a Conn's echo only if it comes from that PID and
// equals one of them; it then consumes the entry and is not delivered to
// that Conn, while the group's other members get it as usual. No other
// process's notification can be mistaken for an echo, since no other
// session has that PID; two Conns of one Transport that send identical
// messages each hear the other's copy.
//
// # Size limit
//
// A notification payload is text of fewer than 8000 bytes:
// Conn.MaxMessageSize is MaxMessageSize, 7999 bytes.
//
// # Cost
//
// A Transport holds two connections, whatever the number of groups: one
// that LISTENs on the channel of every group it has members in, served by
// one goroutine, and one that sends with pg_notify, one message at a time.
//
// # Reconnection
//
// When the listening connection breaks (the server restarts, say), the
// Transport reconnects with a backoff from 100 milliseconds to 5 seconds
// and LISTENs again on every group's channel: Recv goes on working without
// the caller doing anything. An idle listening connection is checked every
// 30 seconds. The sending connection is redialled by the next Send. While
// the server is unreachable, Send and Join fail with an error saying so;
// messages sent by others meanwhile are lost.
//
// # Health
//
// Conn implements bellwether.HealthChecker: Health is nil while the
// listening connection is up, and otherwise says why it is down.
package postgres

import "github.com/bellwether-go/bellwether/internal/pubsub"

// RecvBuffer is how many received messages a Conn holds for Recv. When a
// message arrives and the buffer is full, the oldest buffered message is
// dropped (and counted by Conn.Dropped), so a slow reader sees the newest
// heartbeats and never slows the group.
const RecvBuffer = pubsub.RecvBuffer
