package bellwether

import (
	"maps"
	"sync"
	"time"

	"github.com/bellwether-go/bellwether/metrics"
)

// Stats are an Elector's counters since it joined, for metrics and tests.
type Stats struct {
	IsLeader bool // whether the member leads now
	// Epoch is the known leader's epoch, as in Status.Epoch.
	Epoch uint64
	// LeaderChanges counts changes of the known leader, including to and
	// from none.
	LeaderChanges uint64
	// Elections counts elections this member took part in.
	Elections uint64
	// DuplicateLeaders counts the times this member, leading, met another
	// leader.
	DuplicateLeaders uint64
	// SendErrors counts broadcasts the transport refused.
	SendErrors uint64
	// Flooded counts valid events received from one sender beyond
	// FloodLimit in one HeartbeatInterval: a misbehaving or hostile
	// publisher. They are handled all the same (answers to requests are
	// bounded anyway; see Machine), so that a flood under a real member's
	// id cannot drown that member's own messages.
	Flooded  uint64
	Sent     map[Action]uint64 // broadcasts by action
	Received map[Action]uint64 // valid events heard, by action
	// Rejected counts messages dropped from the bus, by reason (the
	// Reason constants).
	Rejected map[string]uint64
	// ElectionDurations is the distribution of election lengths, from the
	// start of an election to its end, in the buckets that
	// metrics.ElectionBuckets returns.
	ElectionDurations Histogram
}

// Histogram is a cumulative distribution of durations in seconds, in the
// form Prometheus uses.
type Histogram struct {
	Bounds []float64 // upper bounds of the buckets, ascending
	Counts []uint64  // Counts[i] is the number of observations <= Bounds[i]
	Count  uint64    // all observations
	Sum    float64   // sum of all observations
}

type counters struct {
	mu               sync.Mutex
	leaderChanges    uint64
	elections        uint64
	duplicateLeaders uint64
	sendErrors       uint64
	flooded          uint64
	sentBy           actionCounts
	receivedBy       actionCounts
	rejectedBy       map[string]uint64       // nil until a message is rejected
	buckets          [electionBuckets]uint64 // by electionBounds; an array, not a slice of its own (heap, per member)
	count            uint64
	sum              float64
}

// electionBounds are the histogram's buckets, metrics.ElectionBuckets,
// read once and shared by every Elector; nothing changes them. Converting
// to the array panics at init if metrics has fewer than electionBuckets;
// TestElectionBucketCountAndEmptyRejected checks that it has exactly as
// many.
var electionBounds = [electionBuckets]float64(metrics.ElectionBuckets())

// electionBuckets is len(metrics.ElectionBuckets()).
const electionBuckets = 11

// actionCounts counts events by action: four counters, cheaper for a
// member to keep than a map (10,000 groups in one process keep 60,000).
type actionCounts [4]uint64

// actions are the protocol's actions in actionCounts' order.
var actions = [4]Action{ActionRequest, ActionCurrent, ActionAccept, ActionWithdraw}

func (n *actionCounts) add(a Action) {
	for i, b := range actions {
		if a == b {
			n[i]++
			return
		}
	}
}

// byAction returns the counts as a map of the actions counted at least
// once.
func (n *actionCounts) byAction() map[Action]uint64 {
	m := map[Action]uint64{}
	for i, c := range n {
		if c > 0 {
			m[actions[i]] = c
		}
	}
	return m
}

func newCounters() *counters { return new(counters) }

func (c *counters) add(p *uint64, n uint64) {
	c.mu.Lock()
	*p += n
	c.mu.Unlock()
}

func (c *counters) sent(a Action) {
	c.mu.Lock()
	c.sentBy.add(a)
	c.mu.Unlock()
}

func (c *counters) received(a Action) {
	c.mu.Lock()
	c.receivedBy.add(a)
	c.mu.Unlock()
}

func (c *counters) rejected(reason string) {
	c.mu.Lock()
	if c.rejectedBy == nil {
		c.rejectedBy = make(map[string]uint64)
	}
	c.rejectedBy[reason]++
	c.mu.Unlock()
}

func (c *counters) observeElection(d time.Duration) {
	s := d.Seconds()
	c.mu.Lock()
	for i, b := range electionBounds {
		if s <= b {
			c.buckets[i]++
		}
	}
	c.count++
	c.sum += s
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		LeaderChanges:    c.leaderChanges,
		Elections:        c.elections,
		DuplicateLeaders: c.duplicateLeaders,
		SendErrors:       c.sendErrors,
		Flooded:          c.flooded,
		Sent:             c.sentBy.byAction(),
		Received:         c.receivedBy.byAction(),
		Rejected:         maps.Clone(c.rejectedBy),
		ElectionDurations: Histogram{
			Bounds: append([]float64(nil), electionBounds[:]...),
			Counts: append([]uint64(nil), c.buckets[:]...),
			Count:  c.count,
			Sum:    c.sum,
		},
	}
	if s.Rejected == nil {
		s.Rejected = map[string]uint64{}
	}
	return s
}

// Stats returns the member's counters.
func (e *Elector) Stats() Stats {
	s := e.stats.snapshot()
	// From the status, which says the same: the counters need not keep a
	// copy (heap, per member).
	st := e.Status()
	s.IsLeader, s.Epoch = st.IsLeader, st.Epoch
	return s
}
