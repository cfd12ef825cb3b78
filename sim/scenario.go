package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
)

// Scenario describes one simulation: the group, the network, the faults and
// how often to repeat it. The zero value of every optional field is usable;
// see [Scenario.Validate] for what is required.
type Scenario struct {
	// Name labels the report.
	Name string
	// Members is the number of member slots, N >= 1. Member i has the id
	// "m" followed by i in decimal, zero-padded to the width of N-1, so ids
	// order as indices do and member 0 has the smallest id, unless IDs
	// says otherwise.
	Members int
	// IDs, when set, are the members' ids, one for each member slot: valid
	// ([bellwether.ValidateID]) and distinct. They need not order as the
	// indices do.
	IDs []string
	// Late lists members that are not started at the beginning; a Join
	// fault starts them. Every other member starts at a time drawn
	// uniformly from [0, StartSpread].
	Late []int
	// Observers lists members that are observers (MachineConfig.Observer).
	Observers []int
	// Modes are the members' election modes, cycled by index: member i
	// runs Modes[i%len(Modes)]. Empty means the library default for every
	// member (the zero ElectionMode).
	Modes []bellwether.ElectionMode
	// Settings are every member's timings; zero fields take their defaults.
	Settings bellwether.Settings
	// Lease runs every member in lease mode (MachineConfig.Lease): the bus
	// acknowledges (Machine.Acked) each broadcast it accepted, one latency
	// sample after the send, to a sender that is neither cut off from the
	// bus (Isolate) nor frozen by then. Invariant (d) is then checked.
	Lease bool
	// SilentIsolation makes an Isolate go unnoticed by a leasing member's
	// driver (a black hole). Otherwise the driver reports the member deaf
	// (Machine.Deaf) once it has been cut off for HeartbeatInterval, as
	// the Elector does when receiving fails, and hearing again when it is
	// reconnected.
	SilentIsolation bool
	// Latency is the per-delivery latency distribution.
	Latency Latency
	// Loss is the probability in [0, 1) that one delivery is lost, until
	// a [Loss] fault changes it.
	Loss float64
	// Dup is the probability in [0, 1) that one delivery is duplicated: the
	// copy arrives a further latency sample after the original.
	Dup float64
	// StartSpread spreads the initial members' start times; 0 starts them
	// all at time 0, in index order.
	StartSpread time.Duration
	// Duration is the simulated time of one repetition; must be > 0.
	Duration time.Duration
	// Faults happen at given times; see [Fault].
	Faults []Fault
	// Probes are times, within Duration, at which each repetition records
	// the state of the group in [Report.Probes]: after every event at or
	// before that time, and before any later one.
	Probes []time.Duration
	// Seed seeds everything random in the run. Repetition 0 runs with Seed
	// itself and repetition r > 0 with a seed derived from Seed and r, so
	// that any repetition can be rerun alone with its own seed.
	Seed uint64
	// Repetitions is how many times to run the scenario; 0 means 1.
	Repetitions int
	// Check selects which invariants are checked while running.
	Check Check
	// Bound overrides the stabilisation bound B of invariant (b); 0 means
	// [Scenario.StableBound].
	Bound time.Duration
	// Trace, when set, receives the trace of every repetition, one event a
	// line. It is written through an internal buffer and flushed before Run
	// returns.
	Trace io.Writer
	// TraceDeliveries adds one line per delivery to Trace.
	TraceDeliveries bool
}

// Check selects the invariants that Run checks. See docs/simulator.md.
type Check uint8

const (
	// CheckOn checks invariant (a) always, and (b) and (c) whenever they
	// are guaranteed: no message loss (with [Loss] faults: while the loss
	// probability is zero), HeartbeatTimeout greater than
	// HeartbeatInterval plus the latency spread (max - min), and a round trip
	// plus the quiet jitter within an election (2D + ElectionTimeout/4 <
	// ElectionTimeout, D the largest delivery delay: the latency bound,
	// doubled with duplication).
	CheckOn Check = iota
	// CheckOff checks nothing; for fault-heavy statistics runs.
	CheckOff
	// CheckForce checks (b) and (c) even where they are not guaranteed:
	// with loss or tight timings, and during partitions (a partition then
	// counts as a fault like any other, after which the network is deemed
	// quiet). It exists to show that the checks can fail.
	CheckForce
)

var checkNames = [...]string{CheckOn: "on", CheckOff: "off", CheckForce: "force"}

// String returns "on", "off" or "force", as in the scenario format.
func (c Check) String() string { return enumString(checkNames[:], c, "Check") }

// enumString returns the name of v in names, or typ(v) for a value
// without one.
func enumString[T ~uint8](names []string, v T, typ string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(v))
}

// LatencyDist names a latency distribution.
type LatencyDist uint8

const (
	// Fixed: every delivery takes exactly Latency.Min.
	Fixed LatencyDist = iota
	// Uniform: uniform in [Latency.Min, Latency.Max].
	Uniform
	// LogNormal: Min + Median*exp(Sigma*Z) for a standard normal Z, clamped
	// to Max (0 means Min + 20*Median).
	LogNormal
)

var latencyNames = [...]string{Fixed: "fixed", Uniform: "uniform", LogNormal: "lognormal"}

// String returns "fixed", "uniform" or "lognormal".
func (d LatencyDist) String() string { return enumString(latencyNames[:], d, "LatencyDist") }

// Latency is a per-delivery latency distribution. Every delivery of a
// broadcast draws its own latency, independently, so deliveries reorder
// whenever the distribution is not Fixed. Every distribution is bounded,
// by [Latency.Bounds].
type Latency struct {
	Dist   LatencyDist
	Min    time.Duration
	Max    time.Duration
	Median time.Duration
	Sigma  float64
}

// Bounds returns the smallest and largest latency l can produce.
func (l Latency) Bounds() (lo, hi time.Duration) {
	switch l.Dist {
	case Uniform:
		return l.Min, l.Max
	case LogNormal:
		if l.Max == 0 {
			return l.Min, l.Min + 20*l.Median
		}
		return l.Min, l.Max
	}
	return l.Min, l.Min
}

func (l Latency) validate() error {
	if l.Min < 0 {
		return fmt.Errorf("latency min %v is negative", l.Min)
	}
	switch l.Dist {
	case Fixed:
	case Uniform:
		if l.Max < l.Min {
			return fmt.Errorf("uniform latency max %v is below min %v", l.Max, l.Min)
		}
	case LogNormal:
		if l.Median <= 0 || l.Sigma < 0 || math.IsNaN(l.Sigma) || math.IsInf(l.Sigma, 0) {
			return fmt.Errorf("lognormal latency needs median > 0 and sigma >= 0 (have %v, %v)", l.Median, l.Sigma)
		}
		if l.Max != 0 && l.Max < l.Min {
			return fmt.Errorf("lognormal latency cap %v is below min %v", l.Max, l.Min)
		}
	default:
		return fmt.Errorf("unknown latency distribution %d", l.Dist)
	}
	return nil
}

// String describes l as the scenario format's latency directive does.
func (l Latency) String() string {
	switch l.Dist {
	case Uniform:
		return fmt.Sprintf("uniform %v %v", l.Min, l.Max)
	case LogNormal:
		_, hi := l.Bounds()
		return fmt.Sprintf("lognormal min=%v median=%v sigma=%g max=%v", l.Min, l.Median, l.Sigma, hi)
	}
	return fmt.Sprintf("fixed %v", l.Min)
}

// FaultKind names a fault.
type FaultKind uint8

// The faults. A fault aimed at a member that cannot take it (crashing a
// dead member, restarting a live one) does nothing and is traced as such.
const (
	// Crash stops a member uncleanly (Shutdown(now, false)); it disappears.
	Crash FaultKind = iota + 1
	// Restart starts a new Machine with the id of a crashed or withdrawn
	// member.
	Restart
	// Withdraw stops a member cleanly (Shutdown(now, true)): it broadcasts
	// a withdrawal and disappears.
	Withdraw
	// Resign makes a member resign (Machine.Resign); it stays in the group.
	Resign
	// Partition splits the network into Fault.Groups.
	Partition
	// Heal reconnects the whole network, isolated members included.
	Heal
	// Join starts a member listed in Scenario.Late.
	Join
	// Loss sets the probability that one delivery is lost to Fault.Loss,
	// from then on; deliveries already in flight are subject to it too.
	Loss
	// Isolate cuts a member off from the bus in both directions, for
	// Fault.For or, when For is 0, until the next Heal: the bus takes
	// none of its broadcasts, and it receives nothing sent before it is
	// reconnected. It keeps running.
	Isolate
	// Freeze stops a member for Fault.For, as a paused process: no
	// deliveries, no timers; then it gets one late Tick, then what
	// arrived meanwhile, and runs on. Acknowledgements of its broadcasts
	// that come back meanwhile are lost. A frozen member can crash
	// but not withdraw or resign.
	Freeze
)

var faultNames = [...]string{Crash: "crash", Restart: "restart", Withdraw: "withdraw", Resign: "resign", Partition: "partition",
	Heal: "heal", Join: "join", Loss: "loss", Isolate: "isolate", Freeze: "freeze"}

// String returns the fault's name in the scenario format.
func (k FaultKind) String() string { return enumString(faultNames[:], k, "FaultKind") }

// Special values of Fault.Member.
const (
	// TheLeader aims Crash, Withdraw, Resign, Isolate and Freeze at the
	// member leading at that moment (the smallest id if several lead); with no leader the
	// fault does nothing.
	TheLeader = -1
	// Auto aims Restart at the member crashed or withdrawn most recently
	// and not yet restarted, and Join at the next member of Scenario.Late
	// not yet started.
	Auto = -2
)

// Fault is one timed fault.
type Fault struct {
	// At is when the fault happens, from the start of the run.
	At time.Duration
	// Every, when positive, repeats the fault at At+k*Every for as long as
	// that is within the run.
	Every time.Duration
	Kind  FaultKind
	// Member is the target of Crash, Restart, Withdraw, Resign, Join,
	// Isolate and Freeze: a member index, TheLeader or Auto.
	Member int
	// Groups are the sides of a Partition: disjoint sets of member indices.
	// Members in no set form one more side together.
	Groups [][]int
	// Loss is the new loss probability of a Loss fault, in [0, 1).
	Loss float64
	// For is how long an Isolate (0: until the next Heal) or a Freeze
	// (> 0) lasts.
	For time.Duration
}

// String returns f as a line of the scenario format ("at 30s crash leader").
func (f Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "at %v", f.At)
	if f.Every > 0 {
		fmt.Fprintf(&b, " every %v", f.Every)
	}
	b.WriteString(" " + f.Kind.String())
	switch f.Kind {
	case Partition:
		for i, g := range f.Groups {
			if i > 0 {
				b.WriteString(" |")
			}
			b.WriteString(" " + formatSet(g))
		}
	case Heal:
	case Loss:
		b.WriteString(" " + strconv.FormatFloat(f.Loss, 'g', -1, 64))
	default:
		switch f.Member {
		case TheLeader:
			b.WriteString(" leader")
		case Auto:
		default:
			fmt.Fprintf(&b, " %d", f.Member)
		}
		if f.For != 0 {
			fmt.Fprintf(&b, " for %v", f.For)
		}
	}
	return b.String()
}

// normalized returns s with defaults filled in.
func (s Scenario) normalized() Scenario {
	s.Settings = s.Settings.WithDefaults()
	if s.Repetitions <= 0 {
		s.Repetitions = 1
	}
	return s
}

// Validate reports the first problem with s, or nil. It requires at least
// one member, a positive duration, a valid latency distribution, loss and
// duplication probabilities in [0, 1), valid settings and modes, member
// indices within range, faults that make sense, valid and distinct ids if
// given, and probes within the run.
func (s Scenario) Validate() error {
	if s.Members < 1 {
		return errors.New("sim: scenario needs at least one member")
	}
	if s.Duration <= 0 {
		return errors.New("sim: scenario duration must be positive")
	}
	if err := s.Settings.Validate(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if s.Lease {
		// The library's own rule for lease timings.
		if _, err := bellwether.NewMachine(bellwether.MachineConfig{ID: "m", Settings: s.Settings, Lease: true}); err != nil {
			return fmt.Errorf("sim: lease: %w", err)
		}
	}
	for _, m := range s.Modes {
		if m.String() != "quiet" && m.String() != "reference" {
			return fmt.Errorf("sim: invalid election mode %v", m)
		}
	}
	if err := s.Latency.validate(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if !(s.Loss >= 0 && s.Loss < 1) || !(s.Dup >= 0 && s.Dup < 1) {
		return fmt.Errorf("sim: loss %v and dup %v must be in [0, 1)", s.Loss, s.Dup)
	}
	if s.StartSpread < 0 || s.Bound < 0 {
		return errors.New("sim: start spread and bound must not be negative")
	}
	if s.Check > CheckForce {
		return fmt.Errorf("sim: invalid check %d", s.Check)
	}
	in := func(what string, i int) error {
		if i < 0 || i >= s.Members {
			return fmt.Errorf("sim: %s member %d out of range [0, %d)", what, i, s.Members)
		}
		return nil
	}
	late := make(map[int]bool)
	for _, i := range s.Late {
		if err := in("late", i); err != nil {
			return err
		}
		late[i] = true
	}
	for _, i := range s.Observers {
		if err := in("observer", i); err != nil {
			return err
		}
	}
	for _, f := range s.Faults {
		if f.At < 0 || f.Every < 0 {
			return fmt.Errorf("sim: fault %q: negative time", f)
		}
		if f.For != 0 && f.Kind != Isolate && f.Kind != Freeze || f.For < 0 || f.Kind == Freeze && f.For == 0 {
			return fmt.Errorf("sim: fault %q: a duration (for) must be positive, and only isolate and freeze take one", f)
		}
		switch f.Kind {
		case Crash, Withdraw, Resign, Isolate, Freeze:
			if f.Member != TheLeader {
				if err := in(f.Kind.String(), f.Member); err != nil {
					return err
				}
			}
		case Restart:
			if f.Member != Auto {
				if err := in("restart", f.Member); err != nil {
					return err
				}
			}
		case Join:
			if f.Member != Auto {
				if err := in("join", f.Member); err != nil {
					return err
				}
				if !late[f.Member] {
					return fmt.Errorf("sim: fault %q: member %d is not in Late", f, f.Member)
				}
			}
		case Partition:
			seen := make(map[int]bool)
			for _, g := range f.Groups {
				for _, i := range g {
					if err := in("partition", i); err != nil {
						return err
					}
					if seen[i] {
						return fmt.Errorf("sim: fault %q: member %d is in two groups", f, i)
					}
					seen[i] = true
				}
			}
		case Heal:
		case Loss:
			if !(f.Loss >= 0 && f.Loss < 1) {
				return fmt.Errorf("sim: fault %q: loss must be in [0, 1)", f)
			}
		default:
			return fmt.Errorf("sim: unknown fault kind %d", f.Kind)
		}
	}
	if s.IDs != nil {
		if len(s.IDs) != s.Members {
			return fmt.Errorf("sim: %d ids for %d members", len(s.IDs), s.Members)
		}
		seen := make(map[string]bool, len(s.IDs))
		for _, id := range s.IDs {
			if err := bellwether.ValidateID(id); err != nil {
				return fmt.Errorf("sim: %w", err)
			}
			if seen[id] {
				return fmt.Errorf("sim: id %q given to two members", id)
			}
			seen[id] = true
		}
	}
	for _, p := range s.Probes {
		if p < 0 || p > s.Duration {
			return fmt.Errorf("sim: probe at %v is outside the run [0, %v]", p, s.Duration)
		}
	}
	return nil
}

// leaseGuaranteed reports whether invariant (d) is guaranteed for s, and
// if not, why: it holds on a bus that delivers what it accepted, so not
// with message loss or partitions (which keep what the bus accepted from
// some members).
func (s Scenario) leaseGuaranteed() (bool, string) {
	lossy := s.Loss > 0
	for _, f := range s.Faults {
		switch {
		case f.Kind == Loss && f.Loss > 0:
			lossy = true
		case f.Kind == Partition:
			return false, "partitions keep accepted broadcasts from some members"
		}
	}
	if lossy {
		return false, "messages are lost"
	}
	return true, ""
}

// lossFaults reports whether s changes the loss probability while it runs.
func (s Scenario) lossFaults() bool {
	for _, f := range s.Faults {
		if f.Kind == Loss {
			return true
		}
	}
	return false
}

// maxLatency returns the largest delay between a send and any delivery of
// it: the latency bound, doubled when duplicates (which take a further
// sample) are possible.
func (s Scenario) maxLatency() time.Duration {
	_, hi := s.Latency.Bounds()
	if s.Dup > 0 {
		return 2 * hi
	}
	return hi
}

// StableBound returns B, the time after which a connected network without
// faults must have exactly one leader known by every member (invariant (b)):
//
//	B = HeartbeatTimeout + 2*ElectionTimeout + max(HeartbeatInterval, ElectionTimeout) + 5*D
//
// where D is the largest delivery delay (the latency bound, doubled with
// duplication) and the settings have their defaults filled in. The
// derivation is in docs/simulator.md.
func (s Scenario) StableBound() time.Duration {
	st := s.Settings.WithDefaults()
	d := s.maxLatency()
	return st.HeartbeatTimeout + 2*st.ElectionTimeout + max(st.HeartbeatInterval, st.ElectionTimeout) + 5*d
}

// guaranteed reports whether invariants (b) and (c) are guaranteed for s,
// and if not, why.
func (s Scenario) guaranteed() (bool, string) {
	st := s.Settings.WithDefaults()
	lo, hi := s.Latency.Bounds()
	d := s.maxLatency()
	switch {
	case s.Loss > 0 && !s.lossFaults():
		return false, "messages are lost"
	case st.HeartbeatTimeout <= st.HeartbeatInterval+(hi-lo):
		return false, "HeartbeatTimeout is not above HeartbeatInterval plus the latency spread"
	case 2*d+st.ElectionTimeout/4 >= st.ElectionTimeout:
		return false, "ElectionTimeout is not above twice the largest delivery delay plus the quiet jitter (ElectionTimeout/4)"
	case s.Lease && st.HeartbeatTimeout-st.ElectionTimeout/2 <= st.HeartbeatInterval+hi:
		return false, "the lease (HeartbeatTimeout - ElectionTimeout/2) is not above HeartbeatInterval plus the largest acknowledgement delay"
	}
	return true, ""
}

func formatSet(g []int) string {
	var b strings.Builder
	for i := 0; i < len(g); {
		j := i
		for j+1 < len(g) && g[j+1] == g[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", g[i], g[j])
		} else {
			fmt.Fprintf(&b, "%d", g[i])
		}
		i = j + 1
	}
	return b.String()
}
