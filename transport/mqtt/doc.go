// Package mqtt is a bellwether.Transport over an MQTT 5 broker such as
// Mosquitto, through the Eclipse Paho client (github.com/eclipse/paho.golang).
//
// # Topics
//
// Group g uses the topic "bellwether/" + g ([TopicPrefix]). Group names
// hold no '/', '+' or '#', so each is one topic level. Messages are never
// retained, and a subscription asks for no retained messages, so a member
// hears only what is sent after it joined.
//
// # On the wire
//
// The payload of a PUBLISH is exactly the message given to Send: for an
// Elector, a leader event in JSON such as
//
//	{"type":"leader","action":"current","clientId":"a"}
//
// Each message also carries the MQTT 5 user property [SenderProperty]
// ("bellwether-sender") with the sending Conn's random id, because the
// broker delivers a message to its publisher's own subscription too and a
// Conn must not hear itself.
//
// # Clients in other languages
//
// Any MQTT client (3.1.1 or 5) joins a group by subscribing to its topic
// and publishing plain leader-event JSON to it: a message without the
// user property reaches every member of the group. Such a client must drop
// its own messages itself (MQTT 5's No Local subscription option does it).
// For example, with Mosquitto's tools:
//
//	mosquitto_sub -t bellwether/jobs
//	mosquitto_pub -t bellwether/jobs -q 1 -m '{"type":"leader","action":"request","clientId":"z"}'
//
// # Acknowledged sends
//
// Send publishes at QoS 1 and returns nil only once the broker's PUBACK
// came back: the broker has taken the message and will forward it to the
// subscribers it has. With the broker frozen or gone Send returns an error
// (one wrapping ctx.Err() when ctx ends first), never nil.
//
// # Guarantees
//
// Delivery is best effort: the Transport subscribes at QoS 0, so the
// broker forwards each message once and keeps nothing for a member that is
// disconnected. A message whose PUBACK was lost may be published again by
// the client after reconnecting, and then reach the others twice; the
// election protocol does not mind, and a Conn drops its own copies by
// their sender id however many come back. Messages from one sender arrive
// in the order it sent them.
//
// # Size limit
//
// Conn.MaxMessageSize is [MaxMessageSize], 1 MiB; a broker may set a lower
// limit (Mosquitto's message_size_limit), and then refuses larger messages.
//
// # Health
//
// Conn implements bellwether.HealthChecker: Health is nil while the
// connection to the broker is up and its subscriptions were renewed, and
// otherwise says what is wrong.
//
// # Reconnection
//
// The Transport reconnects forever, every half second, after losing the
// broker, starts a new session and subscribes to its groups' topics
// again: Recv goes on working without the caller doing anything. While
// disconnected, Send and Join fail at once with an error saying so;
// messages sent by others meanwhile are lost.
//
// # Cost
//
// A Transport holds one MQTT connection and one subscription per group it
// has members in, however many members.
package mqtt
