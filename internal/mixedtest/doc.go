// Package mixedtest holds bellwether's mixed-cluster test: Go Electors and
// the reference LeaderManager of the npm package trimerge-sync 0.20.0, run
// unchanged under Node.js, in one group over NATS.
//
// There is no library code here; see mixed_test.go and member.js.
//
// member.js evaluates the package's shipped dist/index.js, takes the
// LeaderManager class from it, and runs it in real time as a member of a
// group: it connects to NATS with nats.js (noEcho, so that it does not hear
// itself), subscribes to the group's subject as transport/nats names it,
// and publishes the reference's leader events as plain JSON, which
// transport/nats delivers to every Go member as it is. It prints its
// leadership changes and the leader it knows as JSON lines, and withdraws
// cleanly when told so on stdin.
//
// The Go test runs an embedded nats-server, two Go Electors (one in
// ModeQuiet, one in ModeReference) and two Node members, with the same
// short timings on both sides, and requires every live member to agree on
// one leader through start-up, the leader's clean withdrawal and the
// leader's crash. It runs four times with the ids ordered so that each
// side leads, withdraws and crashes at some point; the Go members announce
// values and epochs (which the Node members ignore) and check that they see
// a Go leader's rising epoch and value and none for a Node leader; and in
// two of the runs a Go member with Preempt and the smallest id joins last,
// taking over from a Go leader and following a Node leader, which cannot be
// asked to hand over.
//
// The npm packages (package.json pins trimerge-sync 0.20.0 and nats 2.29.3)
// are installed by the test with `npm ci` when missing. Without node and
// npm the test is skipped, or fails when CI=true.
package mixedtest
