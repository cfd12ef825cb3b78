//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// run's in-process tests start their guards from this test binary
	// (os.Executable): be the guard then.
	if len(os.Args) > 1 && os.Args[1] == guardName {
		main()
	}
	code := m.Run()
	cleanupBinary()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testCLI is an in-process invocation of the command.
type testCLI struct {
	c       *cli
	stdout  *syncBuffer
	stderr  *syncBuffer
	signals chan os.Signal
}

func newCLI(env ...string) *testCLI {
	t := &testCLI{stdout: &syncBuffer{}, stderr: &syncBuffer{}, signals: make(chan os.Signal, 4)}
	t.c = &cli{stdout: t.stdout, stderr: t.stderr, environ: env, signals: t.signals, inProcess: true}
	return t
}

func (t *testCLI) run(args ...string) int {
	return t.c.main(context.Background(), args)
}

var hubs atomic.Int64

// memBus returns a bus URL of a hub no other test uses.
func memBus() string { return fmt.Sprintf("mem://cli-test-%d", hubs.Add(1)) }

// Fast timings for in-process members.
var fastFlags = []string{"--election-timeout", "50ms", "--heartbeat-interval", "100ms", "--heartbeat-timeout", "500ms", "--log-level", "info"}

func TestHelp(t *testing.T) {
	for _, sub := range []string{"run", "watch", "status", "demo", "sim"} {
		tc := newCLI()
		if code := tc.run(sub, "--help"); code != 0 {
			t.Errorf("%s --help: exit %d, want 0; stderr %q", sub, code, tc.stderr)
		}
		out := tc.stdout.String()
		for _, want := range []string{"Usage:\n  bellwether " + sub, "Examples:\n  ", "bellwether " + sub} {
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q:\n%s", sub, want, out)
			}
		}
		if sub != "demo" && sub != "sim" {
			for _, want := range []string{"--bus URL", "$BELLWETHER_BUS", "--election-timeout DURATION", "default 1s", "$BELLWETHER_KEY_FILE"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s --help lacks %q:\n%s", sub, want, out)
				}
			}
		}
	}
	tc := newCLI()
	if code := tc.run("--help"); code != 0 || !strings.Contains(tc.stdout.String(), "Subcommands:") {
		t.Errorf("--help: exit %d, stdout %q", code, tc.stdout)
	}
	for _, hidden := range []string{demoJobName, guardName} {
		if strings.Contains(tc.stdout.String(), hidden) {
			t.Errorf("--help shows the hidden subcommand %s:\n%s", hidden, tc.stdout)
		}
	}
	for _, c := range commands {
		if !c.hidden && !strings.Contains(tc.stdout.String(), "  "+c.name+" ") {
			t.Errorf("--help does not list %s:\n%s", c.name, tc.stdout)
		}
	}
	tc = newCLI()
	if code := tc.run("help", "status"); code != 0 || !strings.Contains(tc.stdout.String(), "bellwether status") {
		t.Errorf("help status: exit %d, stdout %q", code, tc.stdout)
	}
	tc = newCLI()
	if code := tc.run(); code != exitUsage || !strings.Contains(tc.stderr.String(), "Subcommands:") {
		t.Errorf("no arguments: exit %d, stderr %q", code, tc.stderr)
	}
}

// TestUsageErrors checks that each mistake exits 2 with one line on
// stderr that says what to fix, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	bus := "--bus=" + memBus()
	for _, tt := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"frobnicate"}, nil, `unknown subcommand "frobnicate"; use one of demo, run, watch, status`},
		{[]string{"--group", "x", "run"}, nil, "flag --group comes before the subcommand"},
		{[]string{"run", bus}, nil, "missing COMMAND; write bellwether run [flags] -- COMMAND [ARGS...]"},
		{[]string{"run", bus, "--"}, nil, "missing COMMAND"},
		{[]string{"run", "--bogus", "--", "true"}, nil, "flag provided but not defined: --bogus; see bellwether run --help"},
		{[]string{"run", "--election-timeout", "abc", "--", "true"}, nil, `invalid value "abc" for flag --election-timeout: not a duration; write a Go duration such as 500ms`},
		{[]string{"run", "--election-timeout", "0s", "--", "true"}, nil, "--election-timeout 0s: must be positive"},
		{[]string{"run", "--heartbeat-interval", "5s", "--heartbeat-timeout", "2s", "--", "true"}, nil, "--heartbeat-timeout 2s must be greater than --heartbeat-interval 5s"},
		{[]string{"run", "--group", "a b", "--", "true"}, nil, `--group: group name "a b" has ' '`},
		{[]string{"run", bus, "--", "true"}, []string{"BELLWETHER_ID=\xff"}, "--id: client id"},
		{[]string{"run", "--key-file", "/etc/key", "--", "true"}, nil, "authentication is not available yet; remove --key-file (and BELLWETHER_KEY_FILE)"},
		{[]string{"run", "--", "true"}, []string{"BELLWETHER_KEY_FILE=/k"}, "authentication is not available yet"},
		{[]string{"run", "--log-format", "xml", "--", "true"}, nil, `--log-format "xml": use text or json`},
		{[]string{"run", "--log-level", "loud", "--", "true"}, nil, `--log-level "loud": use debug, info, warn or error`},
		{[]string{"run", "--grace", "-1s", "--", "true"}, nil, "--grace -1s: must not be negative"},
		{[]string{"run", bus, "--", "/no/such/command"}, nil, `cannot run COMMAND: "/no/such/command"`},
		{[]string{"run", bus, "--", "no-such-command-anywhere"}, nil, "executable file not found in $PATH"},
		{[]string{"run", "--bus", "foo://x", "--", "true"}, nil, `--bus "foo://x": bus URL "foo://x" has unknown scheme "foo"; known schemes: local, mem, mqtt, mqtts, nats`},
		{[]string{"run", "--bus", "::", "--", "true"}, nil, `bus URL "::" is not a URL`},
		{[]string{"run", "--bus", "local://host/dir", "--", "true"}, nil, "local:///ABSOLUTE/DIR (three slashes)"},
		{[]string{"run", "--", "true"}, []string{"BELLWETHER_BUS=bogus://"}, `unknown scheme "bogus"`},
		{[]string{"run", "--", "true"}, []string{"BELLWETHER_ELECTION_TIMEOUT=soon"}, `BELLWETHER_ELECTION_TIMEOUT="soon": not a duration`},
		{[]string{"run", bus, "--http", "256.1.1.1:99999", "--", "true"}, nil, `--http "256.1.1.1:99999"`},
		{[]string{"watch", bus, "extra"}, nil, `unexpected argument "extra"; watch takes flags only`},
		{[]string{"status", bus, "--wait", "-1s"}, nil, "--wait -1s: must not be negative"},
		{[]string{"status", bus, "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"demo", "extra"}, nil, `unexpected argument "extra"; demo takes no arguments`},
		{[]string{"demo", "--bus", "x"}, nil, "flag provided but not defined: --bus"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			tc := newCLI(tt.env...)
			code := tc.run(tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			stderr := tc.stderr.String()
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "bellwether") {
				t.Errorf("stderr is not one line starting with bellwether:\n%s", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
			if tc.stdout.String() != "" {
				t.Errorf("stdout: %q", tc.stdout)
			}
		})
	}
}

// TestEnvironment checks that every flag is read from its environment
// variable and that flags win.
func TestEnvironment(t *testing.T) {
	bus := memBus()
	env := []string{"BELLWETHER_BUS=" + bus, "BELLWETHER_GROUP=from-env", "BELLWETHER_WAIT=20ms", "BELLWETHER_LOG_LEVEL=error"}
	tc := newCLI(env...)
	if code := tc.run("status"); code != exitNoLeader {
		t.Fatalf("exit %d, want 3; stderr %q", code, tc.stderr)
	}
	want := fmt.Sprintf("bellwether status: no leader heard in group %q on %s within 20ms\n", "from-env", bus)
	if got := tc.stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	tc = newCLI(env...)
	if code := tc.run("status", "--group", "from-flag", "--wait=30ms"); code != exitNoLeader {
		t.Fatalf("exit %d, want 3", code)
	}
	if got := tc.stderr.String(); !strings.Contains(got, `group "from-flag"`) || !strings.Contains(got, "within 30ms") {
		t.Errorf("flags did not win over the environment: %q", got)
	}
	if envName("heartbeat-timeout") != "BELLWETHER_HEARTBEAT_TIMEOUT" {
		t.Errorf("envName(heartbeat-timeout) = %s", envName("heartbeat-timeout"))
	}
}

func TestDefaults(t *testing.T) {
	fs := newFlagSet("x")
	var co common
	co.register(fs)
	tc := newCLI()
	if _, done := tc.c.parse(runCmd, fs, nil); done {
		t.Fatal("parse failed")
	}
	if err := co.validate(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if want := fmt.Sprintf("%s-%d", host, os.Getpid()); co.id != want {
		t.Errorf("id %q, want %q", co.id, want)
	}
	if co.group != "default" || co.bus != "" || co.busName() != "local://" || co.http != "" {
		t.Errorf("defaults: %+v", co)
	}
	if s := co.settings; s.ElectionTimeout != time.Second || s.HeartbeatInterval != 2*time.Second || s.HeartbeatTimeout != 8*time.Second {
		t.Errorf("settings: %+v", s)
	}
}

// TestRunExitStatus runs a single member in-process: it leads, runs the
// command, withdraws and exits with the command's status.
func TestRunExitStatus(t *testing.T) {
	for _, tt := range []struct {
		script string
		want   int
	}{
		{`exit 0`, 0},
		{`exit 7`, 7},
		{`kill -9 $$`, 128 + 9},
		{`test "$BELLWETHER_MEMBER_ID" = me && test "$BELLWETHER_GROUP" = jobs && test "$KEEP" = yes`, 0},
		{`test -z "$BELLWETHER_ID" && test -z "$BELLWETHER_HTTP" && test "$BELLWETHER_BUS" = "$0" && test "$BELLWETHER_HEARTBEAT_INTERVAL" = 100ms`, 0},
		{`echo to-stdout; echo to-stderr >&2`, 0},
	} {
		t.Run(tt.script, func(t *testing.T) {
			// The member's id also comes from the environment, which the
			// job must not inherit (a bellwether command run by the job
			// would take it for its own).
			tc := newCLI("KEEP=yes", "BELLWETHER_ID=from-env")
			bus := memBus()
			args := append([]string{"run", "--bus", bus, "--group", "jobs", "--id", "me"}, fastFlags...)
			args = append(args, "--", "sh", "-c", tt.script, bus)
			if code := tc.run(args...); code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, tc.stderr)
			}
			if strings.Contains(tt.script, "to-stdout") {
				if tc.stdout.String() != "to-stdout\n" || !strings.Contains(tc.stderr.String(), "to-stderr\n") {
					t.Errorf("stdout %q, stderr %q", tc.stdout, tc.stderr)
				}
			}
		})
	}
}

// signalRun starts "bellwether run" with flags and the shell script as
// COMMAND, which writes a pid to the file named by its $0 (the pid file is
// written in full or not at all); once that pid is there it sends sigs and
// waits for run to exit 0. It returns the pid and what run logged.
func signalRun(t *testing.T, flags []string, script string, sigs ...os.Signal) (int, string) {
	t.Helper()
	pidFile := t.TempDir() + "/pid"
	tc := newCLI()
	args := append([]string{"run", "--bus", memBus()}, flags...)
	args = append(args, "--", "sh", "-c", script, pidFile)
	done := make(chan int, 1)
	go func() { done <- tc.run(args...) }()
	var pid int
	waitFor(t, "the command to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			fmt.Sscan(string(b), &pid)
		}
		return pid > 0
	})
	for _, sig := range sigs {
		tc.signals <- sig
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d, want 0; stderr:\n%s", code, tc.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not stop after %v", sigs)
	}
	return pid, tc.stderr.String()
}

// TestRunStopsOnSignal: a signal stops the command (SIGTERM to its
// group), withdraws and exits 0; the command does not outlive run.
func TestRunStopsOnSignal(t *testing.T) {
	pid, stderr := signalRun(t, fastFlags, `echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; exec sleep 1000`, syscall.SIGTERM)
	if processExists(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the command (pid %d) outlived run", pid)
	}
	for _, want := range []string{"stopping", msgStarted, msgStopped} {
		if !strings.Contains(stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "leadership lost") {
		t.Errorf("a clean stop logged a loss of leadership:\n%s", stderr)
	}
}

// TestMemBusRefused: the command refuses a bus that processes cannot
// share, since every process would lead on a bus of its own.
func TestMemBusRefused(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--bus", "mem://x", "--", "true"},
		{"run", "--bus", "MEM://x", "--", "true"},
		{"watch", "--bus", "mem://x"},
		{"status", "--bus", "mem://x"},
	} {
		tc := newCLI()
		tc.c.inProcess = false
		if code := tc.run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if got := tc.stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "a mem:// bus lives inside one process") {
			t.Errorf("%v: stderr %q, want one line saying why", args, got)
		}
	}
}

// TestLogVoice: --log-format takes any case; JSON logs give durations in
// seconds, text logs as Go durations; the member's id has the key "id".
func TestLogVoice(t *testing.T) {
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"JSON", []string{`"election_timeout":0.05,`, `"heartbeat_timeout":0.5,`, `"id":"me"`}},
		{"Text", []string{"election_timeout=50ms", "heartbeat_timeout=500ms", " id=me "}},
	} {
		tc := newCLI()
		args := append([]string{"run", "--bus", memBus(), "--id", "me"}, fastFlags...)
		args = append(args, "--log-format", tt.format, "--", "true")
		if code := tc.run(args...); code != 0 {
			t.Fatalf("--log-format %s: exit %d; stderr:\n%s", tt.format, code, tc.stderr)
		}
		for _, want := range tt.want {
			if !strings.Contains(tc.stderr.String(), want) {
				t.Errorf("--log-format %s: log lacks %q:\n%s", tt.format, want, tc.stderr)
			}
		}
	}
}

// TestRunGrace: a command that ignores SIGTERM gets SIGKILL after
// --grace, and so does what it started.
func TestRunGrace(t *testing.T) {
	flags := append([]string{"--grace", "100ms", "--log-level", "info"}, fastFlags[:6]...)
	pid, stderr := signalRun(t, flags, `trap "" TERM; sleep 1000 & echo $! > "$0.tmp" && mv "$0.tmp" "$0"; while :; do sleep 0.01; done`, syscall.SIGINT)
	if processExists(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the command's child (pid %d) outlived run", pid)
	}
	if !strings.Contains(stderr, "killing COMMAND") {
		t.Errorf("log lacks the kill:\n%s", stderr)
	}
}

// TestRunSecondSignal: a second signal skips the grace period.
func TestRunSecondSignal(t *testing.T) {
	flags := append([]string{"--grace", "1h"}, fastFlags...)
	signalRun(t, flags, `trap "" TERM; echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; while :; do sleep 0.01; done`, syscall.SIGTERM, syscall.SIGTERM)
}

// TestWatchAndStatusInProcess follows a leader on an in-process bus.
func TestWatchAndStatusInProcess(t *testing.T) {
	bus := memBus()
	// A member that leads: a run whose command waits.
	leader := newCLI()
	args := append([]string{"run", "--bus", bus, "--id", "lead-1"}, fastFlags...)
	args = append(args, "--", "sleep", "1000")
	leaderDone := make(chan int, 1)
	go func() { leaderDone <- leader.run(args...) }()

	w := newCLI()
	watchDone := make(chan int, 1)
	go func() { watchDone <- w.run(append([]string{"watch", "--bus", bus}, fastFlags...)...) }()
	waitFor(t, "watch to report the leader", func() bool { return strings.Contains(w.stdout.String(), `"leader":"lead-1"`) })

	st := newCLI()
	if code := st.run(append([]string{"status", "--bus", bus}, fastFlags...)...); code != 0 || st.stdout.String() != "lead-1\n" {
		t.Errorf("status: exit %d, stdout %q, stderr %q", code, st.stdout, st.stderr)
	}

	leader.signals <- syscall.SIGTERM
	if code := <-leaderDone; code != 0 {
		t.Errorf("run: exit %d", code)
	}
	waitFor(t, "watch to report no leader", func() bool { return strings.Contains(w.stdout.String(), `"leader":null`) })
	w.signals <- syscall.SIGTERM
	if code := <-watchDone; code != 0 {
		t.Errorf("watch: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(w.stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("watch printed %d lines, want 2:\n%s", len(lines), w.stdout)
	}
	for i, want := range []string{`"leader":"lead-1","value":"","epoch":%d}`, `"leader":null,"value":"","epoch":0}`} {
		var line watchLine
		if err := jsonUnmarshal(lines[i], &line); err != nil {
			t.Errorf("line %d: %v", i, err)
		}
		if i == 0 {
			if line.Epoch == 0 {
				t.Errorf("line %d: the leader's epoch is 0", i)
			}
			want = fmt.Sprintf(want, line.Epoch)
		}
		if !strings.HasPrefix(lines[i], `{"time":"`) || !strings.HasSuffix(lines[i], `,"group":"default",`+want) {
			t.Errorf("line %d = %s", i, lines[i])
		}
		if _, err := time.Parse(time.RFC3339Nano, line.Time); err != nil {
			t.Errorf("line %d: time: %v", i, err)
		}
	}
}

var _ = io.Discard
