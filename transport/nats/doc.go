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
// # Guarantees
//
// Delivery is best effort and at most once: core NATS keeps nothing, so a
// member that is disconnected, or joins late, misses what was sent
// meanwhile. Messages from one sender arrive in the order it sent them,
// as NATS orders messages of one publishing connection. Each Conn drops the
// messages it sent itself (NATS echoes them to its own connection), using a
// 9-byte header carrying the sending Conn's random id.
//
// # Size limit
//
// Conn.MaxMessageSize is the server's max_payload (1 MiB unless the server
// sets otherwise) minus the 9-byte header.
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
