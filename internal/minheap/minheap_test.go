package minheap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type key struct{ at, seq int }

func (a key) Less(b key) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }

// TestOrder: interleaved pushes and pops, and an Init after a filter,
// give the values in the order of a sort.
func TestOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var h Heap[key]
		var want []key
		seq := 0
		for range r.IntN(300) {
			if len(h) > 0 && r.IntN(3) == 0 {
				slices.SortFunc(want, func(a, b key) int {
					if a.Less(b) {
						return -1
					}
					return 1
				})
				if got := h.Pop(); got != want[0] {
					t.Fatalf("round %d: Pop = %v, want %v", round, got, want[0])
				}
				want = want[1:]
				continue
			}
			seq++
			k := key{r.IntN(20), seq}
			h.Push(k)
			want = append(want, k)
		}
		if round%2 == 0 { // drop the odd times, as transport/mem drops a member's copies
			h = slices.DeleteFunc(h, func(k key) bool { return k.at%2 == 1 })
			want = slices.DeleteFunc(want, func(k key) bool { return k.at%2 == 1 })
			h.Init()
		}
		slices.SortFunc(want, func(a, b key) int {
			if a.Less(b) {
				return -1
			}
			return 1
		})
		for i, w := range want {
			if got := h.Pop(); got != w {
				t.Fatalf("round %d: pop %d = %v, want %v", round, i, got, w)
			}
		}
		if len(h) != 0 {
			t.Fatalf("round %d: %d values left", round, len(h))
		}
	}
}

// TestPopClears: a popped value is not kept in the backing array.
func TestPopClears(t *testing.T) {
	var h Heap[refKey]
	a, b := 1, 2
	h.Push(refKey{&a})
	h.Push(refKey{&b})
	h.Pop()
	if full := h[:cap(h)]; full[1].p != nil {
		t.Fatal("Pop left a reference behind the length")
	}
}

type refKey struct{ p *int }

func (a refKey) Less(b refKey) bool { return *a.p < *b.p }
