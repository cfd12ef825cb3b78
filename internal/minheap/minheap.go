// Package minheap is the binary min-heap that bellwether's in-process bus
// (transport/mem), the differential test and the benchmarks' simulations
// schedule their deliveries with: values that order themselves, kept
// without boxing them into interface values.
package minheap

// Heap is a binary min-heap of values ordered by their Less method, which
// must be a strict total order for pops to come in one order only. The
// least value is at index 0; the zero Heap is empty.
type Heap[T interface{ Less(T) bool }] []T

// Push adds v.
func (h *Heap[T]) Push(v T) {
	*h = append(*h, v)
	h.up(len(*h) - 1)
}

// Pop removes and returns the least value. The heap must not be empty.
func (h *Heap[T]) Pop() T {
	old := *h
	n := len(old) - 1
	top := old[0]
	old[0] = old[n]
	var zero T
	old[n] = zero // no reference kept past the length
	*h = old[:n]
	h.down(0)
	return top
}

// Init restores the order after the values were changed in place (a
// filter, say).
func (h Heap[T]) Init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h Heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].Less(h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h Heap[T]) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h[r].Less(h[c]) {
			c = r
		}
		if !h[c].Less(h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
