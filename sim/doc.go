// Package sim is a deterministic discrete-event simulator of bellwether
// groups. It drives the real state machine, [bellwether.Machine], for N
// members over a simulated broadcast network with latency, loss,
// duplication, reordering and partitions, injects crashes, restarts,
// withdrawals, resignations, late joins, members cut off from the bus and
// frozen members, runs members on a lease if asked, checks invariants as
// it runs and reports how elections behave.
//
// A run is described by a [Scenario], written in Go or in the text format
// read by [ParseScenario]; [Run] runs it and returns a [Report], which
// renders as text ([Report.WriteText]), JSON ([Report.WriteJSON]) and an
// SVG timeline ([Report.WriteSVG]). The same scenario and seed always give
// the same report and the same trace, byte for byte.
//
// Invariants (a), (b), (c) and, in lease mode, (d), the bound B of (b),
// the network model and the text format are described in
// docs/simulator.md.
package sim
