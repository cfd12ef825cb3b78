//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimDefaultScenario(t *testing.T) {
	tc := newCLI()
	if code := tc.run("sim", "--repetitions", "3"); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, tc.stderr)
	}
	out := tc.stdout.String()
	for _, want := range []string{"5 members (quiet)", "3 repetition(s) of 9m45s", "crash-leader", "withdraw-leader", "p50", "p99", "max", "traffic:", "more than one leader:", "leadership changes:"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestSimIsDeterministic(t *testing.T) {
	args := []string{"sim", "--members", "7", "--modes", "quiet reference", "--loss", "0.05", "--repetitions", "2", "--json"}
	a, b := newCLI(), newCLI()
	if a.run(args...) != exitOK || b.run(args...) != exitOK {
		t.Fatalf("stderr %q %q", a.stderr, b.stderr)
	}
	if a.stdout.String() != b.stdout.String() {
		t.Fatal("the same scenario and seed gave different reports")
	}
	var report map[string]any
	if err := json.Unmarshal([]byte(a.stdout.String()), &report); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, a.stdout)
	}
	if report["members"] != float64(7) {
		t.Errorf("members = %v", report["members"])
	}
	c := newCLI()
	c.run(append(args, "--seed", "2")...)
	if c.stdout.String() == a.stdout.String() {
		t.Error("another seed gave the same report")
	}
}

func TestSimScenarioFileFlagsAndOutputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "split.txt")
	if err := os.WriteFile(file, []byte(`
name     split brain
members  6
latency  fixed 5ms
duration 3m
seed     9
at 30s partition 0-2 | 3-5
at 1m heal
`), 0o644); err != nil {
		t.Fatal(err)
	}
	svg, trace := filepath.Join(dir, "t.svg"), filepath.Join(dir, "t.log")
	tc := newCLI()
	// A flag overrides the file.
	if code := tc.run("sim", "--scenario", file, "--members", "8", "--svg", svg, "--trace", trace); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, tc.stderr)
	}
	out := tc.stdout.String()
	if !strings.Contains(out, "split brain: 8 members") {
		t.Errorf("report:\n%s", out)
	}
	if strings.Contains(out, "more than one leader: 0s") {
		t.Errorf("a 30s partition must give two leaders for a while:\n%s", out)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(b), "<svg") && !strings.HasPrefix(string(b), "<?xml") {
		t.Fatalf("svg: %v %.80q", err, b)
	}
	if !strings.Contains(string(b), "</svg>") {
		t.Error("svg is not complete")
	}
	if tb, err := os.ReadFile(trace); err != nil || !strings.Contains(string(tb), "partition") {
		t.Errorf("trace: %v %.200q", err, tb)
	}
}

func TestSimErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "--members", "0"}, "member"},
		{[]string{"sim", "--modes", "fast"}, `"fast"`},
		{[]string{"sim", "--latency", "sometimes"}, "latency"},
		{[]string{"sim", "--fault", "at 1m explode"}, "explode"},
		{[]string{"sim", "--scenario", "/nonexistent/scenario.txt"}, "--scenario"},
		{[]string{"sim", "--loss", "2"}, "loss"},
		{[]string{"sim", "extra"}, `unexpected argument "extra"`},
	} {
		tc := newCLI()
		if code := tc.run(c.args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", c.args, code, exitUsage)
		}
		msg := tc.stderr.String()
		if !strings.Contains(msg, c.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("%q: stderr %q, want one line mentioning %q", c.args, msg, c.want)
		}
		if tc.stdout.String() != "" {
			t.Errorf("%q: printed a report on error", c.args)
		}
	}
}

func TestSimViolationExitsOne(t *testing.T) {
	// A permanent partition with forced checks cannot settle on one
	// leader: the simulator reports the violation with its seed.
	tc := newCLI()
	code := tc.run("sim", "--members", "4", "--duration", "2m", "--repetitions", "1", "--check", "force", "--fault", "at 10s partition 0-1 | 2-3")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitFailure, tc.stderr)
	}
	if !strings.Contains(tc.stderr.String(), "seed") {
		t.Errorf("stderr %q lacks the seed", tc.stderr)
	}
}

// TestSimFlagCase: the keywords of --modes and --check take any case.
func TestSimFlagCase(t *testing.T) {
	lower, upper := newCLI(), newCLI()
	common := []string{"sim", "--members", "3", "--repetitions", "1", "--duration", "3m", "--json"}
	if code := lower.run(append(common, "--modes", "quiet reference", "--check", "on")...); code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, lower.stderr)
	}
	if code := upper.run(append(common, "--modes", "Quiet REFERENCE", "--check", "ON")...); code != exitOK {
		t.Fatalf("--modes \"Quiet REFERENCE\" --check ON: exit %d; stderr %q", code, upper.stderr)
	}
	if lower.stdout.String() != upper.stdout.String() {
		t.Error("the same flags in another case gave another report")
	}
}
