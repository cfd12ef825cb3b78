// Package bellwether elects one leader among the members of a group that
// share a broadcast channel: goroutines in one process, processes on one
// host, a LAN, or NATS, Redis, PostgreSQL and MQTT across machines. Use it to run
// one instance of something (a scheduled job, a sync connection, a
// consumer) among many.
//
// # Guarantees
//
// Election is best effort. bellwether keeps no log and takes no quorum, so
// it cannot promise that at most one member leads; it promises that at most
// one member's job runs, as far as the network allows:
//
//   - An Elector leads only while it holds a lease made of heartbeats its
//     bus acknowledged. The lease ends HeartbeatTimeout − ElectionTimeout/2
//     after the last acknowledged heartbeat was sent, and the job's context
//     is cancelled then, which is before any other member can start leading:
//     the others wait HeartbeatTimeout after hearing that heartbeat, then an
//     election. A crash, a frozen process, a broker outage, a member that
//     cannot hear or two members with one id therefore cost availability,
//     not a second job. [LeaseExpiry] tells a job when it must have stopped.
//   - During a partition each side elects its own leader, so two (or more)
//     members lead at once. When the partition heals, leaders hear each
//     other's heartbeats within one HeartbeatInterval; the one with the
//     larger id steps down at once, and the group has one leader again
//     within about HeartbeatTimeout + 2·HeartbeatInterval + 3·ElectionTimeout
//     of the network becoming connected and quiet (15s with the defaults;
//     the property tests check 20s).
//   - A leader that crashes is replaced after HeartbeatTimeout plus
//     ElectionTimeout (about 9s by default). A leader that shuts down
//     cleanly, or resigns, stops its job first and is replaced after one
//     election (about 1s). A new member listens for the lease's length
//     (7.5s by default) before it may win, so a group's first leader starts
//     then.
//   - In a connected, quiet network with a leader everyone knows, the
//     leadership never changes.
//
// docs/guarantees.md states the rules, their assumptions (clocks run at
// the same rate; a bus delivers what it acknowledged) and measured figures.
//
// Use bellwether where a duplicate leader during a partition is harmless or
// is fenced: every leadership has an epoch ([Epoch], Status.Epoch), a
// fencing token that grows with every leadership and rises above both when
// two leaders meet, which a store can check to refuse a stale leader's
// writes (docs/fencing.md). Use a consensus system (etcd, ZooKeeper, a
// database lock) where a duplicate cannot be fenced.
//
// # Values and preferred leaders
//
// A leader announces Config.Value, typically its address, in its
// heartbeats; Status.Value is the known leader's, so followers can forward
// work to it. The smallest id wins an election, so give preferred members
// ids that sort first; with Config.Preempt a member that joins a group led
// by a larger id asks that leader to hand over, and the old job stops
// before the new one starts, as with Resign.
//
// # Authenticated groups
//
// On a shared bus anyone who can publish can speak the reference protocol.
// With Config.Keys (a [Keyring]: the first key signs, all verify, so keys
// rotate without downtime) a member signs every message with an HMAC over
// the group, every field, a boot nonce, a counter and a timestamp, and
// drops and counts (Stats.Rejected) what does not verify or is replayed:
// nobody without the key becomes leader, deposes the leader or starts an
// election. A keyed member that hears only messages it cannot verify (a
// wrong key) stands for no election and says so in Health. Keys protect
// who may speak, not what is said: nothing is encrypted. See
// docs/security.md.
//
// # Protocol
//
// The protocol, its wire format and every decision are those of the
// LeaderManager of the TypeScript package trimerge-sync 0.20.0, so Go and
// TypeScript members can share a group. Each message is a JSON object such
// as {"type":"leader","action":"request","clientId":"a"}; an Elector adds
// fields the reference's clients ignore (the epoch and value in its
// heartbeats; see [Event]), and the Manager sends the reference's bytes
// exactly.
//
// A member that comes online broadcasts request. A leader that hears a
// request answers current. A member that knows no leader answers accept and
// joins the election; after ElectionTimeout every member picks the smallest
// id among the candidates it heard (in JavaScript's UTF-16 string order).
// The leader broadcasts current every HeartbeatInterval; a member that hears
// no current for HeartbeatTimeout elects again. A member that shuts down
// cleanly broadcasts withdraw. When two leaders meet, the smaller id stays.
//
// In the reference, every member that knows no leader answers every
// request, so an election among N members costs about N² broadcasts.
// bellwether's default election mode, ModeQuiet, sends the same messages
// with the same meaning but only when they can change the outcome, which
// costs O(N); ModeReference reproduces the reference exactly.
//
// # Layers
//
// [Machine] is the protocol as a pure state machine: it takes the time as an
// argument and returns what to broadcast and what changed, and owns no
// goroutines, timers or I/O. [Manager] drives it with timers, like the
// reference class. [Elector], joined with [Join] over a [Transport], is the
// API most programs use: a leadership context, ordered callbacks, Watch,
// Resign and Close. Transports live in the transport/ packages, one per
// bus; the bellwether command in cmd/bellwether runs a shell command on
// exactly one member.
package bellwether
