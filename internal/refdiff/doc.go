// Package refdiff holds bellwether's differential test against the
// reference implementation: the LeaderManager class of the npm package
// trimerge-sync 0.20.0, run unchanged under Node.js.
//
// There is no library code here; see the _test.go files and harness.js.
//
// # How it works
//
// The Go test generates seeded random schedules (schedule_test.go): 2 to 7
// clients with random and deliberately tricky ids, random timings (often on
// a coarse grid, so that events tie), starts at random times, pauses,
// partitions, clean and unclean shutdowns and restarts under the same id.
// Half of the starts in a schedule for the Manager, and a third in the
// others, are followed at the same instant by a pause, a partition or a
// shutdown of the new client, and one in four of the other events is put
// at the next instant at which another client starts. It writes them as
// JSON lines, runs all of them through harness.js in a single node process
// (reading its results as it writes them), runs the same schedules through
// bellwether.Machine in ModeReference (sim_test.go) and 40% of them
// (shorter ones, with as many events) also through bellwether.Manager
// (manager_sim_test.go), and requires the traces of every client to be
// equal. TestDifferentialStartInstant does the same
// for fixed schedules (start_instant_test.go) with pauses, partitions and
// shutdowns at a client's start instant.
//
// The Manager simulation is there for what the Machine cannot show: the
// Manager's constructor, goroutine, timers, Receive and Shutdown. Its
// Managers run in a synctest bubble whose clock is the schedule's. After
// NewManager it goes straight on to the next event of the same instant, as
// the reference's constructor has broadcast its request by the time it
// returns; a Manager that hands its first request to broadcast later is seen
// doing it after the pause, partition or shutdown that followed
// (TestManagerSimDetectsLateRequest emulates one). Only the order of a
// client's own steps at an instant matters (what a step sends arrives 1ms
// later at the earliest, and traces are per client), so the Managers of
// different clients may run concurrently. A Manager's timers fire
// as soon as the clock reaches them, before anything else at that instant,
// so a schedule run through the Manager has no external event of a client
// at an instant when one of its timers is due: the generator moves such
// events by 1ms (avoidTimerTies), and the Machine simulation covers the
// ties in the other schedules.
//
// harness.js evaluates the package's shipped dist/index.js with
// new Function, passing its own setTimeout, setInterval, clearTimeout,
// clearInterval and console, so that the reference runs in virtual time and
// its console.warn lines are recorded. LeaderManager is not exported by the
// package; the evaluated bundle is made to export it.
//
// # Simulation rules
//
// Both sides implement these rules identically; harness.js, sim_test.go and
// manager_sim_test.go must change together.
//
//   - Time is integer milliseconds. The next step is the smallest key
//     (time, class, slot, a, b): class 0 is an external event of the
//     schedule (a is its index), class 1 the timers of a slot, class 2 a
//     delivery to the slot (a the sender, b the sender's broadcast index).
//     Nothing after the schedule's horizon runs.
//   - A timers step fires every timer of the slot due at that time, by due
//     time then creation, as JavaScript does; an interval keeps its place.
//     The Go side calls Machine.Tick at the Output.Next deadline, which does
//     the same internally.
//   - A broadcast goes to every other slot. Whether a copy is lost and its
//     latency (at least 1ms) come from a 32-bit hash of (seed, sender,
//     sender's broadcast index, receiver), the same function in both
//     languages (hash32 and hash).
//   - A delivery to a slot that is not running, or partitioned, is dropped.
//     A partitioned slot's broadcasts are lost too (also those it queued
//     while paused, if it is partitioned when it resumes). A paused slot,
//     like the reference's MemoryBroadcastChannel, queues what it
//     broadcasts and what it receives; resuming sends the queued broadcasts
//     (latency counted from the resume) and then hands it the queued
//     events in order. A shutdown drops the queued incoming events.
//   - stop is shutdown(true), which broadcasts a withdrawal; kill is
//     shutdown(false); start after either is a new instance with the same
//     id.
//
// # Traces
//
// Each client's trace lists, with their virtual times: the external events,
// each broadcast (action and the exact JSON bytes: JSON.stringify of the
// reference's event against Event.AppendJSON), each leadership change
// (onLeaderChange against EffectLeading), each warning (console.warn
// against EffectWarning) and, after each step, the known leader when it
// changed (the reference's private currentLeaderId against Machine.Leader
// or Manager.Leader). One extra schedule sorts a list of tricky ids with
// JavaScript's < to compare against bellwether.CompareIDs.
//
// # Running
//
//	go test ./internal/refdiff                      # 500 schedules
//	go test ./internal/refdiff -refdiff.n=5000      # or REFDIFF_N=5000
//	go test ./internal/refdiff -run 'TestDifferential$' -refdiff.seed=42 -refdiff.n=1 -v
//	go test ./internal/refdiff -run 'TestDifferentialStartInstant' -v   # the fixed schedules
//
// The test runs npm ci in internal/refdiff when trimerge-sync is missing
// from its node_modules (under a file lock, as packages may be tested in
// parallel). Without node or npm, or if the install fails, the test is
// skipped, or fails when the environment has CI=true.
package refdiff
