// Package echoes lets a transport whose bus hands a member's messages back
// to the member's own subscription recognise those echoes without adding
// anything to the bytes on the bus.
//
// Each member keeps a Record of what it sent recently: the SHA-256 of each
// message and a tag naming the connection it went out on (for a bus that
// says which connection sent a message; 0 otherwise). An incoming message
// that matches an entry is that member's echo: Take consumes the entry and
// the transport skips that member only.
//
// The record is bounded in length and age, so an echo that never comes
// (the subscription was down when it would have arrived) is forgotten. The
// price of leaving the bytes untouched: another sender's byte-identical
// message, arriving while an entry waits for its echo, is taken for the
// echo. The member then still hears one copy of the message, unless its own
// echo is lost.
package echoes

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Sum identifies a message by content.
type Sum [sha256.Size]byte

// SumOf returns msg's Sum.
func SumOf[T ~string | ~[]byte](msg T) Sum {
	return sha256.Sum256([]byte(msg))
}

// Record is one member's record of the messages it sent recently. It is
// safe for concurrent use.
type Record struct {
	max int
	ttl time.Duration

	mu      sync.Mutex
	entries []entry // oldest first
}

type entry struct {
	sum Sum
	tag uint32
	at  time.Time
}

// New returns a Record that holds at most max entries, each for at most
// ttl.
func New(max int, ttl time.Duration) *Record {
	return &Record{max: max, ttl: ttl}
}

// Add notes that a message with sum is about to go out on the connection
// tag. It must be called before the message can come back. When the record
// is full the oldest entry is forgotten.
func (r *Record) Add(sum Sum, tag uint32, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	if len(r.entries) >= r.max {
		n := copy(r.entries, r.entries[1:])
		r.entries = r.entries[:n]
	}
	r.entries = append(r.entries, entry{sum: sum, tag: tag, at: now})
}

// Forget removes the newest entry for sum and tag: the message did not go
// out after all.
func (r *Record) Forget(sum Sum, tag uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.entries) - 1; i >= 0; i-- {
		if e := r.entries[i]; e.sum == sum && e.tag == tag {
			r.entries = append(r.entries[:i], r.entries[i+1:]...)
			return
		}
	}
}

// Take reports whether a message with sum, sent by the connection tag, is
// this member's echo, and if so consumes the oldest matching entry.
func (r *Record) Take(sum Sum, tag uint32, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	for i, e := range r.entries {
		if e.sum == sum && e.tag == tag {
			r.entries = append(r.entries[:i], r.entries[i+1:]...)
			return true
		}
	}
	return false
}

// Len returns the number of entries awaiting their echo.
func (r *Record) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// pruneLocked drops the entries older than ttl.
func (r *Record) pruneLocked(now time.Time) {
	i := 0
	for i < len(r.entries) && now.Sub(r.entries[i].at) > r.ttl {
		i++
	}
	if i > 0 {
		n := copy(r.entries, r.entries[i:])
		clear(r.entries[n:])
		r.entries = r.entries[:n]
	}
}
