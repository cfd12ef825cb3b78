package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bellwether-go/bellwether/sim"
)

// defaultScenario is the scenario without --scenario.
var defaultScenario = []string{
	"name default: the leader crashes, then withdraws, every two minutes",
	"members 5",
	"latency uniform 1ms 20ms",
	"duration 9m45s",
	"seed 1",
	"repetitions 20",
}

var defaultFaults = []string{
	"at 1m every 2m crash leader",
	"at 1m30s every 2m restart",
	"at 2m every 2m withdraw leader",
	"at 2m30s every 2m restart",
}

// repeated is a flag that may be given many times.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, "; ") }
func (r *repeated) Set(s string) error {
	*r = append(*r, s)
	return nil
}

func (c *cli) cmdSim(cmd *command, ctx context.Context, args []string) int {
	fs := newFlagSet(cmd.name)
	var (
		file, svg, trace, modes, latency, check, name string
		members, repetitions                          int
		seed                                          uint64
		loss, dup                                     float64
		election, interval, timeout, duration, spread time.Duration
		asJSON                                        bool
		faults                                        repeated
	)
	fs.StringVar(&file, "scenario", "", "read the scenario from `FILE` (- for standard input); see docs/simulator.md")
	fs.StringVar(&name, "name", "", "the report's `TITLE`")
	fs.IntVar(&members, "members", 0, "number of members `N` (default 5)")
	fs.StringVar(&modes, "modes", "", "election `MODES`, cycled by member: quiet, reference, or \"quiet reference\" (default quiet)")
	durationVar(fs, &election, "election-timeout", 0, "ElectionTimeout (default 1s)")
	durationVar(fs, &interval, "heartbeat-interval", 0, "HeartbeatInterval (default 2s)")
	durationVar(fs, &timeout, "heartbeat-timeout", 0, "HeartbeatTimeout (default 8s)")
	fs.StringVar(&latency, "latency", "", "latency `DISTRIBUTION`: \"fixed 5ms\", \"uniform 1ms 20ms\" or \"lognormal min=1ms median=5ms sigma=0.5\" (default uniform 1ms 20ms)")
	fs.Float64Var(&loss, "loss", 0, "probability `P` that a delivery is lost")
	fs.Float64Var(&dup, "dup", 0, "probability `P` that a delivery is duplicated")
	durationVar(fs, &spread, "start-spread", 0, "start the members at random times within this")
	durationVar(fs, &duration, "duration", 0, "simulated time of each repetition (default 10m)")
	fs.Uint64Var(&seed, "seed", 0, "`SEED` of everything random (default 1)")
	fs.IntVar(&repetitions, "repetitions", 0, "repetitions `N`, each with a seed derived from --seed (default 20)")
	fs.StringVar(&check, "check", "", "invariant checking: on, off or force (default on)")
	fs.Var(&faults, "fault", "a `FAULT` such as \"at 30s every 1m crash leader\"; repeat the flag for more")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&svg, "svg", "", "also write an SVG timeline (leader over time, members as rows, faults marked) to `FILE`")
	fs.StringVar(&trace, "trace", "", "also write the first repetition's trace, one event a line, to `FILE`")
	if code, done := c.parseFlagsOnly(cmd, fs, args); done {
		return code
	}

	// The scenario is directive lines: the file's or the default's, then
	// one per flag given, so that the simulator's parser checks them all
	// alike and names what is wrong.
	var lines []string
	if file != "" {
		text, err := c.readScenario(file)
		if err != nil {
			return c.fail(cmd.name, exitUsage, err)
		}
		lines = append(lines, text)
	} else {
		lines = append(lines, defaultScenario...)
		if len(faults) == 0 {
			lines = append(lines, defaultFaults...)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	add := func(flagName, directive string) {
		if set[flagName] {
			lines = append(lines, directive)
		}
	}
	add("name", "name "+name)
	add("members", "members "+strconv.Itoa(members))
	add("modes", "modes "+strings.ToLower(modes)) // a flag's keywords in any case
	if set["election-timeout"] || set["heartbeat-interval"] || set["heartbeat-timeout"] {
		var kv []string
		for _, s := range []struct {
			flag, key string
			v         time.Duration
		}{{"election-timeout", "election", election}, {"heartbeat-interval", "interval", interval}, {"heartbeat-timeout", "timeout", timeout}} {
			if set[s.flag] {
				kv = append(kv, s.key+"="+s.v.String())
			}
		}
		lines = append(lines, "settings "+strings.Join(kv, " "))
	}
	add("latency", "latency "+latency)
	add("loss", "loss "+strconv.FormatFloat(loss, 'g', -1, 64))
	add("dup", "dup "+strconv.FormatFloat(dup, 'g', -1, 64))
	add("start-spread", "start-spread "+spread.String())
	add("duration", "duration "+duration.String())
	add("seed", "seed "+strconv.FormatUint(seed, 10))
	add("repetitions", "repetitions "+strconv.Itoa(repetitions))
	add("check", "check "+strings.ToLower(check))
	lines = append(lines, faults...)

	s, err := sim.ParseScenario(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("%v; see docs/simulator.md or bellwether sim --help", err))
	}
	var traceFile *os.File
	if trace != "" {
		if traceFile, err = os.Create(trace); err != nil {
			return c.fail(cmd.name, exitUsage, fmt.Errorf("--trace: %v", err))
		}
		defer traceFile.Close()
		s.Trace = traceFile
	}

	report, runErr := sim.Run(s)
	var violation *sim.Violation
	if runErr != nil && !errors.As(runErr, &violation) {
		return c.fail(cmd.name, exitUsage, runErr)
	}
	if asJSON {
		err = report.WriteJSON(c.stdout)
	} else {
		err = report.WriteText(c.stdout)
	}
	if err != nil {
		return c.fail(cmd.name, exitFailure, err)
	}
	if svg != "" {
		var b bytes.Buffer
		if err := report.WriteSVG(&b); err != nil {
			return c.fail(cmd.name, exitFailure, err)
		}
		if err := os.WriteFile(svg, b.Bytes(), 0o644); err != nil {
			return c.fail(cmd.name, exitFailure, fmt.Errorf("--svg: %v", err))
		}
	}
	if traceFile != nil {
		if err := traceFile.Close(); err != nil {
			return c.fail(cmd.name, exitFailure, fmt.Errorf("--trace: %v", err))
		}
	}
	if violation != nil {
		fmt.Fprintf(c.stderr, "bellwether sim: %v\n", violation)
		return exitFailure
	}
	return exitOK
}

func (c *cli) readScenario(file string) (string, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = io.ReadAll(c.stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("--scenario: %v", err)
	}
	return string(b), nil
}
