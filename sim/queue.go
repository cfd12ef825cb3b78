package sim

import "container/heap"

// Kinds of queue entries.
const (
	evTick      uint8 = iota // a member's timer: ref is the member, gen its tick generation
	evBcast                  // the next delivery of a broadcast: ref is the broadcast
	evStart                  // an initial member starts: ref is the member
	evFault                  // a fault: ref indexes engine.faults
	evCheck                  // the bound B of a quiet period ends: gen is the period
	evReconnect              // an isolation ends: ref is the member, gen its isolation generation
	evThaw                   // a freeze ends: ref is the member, gen its freeze generation
	evAck                    // the bus acknowledges a broadcast: ref indexes engine.acks
	evDeaf                   // a leasing member's driver finds it cut off: ref is the member, gen its isolation generation
)

// entry is one scheduled event. The queue orders entries by (at, seq);
// seq is unique, so the order is total and the run deterministic.
type entry struct {
	at   int64
	seq  uint64
	ref  int32
	gen  uint32
	kind uint8
}

// queue is a binary heap of entries, driven through container/heap. Entries
// are pushed and popped with push and pop, which use heap.Fix so that no
// entry is boxed into an interface value (which would allocate).
type queue []entry

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

// Push and Pop implement heap.Interface; the engine uses push and pop.
func (q *queue) Push(x any) { *q = append(*q, x.(entry)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (q *queue) push(e entry) {
	*q = append(*q, e)
	heap.Fix(q, len(*q)-1)
}

// pop removes the first entry.
func (q *queue) pop() {
	n := len(*q) - 1
	(*q)[0] = (*q)[n]
	*q = (*q)[:n]
	if n > 0 {
		heap.Fix(q, 0)
	}
}

// fixTop restores the order after the first entry's key grew.
func (q *queue) fixTop() { heap.Fix(q, 0) }
