package refdiff

import (
	"math/rand/v2"
	"slices"
)

// schedule is one seeded scenario, run identically by the Go simulator and
// by harness.js. All times are integer milliseconds of virtual time.
type schedule struct {
	Seed              uint32     `json:"seed"`
	ElectionTimeout   int64      `json:"electionTimeout"`
	HeartbeatInterval int64      `json:"heartbeatInterval"`
	HeartbeatTimeout  int64      `json:"heartbeatTimeout"`
	MaxLatency        int64      `json:"maxLatency"`   // latency is 1 + hash % MaxLatency
	LossPermille      uint32     `json:"lossPermille"` // a delivery is lost if hash % 1000 < LossPermille
	Horizon           int64      `json:"horizon"`      // nothing after this time is run
	IDs               []string   `json:"ids"`          // client id of each slot
	Events            []extEvent `json:"events"`       // sorted by (T, Slot, generation order)
}

// extEvent is an external event: op is start (a new instance), stop (clean
// shutdown), kill (unclean shutdown), pause or resume (of the slot's
// channel).
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
	s.Horizon = base*int64(6+r.IntN(15)) + r.Int64N(base)

	n := 2 + r.IntN(6)
	for len(s.IDs) < n {
		if id := randomID(r, s.IDs); !slices.Contains(s.IDs, id) {
			s.IDs = append(s.IDs, id)
		}
	}

	// Each slot: a start (often late), then pauses, shutdowns and restarts.
	gap := func(limit int64) int64 { return 1 + r.Int64N(max(1, limit)) }
	for slot := range n {
		t := int64(0)
		if r.IntN(2) == 0 {
			t = r.Int64N(s.Horizon / 2)
		}
		t -= t % grid
		s.Events = append(s.Events, extEvent{t, slot, "start"})
		running := true
		for range 6 {
			t += gap(s.Horizon / 3)
			t -= t % grid
			if t > s.Horizon {
				break
			}
			switch k := r.IntN(10); {
			case !running && k < 6:
				s.Events = append(s.Events, extEvent{t, slot, "start"})
				running = true
			case !running:
				// stays down
			case k < 4:
				s.Events = append(s.Events, extEvent{t, slot, "pause"})
				t += gap(3 * s.HeartbeatTimeout)
				s.Events = append(s.Events, extEvent{t, slot, "resume"})
			case k < 7:
				s.Events = append(s.Events, extEvent{t, slot, "stop"})
				running = false
			default:
				s.Events = append(s.Events, extEvent{t, slot, "kill"})
				running = false
			}
		}
	}
	slices.SortStableFunc(s.Events, func(a, b extEvent) int {
		if a.T != b.T {
			return cmpInt64(a.T, b.T)
		}
		return a.Slot - b.Slot
	})
	return s
}

// orderSchedule is a schedule without events whose ids are all the tricky
// ones, run only to compare JavaScript's sort of them with CompareIDs.
func orderSchedule() *schedule {
	return &schedule{
		Seed: 0, ElectionTimeout: 1, HeartbeatInterval: 1, HeartbeatTimeout: 2, MaxLatency: 1,
		IDs: slices.Clone(trickyIDs), Events: []extEvent{},
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
