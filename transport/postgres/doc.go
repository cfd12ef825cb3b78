// Package postgres is a bellwether.Transport over PostgreSQL's LISTEN and
// NOTIFY.
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
// # Guarantees
//
// Delivery is best effort and at most once: a member that is disconnected,
// or joins late, misses what was sent meanwhile. Messages from one sender
// arrive in the order it sent them, since PostgreSQL delivers
// notifications in commit order and a Transport sends on one connection.
// A listening session hears its own notifications, so each Conn drops its
// own messages by a header carrying the sending Conn's random id.
//
// # Size limit
//
// A notification payload is text of fewer than 8000 bytes. The payload is
// a 17-character header (a version digit and the sender's id in hex) and
// the message in standard base64, so that any bytes can be sent:
// Conn.MaxMessageSize is MaxMessageSize, 5985 bytes.
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
package postgres
