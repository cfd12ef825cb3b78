package echoes

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// wantTake fails the test with why unless r.Take(sum, tag, now) is want.
func wantTake(t *testing.T, r *Record, sum Sum, tag uint32, now time.Time, want bool, why string) {
	t.Helper()
	if r.Take(sum, tag, now) != want {
		t.Fatal(why)
	}
}

func TestTakeConsumesOneEntry(t *testing.T) {
	r := New(8, time.Second)
	now := time.Unix(1000, 0)
	a, b := SumOf("a"), SumOf([]byte("b"))
	if a == b || a != SumOf([]byte("a")) {
		t.Fatal("SumOf: string and []byte of the same bytes differ, or different bytes match")
	}
	r.Add(a, 0, now)
	r.Add(a, 0, now)
	wantTake(t, r, b, 0, now, false, "Take of a message never sent = true")
	for i := range 2 {
		if !r.Take(a, 0, now) {
			t.Fatalf("Take %d of a message sent twice = false", i+1)
		}
	}
	wantTake(t, r, a, 0, now, false, "a third Take of a message sent twice = true")
	if r.Len() != 0 {
		t.Fatalf("Len = %d; want 0", r.Len())
	}
}

func TestTagMustMatch(t *testing.T) {
	r := New(8, time.Second)
	now := time.Unix(1000, 0)
	s := SumOf("m")
	r.Add(s, 7, now)
	wantTake(t, r, s, 8, now, false, "the same bytes from another connection were taken for the echo")
	wantTake(t, r, s, 7, now, true, "the echo from the sending connection was not recognised")
}

func TestExpiry(t *testing.T) {
	r := New(8, time.Second)
	start := time.Unix(1000, 0)
	r.Add(SumOf("old"), 0, start)
	r.Add(SumOf("new"), 0, start.Add(900*time.Millisecond))
	now := start.Add(1500 * time.Millisecond)
	wantTake(t, r, SumOf("old"), 0, now, false, "an entry older than the ttl was taken")
	wantTake(t, r, SumOf("new"), 0, now, true, "an entry younger than the ttl was not taken")
}

func TestCapacityDropsOldest(t *testing.T) {
	r := New(4, time.Hour)
	now := time.Unix(1000, 0)
	for i := range 6 {
		r.Add(SumOf(strconv.Itoa(i)), 0, now)
	}
	if r.Len() != 4 {
		t.Fatalf("Len = %d; want the capacity, 4", r.Len())
	}
	for i := range 2 {
		if r.Take(SumOf(strconv.Itoa(i)), 0, now) {
			t.Fatalf("entry %d, beyond the capacity, was kept", i)
		}
	}
	for i := 2; i < 6; i++ {
		if !r.Take(SumOf(strconv.Itoa(i)), 0, now) {
			t.Fatalf("entry %d was lost", i)
		}
	}
}

func TestForget(t *testing.T) {
	r := New(8, time.Hour)
	now := time.Unix(1000, 0)
	s := SumOf("m")
	r.Add(s, 1, now)
	r.Add(s, 2, now)
	r.Forget(s, 2)
	r.Forget(s, 3) // none: no effect
	wantTake(t, r, s, 2, now, false, "a forgotten entry was taken")
	wantTake(t, r, s, 1, now, true, "Forget removed the entry of another tag")
}

func TestConcurrent(t *testing.T) {
	r := New(1024, time.Hour)
	now := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				s := SumOf(strconv.Itoa(g*1000 + i))
				r.Add(s, 0, now)
				if !r.Take(s, 0, now) {
					t.Errorf("goroutine %d lost entry %d", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Fatalf("Len = %d; want 0", r.Len())
	}
}
