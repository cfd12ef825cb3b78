package bellwether

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"sync/atomic"
	"time"
)

// Reasons a keyed member rejects a message, besides those of ParseEvent.
const (
	ReasonUnsigned   = "unsigned"    // no signature, from a keyed member's view
	ReasonUnknownKey = "unknown_key" // signed with a key not in the keyring
	ReasonBadMAC     = "bad_mac"     // a signature that does not verify, or malformed signature fields
	ReasonGroup      = "group"       // signed for another group
	ReasonReplay     = "replay"      // a counter not above the last seen for that sender and boot
	// ReasonClock: the first message of a sender's boot has a timestamp
	// further than MaxClockSkew from the receiver's clock: a replay of an
	// old message, or two clocks that disagree.
	ReasonClock = "clock"
)

// DefaultMaxClockSkew is the default of Config.MaxClockSkew.
const DefaultMaxClockSkew = 30 * time.Second

// maxSenders bounds the replay state a member keeps: the senders it last
// verified. Only verified messages make an entry, so forgers cannot fill
// it; the bound holds even against a member holding the key.
const maxSenders = 4096

// macPrefix starts every MAC's input: a version, so that a later format's
// MACs cannot be taken for this one's.
const macPrefix = "bellwether/1\x00"

// auth signs and verifies an authenticated member's messages. The signer
// runs on the driver's worker only, the verifier on the receiver only, so
// each owns its buffers and hashes.
type auth struct {
	ring     atomic.Pointer[Keyring] // the keyring in force; SetKeys replaces it
	prefix   []byte                  // macPrefix + group + "\x00"
	grp      string                  // 8 hex digits naming the group
	boot     string                  // 16 hex digits, random for this member's life
	unsigned bool                    // accept unsigned messages too (rolling change)
	skew     time.Duration
	// wallStep is what tests step the wall clock of signatures by, in
	// nanoseconds (see Elector.wall): here, not in every Elector.
	wallStep atomic.Int64

	// signer
	ctr      uint64
	signRing *Keyring // the keyring signMAC is of
	signMAC  hash.Hash
	signSum  [sha256.Size]byte

	// verifier
	verifyRing *Keyring    // the keyring verifyMAC is of
	verifyMAC  []hash.Hash // one per key
	canon      []byte
	sum, want  [sha256.Size]byte
	senders    map[string]*senderState
}

// senderState is what a member remembers of one verified sender: the last
// counter of its current and previous boots.
type senderState struct {
	boot, prevBoot string
	ctr, prevCtr   uint64
	seen           int64 // unix milliseconds of the last verified message
}

func newAuth(ring *Keyring, group string, acceptUnsigned bool, skew time.Duration) (*auth, error) {
	var boot [8]byte
	if _, err := rand.Read(boot[:]); err != nil {
		return nil, err
	}
	gsum := sha256.Sum256([]byte("bellwether group\x00" + group))
	a := &auth{
		prefix:   []byte(macPrefix + group + "\x00"),
		grp:      hex.EncodeToString(gsum[:4]),
		boot:     hex.EncodeToString(boot[:]),
		unsigned: acceptUnsigned,
		skew:     skew,
		canon:    make([]byte, 0, 512),
		senders:  make(map[string]*senderState),
	}
	a.ring.Store(ring)
	return a, nil
}

// signing returns the keyring to sign with, its MAC made for it.
func (a *auth) signing() *Keyring {
	r := a.ring.Load()
	if r != a.signRing {
		a.signRing, a.signMAC = r, hmac.New(sha256.New, r.keys[0].secret)
	}
	return r
}

// verifying returns the keyring to verify with, its MACs made for it.
func (a *auth) verifying() *Keyring {
	r := a.ring.Load()
	if r != a.verifyRing {
		a.verifyRing, a.verifyMAC = r, nil
		for _, k := range r.keys {
			a.verifyMAC = append(a.verifyMAC, hmac.New(sha256.New, k.secret))
		}
	}
	return r
}

// appendAuthFields appends the signature fields but the MAC, and returns b
// with the object still open.
func appendAuthFields(b []byte, kid, boot, grp []byte, ctr uint64, ts int64) []byte {
	b = append(b, `,"kid":"`...)
	b = append(b, kid...)
	b = append(b, `","boot":"`...)
	b = append(b, boot...)
	b = append(b, `","grp":"`...)
	b = append(b, grp...)
	b = append(b, `","ctr":`...)
	b = strconv.AppendUint(b, ctr, 10)
	b = append(b, `,"ts":`...)
	return strconv.AppendInt(b, ts, 10)
}

// sign appends the signed encoding of ev to b: the event's JSON, then kid,
// boot, grp, ctr and ts, then the MAC over the group and all of that.
func (a *auth) sign(b []byte, ev Event, now time.Time) []byte {
	a.ctr++
	start := len(b)
	b = ev.AppendJSON(b)
	b = b[:len(b)-1] // reopen the object
	k := &a.signing().keys[0]
	b = appendAuthFields(b, []byte(k.id), []byte(a.boot), []byte(a.grp), a.ctr, now.UnixMilli())
	a.signMAC.Reset()
	a.signMAC.Write(a.prefix)
	a.signMAC.Write(b[start:])
	sum := a.signMAC.Sum(a.signSum[:0])
	b = append(b, `,"mac":"`...)
	b = hex.AppendEncode(b, sum)
	return append(b, '"', '}')
}

// verify checks the signature of r, whose event is ev (its strings as the
// receiver holds them), and records its counter. It returns "" for a
// message to accept, or the reason to reject it.
func (a *auth) verify(ev Event, r *rawEvent, now time.Time) string {
	if !r.signed {
		if a.unsigned {
			return ""
		}
		return ReasonUnsigned
	}
	if r.authBad || !isHex(r.kid, 16) || !isHex(r.boot, 16) || !isHex(r.grp, 8) || !isHex(r.mac, 2*sha256.Size) {
		return ReasonBadMAC
	}
	if string(r.grp) != a.grp {
		return ReasonGroup
	}
	ring := a.verifying()
	ki := -1
	for i := range ring.keys {
		if string(r.kid) == ring.keys[i].id {
			ki = i
			break
		}
	}
	if ki < 0 {
		return ReasonUnknownKey
	}
	c := ev.AppendJSON(a.canon[:0])
	c = appendAuthFields(c[:len(c)-1], r.kid, r.boot, r.grp, r.ctr, int64(r.ts))
	a.canon = c[:0]
	h := a.verifyMAC[ki]
	h.Reset()
	h.Write(a.prefix)
	h.Write(c)
	sum := h.Sum(a.sum[:0])
	if _, err := hex.Decode(a.want[:], r.mac); err != nil || !hmac.Equal(sum, a.want[:]) {
		return ReasonBadMAC
	}
	nowMS := now.UnixMilli()
	s := a.senders[string(r.id)]
	if s == nil || string(r.boot) != s.boot && string(r.boot) != s.prevBoot {
		// Only a boot not heard before is checked against the clock: its
		// counter proves nothing yet. A known boot's counter does, so a
		// clock stepped under a running member changes nothing.
		if d := nowMS - int64(r.ts); d > a.skew.Milliseconds() || -d > a.skew.Milliseconds() {
			return ReasonClock
		}
	}
	if s == nil {
		if len(a.senders) >= maxSenders {
			a.evictOldest()
		}
		s = &senderState{}
		a.senders[ev.ClientID] = s
	}
	switch {
	case string(r.boot) == s.boot:
		if r.ctr <= s.ctr {
			return ReasonReplay
		}
		s.ctr = r.ctr
	case string(r.boot) == s.prevBoot:
		if r.ctr <= s.prevCtr {
			return ReasonReplay
		}
		s.prevCtr = r.ctr
	default:
		// A new boot of the sender (or a first message): the previous
		// boot is kept, so that its messages cannot be replayed either.
		s.prevBoot, s.prevCtr = s.boot, s.ctr
		s.boot, s.ctr = string(r.boot), r.ctr
	}
	s.seen = nowMS
	return ""
}

func (a *auth) evictOldest() {
	var oldest string
	var at int64
	for id, s := range a.senders {
		if oldest == "" || s.seen < at {
			oldest, at = id, s.seen
		}
	}
	delete(a.senders, oldest)
}

func isHex(b []byte, n int) bool {
	if len(b) != n {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
