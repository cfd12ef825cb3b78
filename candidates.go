package bellwether

import (
	"hash/maphash"
	"math/bits"
)

// candidateSet is the set of candidates of one election: a small
// open-addressing hash table with linear probing, at most half full.
//
// It exists because an election's common step is a candidate already
// known (in a reference-mode election every member hears every other's
// accept once per request), and there it costs one inlined hash of the id,
// one probe and one comparison, against a Go map's call, hash and group
// search. The hash is keyed with a random per-process seed and covers every
// byte of the id, so ids cannot be chosen to collide; and the table never
// holds more than 2·MaxCandidates ids (Machine.addCandidate trims it), so
// it costs at most 4·MaxCandidates slots of memory whatever the flood. The
// zero value is an empty set.
type candidateSet struct {
	slots []candidateSlot // len is 0 or a power of two
	n     int
}

// candidateSlot is one slot of a candidateSet: tag is 0 for an empty slot,
// otherwise the id's hash with its top bit set, which no index reads. It
// is the whole hash, in the room an id's alignment leaves anyway, so that
// growth and removal find an id's home slot without hashing it again.
type candidateSlot struct {
	tag uint64
	id  string
}

// minCandidateSlots is the size of a set's first table: a group of up to
// 4 members never grows it, and a leader keeps no more at rest.
const minCandidateSlots = 8

// secondCandidateSlots is the size of the table a set that outgrows its
// first one goes to, skipping 16: room for a group of up to 16 members in
// one more allocation, where doubling took two (and a reference-mode cold
// start of 10 spent about 10k of its 277k instructions on the third table
// of each member).
const secondCandidateSlots = 4 * minCandidateSlots

// candidateSeed keys the hash. It is random so that nobody can choose ids
// that collide; the order of the table never reaches a decision, which
// compares ids, so the Machine stays deterministic.
var candidateSeed = func() uint64 {
	var h maphash.Hash
	return h.Sum64() // a Hash's zero value takes a random seed
}()

// hashID hashes s with candidateSeed, 8 bytes at a time (wyhash's
// mixing).
func hashID(s string) uint64 {
	if short(s) {
		return hashShort(s)
	}
	return hashAny(s)
}

// short reports whether s is of the length hashShort takes, that of most
// ids.
func short(s string) bool { return len(s) >= 4 && len(s) <= 8 }

// hashShort is hashAny for ids of 4 to 8 bytes.
func hashShort(s string) uint64 {
	return hashWords(len(s), load32(s, 0), load32(s, len(s)-4))
}

// hashWords is hashShort of an id of n bytes whose first and last four
// are a and b; it is small enough to inline.
func hashWords(n int, a, b uint32) uint64 { return keyedWords(shortKeys[n-4], a, b) }

// keyedWords is hashWords with key for the id's length's shortKeys.
func keyedWords(key uint64, a, b uint32) uint64 {
	return finish(uint64(a)<<32|uint64(b)^hashK2, key)
}

// shortKeys[n-4] is the multiplier hashAny reaches for an id of n bytes,
// 4 to 8: it depends on the seed and the length only, so it is computed
// once and not on each lookup.
var shortKeys = shortKeysOf(candidateSeed)

func shortKeysOf(seed uint64) (k [5]uint64) {
	for i := range k {
		k[i] = seed ^ hashK0 ^ uint64(i+4)*hashK1 ^ hashK1
	}
	return k
}

// finish is the hash's last step, wyhash's: the two halves of x·y
// multiplied together. One multiply, hi^lo of x·y, would leave the low
// bits, the home slot, linear in a byte of x: ids that differ in one byte
// (m-00001, m-00002, ...) would have homes in arithmetic progression,
// with a step the seed picks, and some seeds pile a group's ids into one
// run of slots (ten ids of 32 slots, 5 probes each; see
// TestHashSpreadsSequentialIDs).
func finish(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return mix(lo^hashK0, hi^hashK1)
}

const hashK0, hashK1, hashK2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3

// hashAny is hashID for ids of any length.
func hashAny(s string) uint64 {
	h := candidateSeed ^ hashK0 ^ uint64(len(s))*hashK1
	for len(s) > 8 {
		h = mix(le64(s)^hashK1, h^hashK2)
		s = s[8:]
	}
	// The last 0 to 8 bytes, read as wyhash reads them: two words that
	// overlap for 4 to 8 bytes, or the first, middle and last byte.
	var t uint64
	switch n := len(s); {
	case n >= 4:
		t = uint64(load32(s, 0))<<32 | uint64(load32(s, n-4))
	case n > 0:
		t = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	return finish(t^hashK2, h^hashK1)
}

// load32 reads the 4 bytes of s at i, which it must have, as one
// little-endian word (one load where the CPU allows).
func load32(s string, i int) uint32 {
	s = s[i : i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 reads the first 8 bytes of s, which must have them, as one
// little-endian word.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func tagOf(h uint64) uint64 { return h | 1<<63 }

// Len returns the number of ids in the set.
func (c *candidateSet) Len() int { return c.n }

// find returns the index of the slot holding id, or of the empty slot
// where it belongs; h is its hash. The table must have slots.
func (c *candidateSet) find(id string, h uint64) uint64 {
	mask := uint64(len(c.slots) - 1)
	tag := tagOf(h)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.tag == 0 || s.tag == tag && s.id == id {
			return i
		}
	}
}

// Has reports whether id is in the set.
func (c *candidateSet) Has(id string) bool {
	if c.n == 0 {
		return false
	}
	return c.slots[c.find(id, hashID(id))].tag != 0
}

// surelyHas reports whether id is in the set, where that is quick to
// tell: for an id of 4 to 8 bytes, most ids, it hashes and compares
// without a call. False means that id is not in the set or that Has must
// say.
func (c *candidateSet) surelyHas(id string) bool {
	if c.n == 0 || !short(id) {
		return false
	}
	n := len(id)
	a, b := load32(id, 0), load32(id, n-4)
	h := hashWords(n, a, b)
	mask := uint64(len(c.slots) - 1)
	tag := tagOf(h)
	for i := h & mask; ; i = (i + 1) & mask {
		// The tag first: most lookups find the id in its first slot. (An
		// empty slot's tag, 0, is never an id's.)
		s := &c.slots[i]
		if s.tag == tag {
			// Two ids of the same 4 to 8 bytes are equal if their first
			// and last four bytes are.
			if len(s.id) == n && load32(s.id, 0) == a && load32(s.id, n-4) == b {
				return true
			}
		} else if s.tag == 0 {
			return false
		}
	}
}

// Add adds id unless it is in the set already, and reports whether it
// added it. It hashes id once and, unless the table must grow, probes
// once: a new candidate is an election's other common step.
func (c *candidateSet) Add(id string) bool {
	h := hashID(id)
	var i uint64
	if len(c.slots) > 0 {
		if i = c.find(id, h); c.slots[i].tag != 0 {
			return false
		}
	}
	if 2*(c.n+1) > len(c.slots) {
		c.grow()
		i = c.find(id, h)
	}
	c.slots[i] = candidateSlot{tag: tagOf(h), id: id}
	c.n++
	return true
}

func (c *candidateSet) grow() {
	old := c.slots
	size := 2 * len(old)
	switch {
	case len(old) == 0:
		size = minCandidateSlots
	case size < secondCandidateSlots:
		size = secondCandidateSlots
	}
	c.slots = make([]candidateSlot, size)
	mask := uint64(len(c.slots) - 1)
	for _, s := range old {
		if s.tag == 0 {
			continue
		}
		// The ids are distinct: the first empty slot from its home is
		// each one's.
		i := s.tag & mask
		for c.slots[i].tag != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = s
	}
}

// Remove removes id and reports whether it was in the set. The slots after
// it shift back into the gap (no tombstones), so lookups stay short however
// many ids come and go.
func (c *candidateSet) Remove(id string) bool {
	if c.n == 0 {
		return false
	}
	i := c.find(id, hashID(id))
	if c.slots[i].tag == 0 {
		return false
	}
	mask := uint64(len(c.slots) - 1)
	for j := (i + 1) & mask; c.slots[j].tag != 0; j = (j + 1) & mask {
		// The id at j may fill the gap at i unless its home slot lies
		// cyclically in (i, j], where a lookup would stop at the gap
		// before reaching i.
		home := c.slots[j].tag & mask
		if (j-home)&mask >= (j-i)&mask {
			c.slots[i] = c.slots[j]
			i = j
		}
	}
	c.slots[i] = candidateSlot{}
	c.n--
	return true
}

// All calls f for every id in the set, in no particular order.
func (c *candidateSet) All(f func(id string)) {
	for _, s := range c.slots {
		if s.tag != 0 {
			f(s.id)
		}
	}
}

// keptCandidateSlots is the largest table Clear keeps for the next
// election; a larger one, grown by a flood or a large reference-mode
// group, is given back so that it does not stay pinned for the member's
// life.
const keptCandidateSlots = 64

// Clear empties the set.
func (c *candidateSet) Clear() {
	if len(c.slots) > keptCandidateSlots {
		c.slots = nil
	} else {
		clear(c.slots)
	}
	c.n = 0
}
