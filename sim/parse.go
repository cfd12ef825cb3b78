package sim

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether"
)

// ParseScenario reads a scenario in the text format of docs/simulator.md:
// one directive a line, "#" to the end of a line is a comment, blank lines
// are ignored. For example:
//
//	name        leader crashes
//	members     100
//	modes       quiet reference      # cycled by member index
//	settings    election=1s interval=2s timeout=8s
//	latency     uniform 1ms 20ms
//	loss        0
//	duration    10m
//	seed        7
//	repetitions 20
//	at 30s every 1m crash leader
//	at 40s every 1m restart
//
// The result is validated with [Scenario.Validate]. Errors name the line.
func ParseScenario(r io.Reader) (Scenario, error) {
	var s Scenario
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if err := s.directive(f); err != nil {
			return Scenario{}, fmt.Errorf("sim: scenario line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Scenario{}, err
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, err
	}
	return s, nil
}

func (s *Scenario) directive(f []string) error {
	key, args := f[0], f[1:]
	one := func() (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("%s takes one value", key)
		}
		return args[0], nil
	}
	var err error
	switch key {
	case "name":
		s.Name = strings.Join(args, " ")
	case "members", "repetitions":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%s: bad count %q", key, v)
		}
		if key == "members" {
			s.Members = n
		} else {
			s.Repetitions = n
		}
	case "late", "observers":
		set, err := parseSet(strings.Join(args, ""))
		if err != nil {
			return err
		}
		if key == "late" {
			s.Late = append(s.Late, set...)
		} else {
			s.Observers = append(s.Observers, set...)
		}
	case "modes":
		if len(args) == 0 {
			return fmt.Errorf("modes needs at least one mode")
		}
		s.Modes = s.Modes[:0]
		for _, a := range args {
			m, err := bellwether.ParseElectionMode(a)
			if err != nil {
				return err
			}
			s.Modes = append(s.Modes, m)
		}
	case "settings":
		for _, a := range args {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				return fmt.Errorf("settings: want key=duration, have %q", a)
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("settings: %w", err)
			}
			switch k {
			case "election":
				s.Settings.ElectionTimeout = d
			case "interval":
				s.Settings.HeartbeatInterval = d
			case "timeout":
				s.Settings.HeartbeatTimeout = d
			default:
				return fmt.Errorf("settings: unknown key %q (election, interval, timeout)", k)
			}
		}
	case "latency":
		l, err := parseLatency(args)
		if err != nil {
			return err
		}
		s.Latency = l
	case "loss", "dup":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		p, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if key == "loss" {
			s.Loss = p
		} else {
			s.Dup = p
		}
	case "start-spread", "duration", "bound":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "start-spread":
			s.StartSpread = d
		case "duration":
			s.Duration = d
		default:
			s.Bound = d
		}
	case "seed":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		if s.Seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	case "check":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		i := slices.Index(checkNames[:], v)
		if i < 0 {
			return fmt.Errorf("check: want on, off or force, have %q", v)
		}
		s.Check = Check(i)
	case "ids":
		if len(args) == 0 {
			return fmt.Errorf("ids needs at least one id")
		}
		s.IDs = append(s.IDs, args...)
	case "probe":
		if len(args) == 0 {
			return fmt.Errorf("probe needs at least one time")
		}
		for _, a := range args {
			d, err := time.ParseDuration(a)
			if err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			s.Probes = append(s.Probes, d)
		}
	case "lease":
		var v string
		if v, err = one(); err != nil {
			return err
		}
		switch v {
		case "on":
			s.Lease = true
		case "off":
			s.Lease = false
		case "silent":
			s.Lease, s.SilentIsolation = true, true
		default:
			return fmt.Errorf("lease: want on, off or silent, have %q", v)
		}
	case "at":
		flt, err := parseFault(args)
		if err != nil {
			return err
		}
		s.Faults = append(s.Faults, flt)
	default:
		return fmt.Errorf("unknown directive %q", key)
	}
	return nil
}

func parseLatency(args []string) (Latency, error) {
	if len(args) == 0 {
		return Latency{}, fmt.Errorf("latency needs a distribution: fixed, uniform or lognormal")
	}
	var l Latency
	durs := func(n int) ([]time.Duration, error) {
		if len(args) != n+1 {
			return nil, fmt.Errorf("latency %s takes %d duration(s)", args[0], n)
		}
		ds := make([]time.Duration, n)
		for i := range ds {
			d, err := time.ParseDuration(args[i+1])
			if err != nil {
				return nil, fmt.Errorf("latency: %w", err)
			}
			ds[i] = d
		}
		return ds, nil
	}
	switch args[0] {
	case "fixed":
		ds, err := durs(1)
		if err != nil {
			return l, err
		}
		l = Latency{Dist: Fixed, Min: ds[0]}
	case "uniform":
		ds, err := durs(2)
		if err != nil {
			return l, err
		}
		l = Latency{Dist: Uniform, Min: ds[0], Max: ds[1]}
	case "lognormal":
		l.Dist = LogNormal
		for _, a := range args[1:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				return l, fmt.Errorf("latency lognormal: want key=value, have %q", a)
			}
			if k == "sigma" {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return l, fmt.Errorf("latency sigma: %w", err)
				}
				l.Sigma = f
				continue
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return l, fmt.Errorf("latency %s: %w", k, err)
			}
			switch k {
			case "min":
				l.Min = d
			case "median":
				l.Median = d
			case "max":
				l.Max = d
			default:
				return l, fmt.Errorf("latency lognormal: unknown key %q (min, median, sigma, max)", k)
			}
		}
	default:
		return l, fmt.Errorf("unknown latency distribution %q", args[0])
	}
	return l, nil
}

// parseFault parses "<at> [every <d>] <kind> [<target>]".
func parseFault(args []string) (Fault, error) {
	var f Fault
	if len(args) < 2 {
		return f, fmt.Errorf("at needs a time and a fault")
	}
	var err error
	if f.At, err = time.ParseDuration(args[0]); err != nil {
		return f, fmt.Errorf("at: %w", err)
	}
	args = args[1:]
	if args[0] == "every" {
		if len(args) < 3 {
			return f, fmt.Errorf("at ... every needs a period and a fault")
		}
		if f.Every, err = time.ParseDuration(args[1]); err != nil {
			return f, fmt.Errorf("every: %w", err)
		}
		if f.Every <= 0 {
			return f, fmt.Errorf("every: period must be positive")
		}
		args = args[2:]
	}
	kind, rest := args[0], args[1:]
	if n := len(rest); n >= 2 && rest[n-2] == "for" {
		if f.For, err = time.ParseDuration(rest[n-1]); err != nil {
			return f, fmt.Errorf("for: %w", err)
		}
		rest = rest[:n-2]
	}
	for k, name := range faultNames {
		if name == kind && name != "" {
			f.Kind = FaultKind(k)
		}
	}
	target := func(special string, value int) error {
		switch {
		case len(rest) == 0 && special == "auto":
			f.Member = value
		case len(rest) == 1 && rest[0] == special:
			f.Member = value
		case len(rest) == 1:
			n, err := strconv.Atoi(rest[0])
			if err != nil || n < 0 {
				return fmt.Errorf("%s: bad member %q", kind, rest[0])
			}
			f.Member = n
		default:
			return fmt.Errorf("%s takes one target", kind)
		}
		return nil
	}
	switch f.Kind {
	case Crash, Withdraw, Resign, Isolate, Freeze:
		return f, target("leader", TheLeader)
	case Restart, Join:
		return f, target("auto", Auto)
	case Partition:
		for _, part := range strings.Split(strings.Join(rest, ""), "|") {
			set, err := parseSet(part)
			if err != nil {
				return f, err
			}
			f.Groups = append(f.Groups, set)
		}
		if len(f.Groups) == 0 {
			return f, fmt.Errorf("partition needs member sets separated by |")
		}
	case Heal:
		if len(rest) != 0 {
			return f, fmt.Errorf("heal takes no arguments")
		}
	case Loss:
		if len(rest) != 1 {
			return f, fmt.Errorf("loss takes one probability")
		}
		if f.Loss, err = strconv.ParseFloat(rest[0], 64); err != nil {
			return f, fmt.Errorf("loss: %w", err)
		}
	default:
		return f, fmt.Errorf("unknown fault %q (crash, withdraw, resign, restart, join, partition, heal, loss, isolate, freeze)", kind)
	}
	return f, nil
}

// parseSet parses "3,5-9,12" into sorted member indices.
func parseSet(s string) ([]int, error) {
	var set []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad member set %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad member range %q", part)
			}
		}
		for i := a; i <= b; i++ {
			set = append(set, i)
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("empty member set %q", s)
	}
	slices.Sort(set)
	return slices.Compact(set), nil
}

// MarshalText writes s in the text format that ParseScenario reads. Trace
// settings are not part of it. Ids that the format cannot hold (with
// spaces or "#") are an error.
func (s Scenario) MarshalText() ([]byte, error) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	if s.Name != "" {
		w("name %s", s.Name)
	}
	w("members %d", s.Members)
	if len(s.IDs) > 0 {
		for _, id := range s.IDs {
			if f := strings.Fields(id); len(f) != 1 || f[0] != id || strings.ContainsRune(id, '#') {
				return nil, fmt.Errorf("sim: id %q cannot be written in the scenario format", id)
			}
		}
		w("ids %s", strings.Join(s.IDs, " "))
	}
	if len(s.Late) > 0 {
		w("late %s", formatSet(sortedCopy(s.Late)))
	}
	if len(s.Observers) > 0 {
		w("observers %s", formatSet(sortedCopy(s.Observers)))
	}
	if len(s.Modes) > 0 {
		ms := make([]string, len(s.Modes))
		for i, m := range s.Modes {
			ms[i] = m.String()
		}
		w("modes %s", strings.Join(ms, " "))
	}
	st := s.Settings
	var parts []string
	if st.ElectionTimeout != 0 {
		parts = append(parts, "election="+st.ElectionTimeout.String())
	}
	if st.HeartbeatInterval != 0 {
		parts = append(parts, "interval="+st.HeartbeatInterval.String())
	}
	if st.HeartbeatTimeout != 0 {
		parts = append(parts, "timeout="+st.HeartbeatTimeout.String())
	}
	if len(parts) > 0 {
		w("settings %s", strings.Join(parts, " "))
	}
	switch {
	case s.Lease && s.SilentIsolation:
		w("lease silent")
	case s.Lease:
		w("lease on")
	}
	switch l := s.Latency; l.Dist {
	case LogNormal:
		m := ""
		if l.Max != 0 {
			m = " max=" + l.Max.String()
		}
		w("latency lognormal min=%v median=%v sigma=%s%s", l.Min, l.Median, strconv.FormatFloat(l.Sigma, 'g', -1, 64), m)
	default:
		w("latency %s", l)
	}
	if s.Loss != 0 {
		w("loss %s", strconv.FormatFloat(s.Loss, 'g', -1, 64))
	}
	if s.Dup != 0 {
		w("dup %s", strconv.FormatFloat(s.Dup, 'g', -1, 64))
	}
	if s.StartSpread != 0 {
		w("start-spread %v", s.StartSpread)
	}
	w("duration %v", s.Duration)
	w("seed %d", s.Seed)
	if s.Repetitions != 0 {
		w("repetitions %d", s.Repetitions)
	}
	if s.Check != CheckOn {
		w("check %s", s.Check)
	}
	if s.Bound != 0 {
		w("bound %v", s.Bound)
	}
	if len(s.Probes) > 0 {
		ps := make([]string, len(s.Probes))
		for i, p := range s.Probes {
			ps[i] = p.String()
		}
		w("probe %s", strings.Join(ps, " "))
	}
	for _, f := range s.Faults {
		w("%s", f)
	}
	return []byte(b.String()), nil
}

func sortedCopy(xs []int) []int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return slices.Compact(s)
}
