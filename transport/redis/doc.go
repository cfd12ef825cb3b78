// Package redis is a bellwether.Transport over Redis publish/subscribe.
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
// # Guarantees
//
// Delivery is best effort and at most once: Redis pub/sub keeps nothing,
// so a member that is disconnected, or joins late, misses what was sent
// meanwhile, and Redis disconnects a subscriber that falls more than its
// client-output-buffer-limit behind. Messages from one sender arrive in
// the order it sent them. Redis delivers a message to the publishing
// client's subscriptions too; each Conn drops its own messages by a 9-byte
// header carrying the sending Conn's random id.
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
package redis
