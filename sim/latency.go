package sim

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// sampler draws latencies, in nanoseconds, from a Latency.
//
// A broadcast to n members needs n independent latencies, delivered in time
// order. Instead of drawing and sorting n values (n objects per broadcast),
// the simulator walks the order statistics of n uniform variables upwards,
// one at a time, and maps each through the distribution's quantile
// function; a keyed pseudo-random permutation then says which recipient
// gets which rank. A broadcast in flight is thus a fixed-size record
// whatever n is, and its deliveries come out already sorted.
type sampler struct {
	dist     LatencyDist
	min, max int64
	span     float64 // uniform: max - min
	median   float64
	sigma    float64
}

func newSampler(l Latency) sampler {
	lo, hi := l.Bounds()
	return sampler{
		dist:   l.Dist,
		min:    int64(lo),
		max:    int64(hi),
		span:   float64(hi - lo),
		median: float64(l.Median),
		sigma:  l.Sigma,
	}
}

// fixed reports whether every latency is the same.
func (s *sampler) fixed() bool { return s.dist == Fixed || s.min == s.max }

// quantile returns the latency at quantile u in [0, 1]. It is
// non-decreasing in u.
func (s *sampler) quantile(u float64) int64 {
	switch s.dist {
	case Uniform:
		return s.min + int64(u*s.span)
	case LogNormal:
		z := math.Sqrt2 * math.Erfinv(2*u-1)
		v := s.median * math.Exp(s.sigma*z)
		if math.IsNaN(v) || v >= float64(s.max-s.min) {
			return s.max
		}
		return s.min + int64(v)
	}
	return s.min
}

// sample returns one latency.
func (s *sampler) sample(r *rand.Rand) int64 {
	if s.fixed() {
		return s.min
	}
	return s.quantile(r.Float64())
}

// nextOrder returns the next order statistic of m remaining uniforms on
// (u, 1): the minimum of m such variables.
func nextOrder(r *rand.Rand, u float64, m int32) float64 {
	v := 1 - r.Float64() // (0, 1]
	var p float64
	if m == 1 {
		p = v
	} else {
		p = math.Exp(math.Log(v) / float64(m))
	}
	next := 1 - (1-u)*p
	if next < u {
		next = u
	}
	return next
}

// perm is a keyed pseudo-random permutation of [0, n).
type perm struct {
	n     uint64
	mask  uint64
	shift uint
	k1    uint64
	m1    uint64
	k2    uint64
	m2    uint64
}

func newPerm(n int32, key uint64) perm {
	p := perm{n: uint64(n)}
	if n <= 1 {
		return p
	}
	b := uint(bits.Len64(uint64(n - 1)))
	p.mask = 1<<b - 1
	p.shift = b/2 + 1
	k := key
	p.k1 = splitmix(&k)
	p.m1 = splitmix(&k) | 1
	p.k2 = splitmix(&k)
	p.m2 = splitmix(&k) | 1
	return p
}

// at returns the image of i < n. Each round is a bijection of the b-bit
// words, and cycle walking brings values at or beyond n back into range;
// the domain is less than 2n, so the walk is short.
func (p *perm) at(i int32) int32 {
	if p.n <= 1 {
		return 0
	}
	x := uint64(i)
	for {
		x ^= x >> p.shift
		x = (x*p.m1 + p.k1) & p.mask
		x ^= x >> p.shift
		x = (x*p.m2 + p.k2) & p.mask
		x ^= x >> p.shift
		if x < p.n {
			return int32(x)
		}
	}
}

// splitmix advances *s and returns the next splitmix64 output.
func splitmix(s *uint64) uint64 {
	*s += 0x9E3779B97F4A7C15
	z := *s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// derive mixes a seed with two numbers into a new seed.
func derive(seed uint64, a, b uint64) uint64 {
	s := seed ^ a*0xD6E8FEB86659FD93 ^ b*0xA0761D6478BD642F
	splitmix(&s)
	return splitmix(&s)
}
