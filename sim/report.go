package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bellwether-go/bellwether"
)

// Violation is the error Run returns when an invariant fails. It names the
// repetition and its seed: a scenario with Seed set to Violation.Seed and
// Repetitions 1 replays the failing run exactly.
type Violation struct {
	// Invariant is "a", "b", "c" or "d"; see docs/simulator.md.
	Invariant string
	// Detail says what was wrong.
	Detail string
	// At is the simulated time of the violation.
	At time.Duration
	// Repetition is the failing repetition and Seed its seed.
	Repetition int
	Seed       uint64
	// ScenarioSeed is the scenario's Seed.
	ScenarioSeed uint64
	// Trace holds the last trace lines up to the violation, oldest first.
	Trace []string
}

// Error names the invariant, the time, the repetition and its seed, and
// ends with the trace lines.
func (v *Violation) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sim: invariant (%s) violated at %v in repetition %d (seed %d; scenario seed %d): %s",
		v.Invariant, v.At, v.Repetition, v.Seed, v.ScenarioSeed, v.Detail)
	if len(v.Trace) > 0 {
		b.WriteString("\ntrace up to the violation:")
		for _, l := range v.Trace {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// DurationStat summarises durations: nearest-rank percentiles, maximum and
// mean. All are zero when there are no samples.
type DurationStat struct {
	P50  time.Duration `json:"p50"`
	P99  time.Duration `json:"p99"`
	Max  time.Duration `json:"max"`
	Mean time.Duration `json:"mean"`
}

// CountStat summarises counts like DurationStat.
type CountStat struct {
	P50  int64   `json:"p50"`
	P99  int64   `json:"p99"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// Recovery summarises, over every repetition, the windows opened by one
// kind of fault: from the fault to the next fault or the end of the run.
//
// Kind is the fault ("crash", "withdraw", "resign", "restart", "join",
// "partition", "heal", "noop"), with "-leader" when it hit the member that
// was leading, faults at the same instant joined with "+"; the window from
// time 0 is "start". A window has converged when, at its end, exactly one
// alive member leads and every alive non-observer knows it; Time is then
// from the fault to the moment that agreement was last reached (0 if it
// was never lost). Broadcasts and Deliveries count the election traffic of
// the window: every broadcast sent in it except heartbeats (a "current"
// sent by a leader's interval timer), and their deliveries.
type Recovery struct {
	Kind       string       `json:"kind"`
	Windows    int          `json:"windows"`
	Converged  int          `json:"converged"`
	Time       DurationStat `json:"time"`
	Broadcasts CountStat    `json:"broadcasts"`
	Deliveries CountStat    `json:"deliveries"`
}

// Report is the outcome of Run. Durations are in nanoseconds in JSON.
type Report struct {
	Name        string        `json:"name,omitempty"`
	Members     int           `json:"members"`
	Modes       string        `json:"modes"`
	Latency     string        `json:"latency"`
	Loss        float64       `json:"loss"`
	Dup         float64       `json:"dup"`
	Settings    string        `json:"settings"`
	Seed        uint64        `json:"seed"`
	Repetitions int           `json:"repetitions"` // completed, or reached by a violation
	Duration    time.Duration `json:"duration"`    // simulated per repetition
	// Bound is B of invariant (b). Checked says which invariants were
	// checked, and why (b) and (c) were not when they were not.
	Bound   time.Duration `json:"bound"`
	Checked string        `json:"checked"`
	// Recoveries, by kind of fault, in order of first occurrence.
	Recoveries []Recovery `json:"recoveries"`
	// Traffic over all repetitions, heartbeats included.
	Broadcasts        int64   `json:"broadcasts"`
	Deliveries        int64   `json:"deliveries"`
	Lost              int64   `json:"lost"`
	Duplicated        int64   `json:"duplicated"`
	BroadcastsPerHour float64 `json:"broadcasts_per_hour"`
	DeliveriesPerHour float64 `json:"deliveries_per_hour"`
	// LeadershipChanges counts the times a member started leading.
	LeadershipChanges int64 `json:"leadership_changes"`
	// MultiLeader and NoLeader are the total simulated time with more than
	// one, and with no, alive member leading.
	MultiLeader time.Duration `json:"multi_leader"`
	NoLeader    time.Duration `json:"no_leader"`
	Warnings    int64         `json:"warnings"`
	// Probes are the snapshots Scenario.Probes asked for, by repetition
	// and time.
	Probes []Probe `json:"probes,omitempty"`

	timeline *timeline
	windows  []window
	simTime  int64
}

// Run runs every repetition of s and returns the report. It stops at the
// first invariant violation and returns the report so far together with a
// *Violation. Other errors come from an invalid scenario. Run is
// deterministic: the same scenario gives the same report and trace.
func Run(s Scenario) (*Report, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	sc := s.normalized()
	r := &Report{
		Name:     sc.Name,
		Members:  sc.Members,
		Modes:    modesString(sc.Modes),
		Latency:  sc.Latency.String(),
		Loss:     sc.Loss,
		Dup:      sc.Dup,
		Settings: fmt.Sprintf("election %v, heartbeat %v, timeout %v", sc.Settings.ElectionTimeout, sc.Settings.HeartbeatInterval, sc.Settings.HeartbeatTimeout),
		Seed:     sc.Seed,
		Duration: sc.Duration,
		Bound:    sc.Bound,
	}
	if r.Bound == 0 {
		r.Bound = sc.StableBound()
	}
	switch ok, why := sc.guaranteed(); {
	case sc.Check == CheckOff:
		r.Checked = "none"
	case sc.Check == CheckForce:
		r.Checked = "a, b, c (forced)"
	case ok:
		r.Checked = "a, b, c"
	default:
		r.Checked = "a (b, c not guaranteed: " + why + ")"
	}
	if ok, why := sc.leaseGuaranteed(); sc.Lease && sc.Check != CheckOff {
		switch {
		case ok || sc.Check == CheckForce:
			r.Checked += "; d"
		default:
			r.Checked += "; d not guaranteed: " + why
		}
	}
	var err error
	for rep := 0; rep < sc.Repetitions; rep++ {
		seed := sc.Seed
		if rep > 0 {
			seed = derive(sc.Seed, uint64(rep), 0x7265706574)
		}
		e := newEngine(&sc, rep, seed, rep == 0)
		e.run()
		r.add(e)
		if e.violation != nil {
			err = e.violation
			break
		}
	}
	r.summarise()
	return r, err
}

func modesString(ms []bellwether.ElectionMode) string {
	if len(ms) == 0 {
		return bellwether.ElectionMode(0).String()
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

func (r *Report) add(e *engine) {
	r.Repetitions++
	if e.tl != nil {
		r.timeline = e.tl
	}
	r.windows = append(r.windows, e.windows...)
	r.simTime += e.now
	r.Broadcasts += e.bcasts
	r.Deliveries += e.delivs
	r.Lost += e.lost
	r.Duplicated += e.dups
	r.LeadershipChanges += e.changes
	r.MultiLeader += time.Duration(e.multi)
	r.NoLeader += time.Duration(e.none)
	r.Warnings += e.warnings
	r.Probes = append(r.Probes, e.probed...)
}

func (r *Report) summarise() {
	if r.simTime > 0 {
		h := float64(r.simTime) / float64(time.Hour)
		r.BroadcastsPerHour = float64(r.Broadcasts) / h
		r.DeliveriesPerHour = float64(r.Deliveries) / h
	}
	var order []string
	byKind := make(map[string][]window)
	for _, w := range r.windows {
		if _, ok := byKind[w.label]; !ok {
			order = append(order, w.label)
		}
		byKind[w.label] = append(byKind[w.label], w)
	}
	r.Recoveries = r.Recoveries[:0]
	for _, k := range order {
		ws := byKind[k]
		rc := Recovery{Kind: k, Windows: len(ws)}
		var times []int64
		bc := make([]int64, 0, len(ws))
		dl := make([]int64, 0, len(ws))
		for _, w := range ws {
			if w.converged {
				rc.Converged++
				times = append(times, w.conv)
			}
			bc = append(bc, w.bc)
			dl = append(dl, w.dl)
		}
		t := countStat(times)
		rc.Time = DurationStat{P50: time.Duration(t.P50), P99: time.Duration(t.P99), Max: time.Duration(t.Max), Mean: time.Duration(math.Round(t.Mean))}
		rc.Broadcasts = countStat(bc)
		rc.Deliveries = countStat(dl)
		r.Recoveries = append(r.Recoveries, rc)
	}
}

// Recovery returns the summary of the windows of the given kind, and
// whether there were any.
func (r *Report) Recovery(kind string) (Recovery, bool) {
	for _, rc := range r.Recoveries {
		if rc.Kind == kind {
			return rc, true
		}
	}
	return Recovery{}, false
}

func countStat(xs []int64) CountStat {
	if len(xs) == 0 {
		return CountStat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += float64(x)
	}
	rank := func(p float64) int64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return CountStat{P50: rank(0.5), P99: rank(0.99), Max: s[len(s)-1], Mean: sum / float64(len(s))}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a few lines and a table of recoveries.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	name := r.Name
	if name == "" {
		name = "scenario"
	}
	fmt.Fprintf(&b, "%s: %d members (%s), %s, loss %g, dup %g\n", name, r.Members, r.Modes, r.Latency, r.Loss, r.Dup)
	fmt.Fprintf(&b, "settings: %s\n", r.Settings)
	fmt.Fprintf(&b, "seed %d, %d repetition(s) of %v; invariants checked: %s; B = %v\n\n", r.Seed, r.Repetitions, r.Duration, r.Checked, r.Bound)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "recovery\twindows\tconverged\tp50\tp99\tmax\tbcast/elect mean\tp99\tmax\tdeliv/elect mean\tmax\t")
	for _, rc := range r.Recoveries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%.1f\t%d\t%d\t%.0f\t%d\t\n", rc.Kind, rc.Windows, rc.Converged,
			fmtDur(rc.Time.P50), fmtDur(rc.Time.P99), fmtDur(rc.Time.Max),
			rc.Broadcasts.Mean, rc.Broadcasts.P99, rc.Broadcasts.Max, rc.Deliveries.Mean, rc.Deliveries.Max)
	}
	tw.Flush()
	total := time.Duration(r.simTime)
	fmt.Fprintf(&b, "\ntraffic: %d broadcasts (%.0f/h), %d deliveries (%.0f/h), %d lost, %d duplicated\n",
		r.Broadcasts, r.BroadcastsPerHour, r.Deliveries, r.DeliveriesPerHour, r.Lost, r.Duplicated)
	fmt.Fprintf(&b, "leadership changes: %d; more than one leader: %v (%.3f%%); no leader: %v (%.3f%%); warnings: %d\n",
		r.LeadershipChanges, r.MultiLeader, pct(r.MultiLeader, total), r.NoLeader, pct(r.NoLeader, total), r.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(d, total time.Duration) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(d) / float64(total)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}
