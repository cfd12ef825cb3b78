package refdiff

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/bellwether-go/bellwether"
)

// schedule is one seeded scenario, run identically by the Go simulators and
// by harness.js. All times are integer milliseconds of virtual time.
type schedule struct {
	Seed              uint32     `json:"seed"`
	Name              string     `json:"name,omitempty"` // a fixed schedule's name in TestDifferentialStartInstant
	ElectionTimeout   int64      `json:"electionTimeout"`
	HeartbeatInterval int64      `json:"heartbeatInterval"`
	HeartbeatTimeout  int64      `json:"heartbeatTimeout"`
	MaxLatency        int64      `json:"maxLatency"`   // latency is 1 + hash % MaxLatency
	LossPermille      uint32     `json:"lossPermille"` // a delivery is lost if hash % 1000 < LossPermille
	Horizon           int64      `json:"horizon"`      // nothing after this time is run
	IDs               []string   `json:"ids"`          // client id of each slot
	Events            []extEvent `json:"events"`       // sorted by (T, Slot, generation order)

	// Manager: the schedule is also run through bellwether.Manager
	// (manager_sim_test.go). Such a schedule has no external event of a
	// client at an instant when one of its timers is due (see
	// avoidTimerTies); harness.js ignores the field.
	Manager bool `json:"manager,omitempty"`

	machine *result // the Machine simulation's result, kept by avoidTimerTies
}

// extEvent is an external event: op is start (a new instance), stop (clean
// shutdown), kill (unclean shutdown), pause or resume (of the slot's
// channel: held, as the reference's MemoryBroadcastChannel does),
// partition or heal (of the slot's link: lost).
type extEvent struct {
	T    int64  `json:"t"`
	Slot int    `json:"slot"`
	Op   string `json:"op"`
}

// trickyIDs are ids whose order or encoding is easy to get wrong: digits,
// case, prefixes, characters that JSON.stringify escapes or does not, and
// characters above U+FFFF against U+E000 to U+FFFF, where JavaScript's
// UTF-16 order differs from byte (code point) order.
var trickyIDs = []string{
	"a", "b", "A", "B", "Z", "z", "0", "1", "9", "10", "01", "a0", "aa", "ab", "abc",
	"a-b", "_", "~", " ", "é", "e\u0301", "ß", "\u00ff", "\u0100", "\u2028", "\u0085",
	"\ue000", "\uf8ff", "\ufb01", "\uff5e", "\ufffd", "\uffff",
	"\U00010000", "\U0001f600", "\U0010ffff", "a\U0001f600", "a\uffff", "a\ue000",
	"\x00", "a\x00", "\x1f", "\t", "\n", "\"", "\\", "</script>", "\x7f", "'",
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789"

func randomID(r *rand.Rand, taken []string) string {
	switch k := r.IntN(10); {
	case k < 5:
		b := make([]byte, 1+r.IntN(6))
		for i := range b {
			b[i] = idAlphabet[r.IntN(len(idAlphabet))]
		}
		return string(b)
	case k < 8:
		return trickyIDs[r.IntN(len(trickyIDs))]
	case k < 9 && len(taken) > 0:
		// A prefix of, or an extension of, an id already in the group.
		return taken[r.IntN(len(taken))] + trickyIDs[r.IntN(len(trickyIDs))]
	default:
		return trickyIDs[r.IntN(len(trickyIDs))] + trickyIDs[r.IntN(len(trickyIDs))]
	}
}

// managerPermille is the share of random schedules that are also run
// through bellwether.Manager.
const managerPermille = 400

// newSchedule generates the schedule of seed.
func newSchedule(seed uint32) *schedule {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed_0f_be11))
	s := &schedule{Seed: seed, Events: []extEvent{}}

	// A coarse grid makes timers, deliveries and external events collide.
	grid := []int64{1, 1, 5, 10}[r.IntN(4)]
	span := func(lo, hi int) int64 { return grid * int64(lo+r.IntN(hi-lo+1)) }
	s.ElectionTimeout = span(1, 30)
	s.HeartbeatInterval = span(1, 30)
	s.HeartbeatTimeout = s.HeartbeatInterval + span(1, 60)
	switch r.IntN(8) { // deliberate ties between the timeouts
	case 0:
		s.ElectionTimeout = s.HeartbeatInterval
	case 1:
		s.HeartbeatTimeout = s.HeartbeatInterval * int64(2+r.IntN(3))
	case 2:
		s.ElectionTimeout = s.HeartbeatTimeout
	}
	switch r.IntN(4) {
	case 0:
		s.MaxLatency = 1 + r.Int64N(3)
	case 1:
		s.MaxLatency = 1 + r.Int64N(max(1, s.ElectionTimeout/2))
	case 2:
		s.MaxLatency = 1 + r.Int64N(2*s.ElectionTimeout)
	default:
		s.MaxLatency = 1 + r.Int64N(2*s.HeartbeatTimeout)
	}
	if r.IntN(2) == 0 {
		s.LossPermille = uint32(1 + r.IntN(300))
	}
	base := max(s.ElectionTimeout, s.HeartbeatTimeout)
	// A schedule for the Manager is shorter, as it costs more to run; it
	// has as many events.
	s.Manager = r.IntN(1000) < managerPermille
	if s.Manager {
		s.Horizon = base*int64(3+r.IntN(6)) + r.Int64N(base)
	} else {
		s.Horizon = base*int64(6+r.IntN(15)) + r.Int64N(base)
	}

	n := 2 + r.IntN(6)
	for len(s.IDs) < n {
		if id := randomID(r, s.IDs); !slices.Contains(s.IDs, id) {
			s.IDs = append(s.IDs, id)
		}
	}

	// The instants at which clients start, so that other clients' events can
	// be put at the same instant: first starts (often late), then restarts
	// as they are generated.
	starts := make([]extEvent, n)
	for slot := range starts {
		t := int64(0)
		if r.IntN(2) == 0 {
			t = r.Int64N(s.Horizon / 2)
		}
		starts[slot] = extEvent{t - t%grid, slot, "start"}
	}
	// nextStart returns the earliest start of another slot after t.
	nextStart := func(slot int, t int64) (int64, bool) {
		best, ok := int64(0), false
		for _, e := range starts {
			if e.Slot != slot && e.T > t && (!ok || e.T < best) {
				best, ok = e.T, true
			}
		}
		return best, ok
	}

	// Each slot: a start, then pauses, partitions, shutdowns and restarts.
	// Many starts are followed at the same instant by a pause, a partition
	// or a shutdown of the new client, and one in four of the other events
	// is put at the next instant at which another client starts.
	gap := func(limit int64) int64 { return 1 + r.Int64N(max(1, limit)) }
	for slot := range n {
		t := starts[slot].T
		running := true
		add := func(op string) { s.Events = append(s.Events, extEvent{t, slot, op}) }
		// started adds a start at t and, sometimes (half the time in a
		// schedule for the Manager, else a third), an event at its instant.
		started := func() {
			add("start")
			running = true
			if k := r.IntN(6); k >= 3 || (k == 2 && !s.Manager) {
				return
			}
			switch r.IntN(4) {
			case 0:
				add("pause")
				t += gap(3 * s.HeartbeatTimeout)
				add("resume")
			case 1:
				add("partition")
				t += gap(3 * s.HeartbeatTimeout)
				add("heal")
			case 2:
				add("stop")
				running = false
			default:
				add("kill")
				running = false
			}
		}
		started()
		for range 6 {
			// Rounded up to the grid: a slot's events stay in the order
			// they are generated.
			next := t + gap(s.Horizon/3)
			next += (grid - next%grid) % grid
			if a, ok := nextStart(slot, t); ok && r.IntN(4) == 0 {
				next = a
			}
			if next > s.Horizon {
				break
			}
			t = next
			switch k := r.IntN(10); {
			case !running && k < 6:
				starts = append(starts, extEvent{t, slot, "start"})
				started()
			case !running:
				// stays down
			case k < 3:
				add("pause")
				t += gap(3 * s.HeartbeatTimeout)
				add("resume")
			case k < 5:
				add("partition")
				t += gap(3 * s.HeartbeatTimeout)
				add("heal")
			case k < 7:
				add("stop")
				running = false
			default:
				add("kill")
				running = false
			}
		}
	}
	slices.SortStableFunc(s.Events, func(a, b extEvent) int {
		if a.T != b.T {
			return cmp.Compare(a.T, b.T)
		}
		return a.Slot - b.Slot
	})
	if s.Manager {
		avoidTimerTies(s)
	}
	return s
}

// avoidTimerTies moves, 1ms at a time, every external event (other than a
// start) that falls on an instant when its client has a timer due, until
// there is none; if that takes too long, s is not run through the Manager.
//
// In the canonical order a client's external events at an instant come
// before its timers there. A Manager's timers fire on its own goroutine as
// soon as the virtual clock reaches them, so the Manager simulation cannot
// put an event before them; the Machine simulation, which can, covers these
// ties. A start creates no timer due at its own instant, so what happens at
// a client's start instant is never moved.
func avoidTimerTies(s *schedule) {
	for range 10 {
		res, err := simulateUntil(s, bellwether.ModeReference, true)
		if err != nil || res.tie < 0 {
			// Without a tie the run went to the end: keep its result.
			s.Manager, s.machine = err == nil, res
			return
		}
		tie := res.tie
		e := &s.Events[tie]
		e.T++
		// Keep the slot's events in order: a later one at the same instant
		// (the resume or heal paired with the moved event) moves with it.
		last := e.T
		for i := tie + 1; i < len(s.Events); i++ {
			if f := &s.Events[i]; f.Slot == e.Slot && f.T < last {
				f.T = last
			}
		}
		slices.SortStableFunc(s.Events, func(a, b extEvent) int {
			if a.T != b.T {
				return cmp.Compare(a.T, b.T)
			}
			return a.Slot - b.Slot
		})
	}
	s.Manager = false
}

// orderSchedule is a schedule without events whose ids are all the tricky
// ones, run only to compare JavaScript's sort of them with CompareIDs.
func orderSchedule() *schedule {
	return &schedule{
		Seed: 0, ElectionTimeout: 1, HeartbeatInterval: 1, HeartbeatTimeout: 2, MaxLatency: 1,
		IDs: slices.Clone(trickyIDs), Events: []extEvent{},
	}
}
