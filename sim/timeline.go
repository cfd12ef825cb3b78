package sim

// Kinds of timeline events.
const (
	tlAlive uint8 = iota
	tlDead
	tlLeading // v: 1 leading, 0 not
	tlLeader  // v: known leader, -1 none
)

type tlEvent struct {
	t    int64
	m    int32
	v    int32
	kind uint8
}

type tlMark struct {
	t     int64
	label string
}

type tlCount struct {
	t int64
	n int32
}

// timeline records, for the first repetition, what the SVG shows: who is
// alive, who leads, whom each member follows, the faults, and how many lead.
type timeline struct {
	end       int64
	ids       []string
	observers []bool
	events    []tlEvent
	marks     []tlMark
	counts    []tlCount
}

func newTimeline(e *engine) *timeline {
	tl := &timeline{ids: make([]string, len(e.mem)), observers: make([]bool, len(e.mem))}
	for i := range e.mem {
		tl.ids[i] = e.mem[i].id
		tl.observers[i] = e.mem[i].observer
	}
	tl.counts = append(tl.counts, tlCount{0, 0})
	return tl
}

func (tl *timeline) add(t int64, m int32, kind uint8, v int32) {
	tl.events = append(tl.events, tlEvent{t: t, m: m, v: v, kind: kind})
}

func (tl *timeline) mark(t int64, label string) { tl.marks = append(tl.marks, tlMark{t, label}) }

func (tl *timeline) count(t int64, n int32) {
	if last := &tl.counts[len(tl.counts)-1]; last.t == t {
		last.n = n
		return
	}
	tl.counts = append(tl.counts, tlCount{t, n})
}

func (tl *timeline) finish(end int64) { tl.end = end }
