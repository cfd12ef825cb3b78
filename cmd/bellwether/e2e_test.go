//go:build unix

package main

// End-to-end tests: they build the command and run it as several
// processes, on the default (local) bus and on NATS. Skipped with -short.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/nats-io/nats-server/v2/server"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// binary builds the command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the command; skipped with -short")
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "bellwether-e2e-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "bellwether")
		gocmd, err := exec.LookPath("go")
		if err != nil {
			gocmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		out, err := exec.Command(gocmd, "build", "-o", build.bin, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func cleanupBinary() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// proc is a process of the command.
type proc struct {
	name   string
	cmd    *exec.Cmd
	pid    int
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
}

// cleanEnv is the test's environment without BELLWETHER_ variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BELLWETHER_") {
			env = append(env, kv)
		}
	}
	return env
}

// start runs the command with args in a process group of its own, which
// t's cleanup kills.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		defer close(p.done)
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		syscall.Kill(-p.pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s (pid %d) could not be reaped", name, p.pid)
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr)
		}
	})
	return p
}

// wait waits for p to exit and returns its exit status.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v; stderr:\n%s", p.name, timeout, p.stderr)
	}
	return exitStatus(p.cmd.ProcessState)
}

// runBin runs the command to its end and returns its status and output.
func runBin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, args[0], args...)
	code = p.wait(t, 30*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

// jobRecord is one start of a member's job, as the job wrote it.
type jobRecord struct {
	id  string
	pid int
}

// jobScript is the job the members run: it appends its member's id and
// its pid to the file $0 and waits.
const jobScript = `echo "$BELLWETHER_MEMBER_ID $$" >> "$0"; exec sleep 1000`

func readJobs(t *testing.T, file string) []jobRecord {
	t.Helper()
	var jobs []jobRecord
	for _, line := range fileLines(t, file) {
		var r jobRecord
		if _, err := fmt.Sscan(line, &r.id, &r.pid); err == nil {
			jobs = append(jobs, r)
		}
	}
	return jobs
}

// killJobs kills every job recorded in file, for the cleanup.
func killJobs(t *testing.T, file string) {
	for _, j := range readJobs(t, file) {
		syscall.Kill(j.pid, syscall.SIGKILL)
	}
}

func running(jobs []jobRecord) []jobRecord {
	var r []jobRecord
	for _, j := range jobs {
		if processExists(j.pid) {
			r = append(r, j)
		}
	}
	return r
}

// awaitJobs waits until file records n job starts, for up to bound, and
// returns them with the time the n-th appeared.
func awaitJobs(t *testing.T, file string, n int, bound time.Duration, why string) ([]jobRecord, time.Time) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		jobs := readJobs(t, file)
		if len(jobs) >= n {
			return jobs, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("job start %d did not happen within %v (%s); starts so far: %v", n, bound, why, jobs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The timings of the end-to-end groups, and the margin allowed on top of
// the protocol's bounds for process start-up, scheduling and the bus: on
// two loaded cores under the race detector a stop, a job's exit and the
// next job's start took up to 1.75s now and then, so the margin is 2.5s.
const (
	e2eElection = 250 * time.Millisecond
	e2eInterval = 200 * time.Millisecond
	e2eTimeout  = time.Second
	e2eMargin   = 2500 * time.Millisecond
)

var e2eTimings = timingFlags(e2eElection, e2eInterval, e2eTimeout)

// timingFlags returns the flags that set a member's timings.
func timingFlags(election, interval, timeout time.Duration) []string {
	return []string{
		"--election-timeout", election.String(),
		"--heartbeat-interval", interval.String(),
		"--heartbeat-timeout", timeout.String(),
	}
}

func TestE2ELocal(t *testing.T) {
	t.Parallel()
	scenario(t, "local://"+t.TempDir())
}

func TestE2ENATS(t *testing.T) {
	t.Parallel()
	binary(t)
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	scenario(t, s.ClientURL())
}

// scenario runs five members of a group on bus, a watcher, status and the
// status server, and checks the election, a failover after kill -9 and a
// handover after a clean stop.
func scenario(t *testing.T, bus string) {
	const group = "e2e"
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	flags := func(extra ...string) []string {
		return append(append([]string{"--bus", bus, "--group", group}, e2eTimings...), extra...)
	}

	w := start(t, "watch", append([]string{"watch"}, flags("--log-level", "warn")...)...)
	port := testenv.FreePort(t)
	members := map[string]*proc{}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("m%d", i)
		extra := []string{"--id", id, "--grace", "3s", "--log-level", "debug"}
		if i == 5 {
			extra = append(extra, "--http", fmt.Sprintf("127.0.0.1:%d", port))
		}
		args := append([]string{"run"}, flags(extra...)...)
		args = append(args, "--", "sh", "-c", jobScript, started)
		members[id] = start(t, id, args...)
	}

	// Election: exactly one job starts, and no other follows.
	awaitJobs(t, started, 1, 10*time.Second, "first election")
	time.Sleep(e2eTimeout + e2eElection)
	jobs := readJobs(t, started)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs started, want 1: %v", len(jobs), jobs)
	}
	first := jobs[0]
	if r := running(jobs); len(r) != 1 {
		t.Fatalf("running jobs %v, want 1", r)
	}
	t.Logf("elected %s", first.id)

	// status finds the leader; on an empty group it exits 3.
	code, stdout, stderr := runBin(t, append([]string{"status"}, flags()...)...)
	if code != 0 || stdout != first.id+"\n" {
		t.Errorf("status: exit %d, stdout %q, stderr %q; want 0 and %s", code, stdout, stderr, first.id)
	}
	code, stdout, stderr = runBin(t, "status", "--bus", bus, "--group", "nobody-here", "--wait", "300ms")
	if code != exitNoLeader || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `no leader heard in group "nobody-here"`) {
		t.Errorf("status of an empty group: exit %d, stdout %q, stderr %q; want 3, nothing, one line", code, stdout, stderr)
	}

	checkStatusServer(t, fmt.Sprintf("http://127.0.0.1:%d", port), group, "m5", first.id)

	// Failover: kill -9 the leader's member process. Its job dies with it,
	// and another member starts the job within HeartbeatTimeout +
	// ElectionTimeout + margin.
	t0 := time.Now()
	syscall.Kill(members[first.id].pid, syscall.SIGKILL)
	bound := e2eTimeout + e2eElection + e2eMargin
	jobs, t1 := awaitJobs(t, started, 2, bound, "failover after kill -9: HeartbeatTimeout + ElectionTimeout + margin")
	second := jobs[1]
	t.Logf("failover to %s took %v (bound %v)", second.id, t1.Sub(t0), bound)
	if second.id == first.id {
		t.Fatalf("the killed member %s started a job again", first.id)
	}
	waitFor(t, "the killed member's job to die with it", func() bool { return !processExists(first.pid) })
	time.Sleep(e2eTimeout)
	if jobs = readJobs(t, started); len(jobs) != 2 {
		t.Fatalf("%d job starts after the failover, want 2: %v", len(jobs), jobs)
	}
	if r := running(jobs); len(r) != 1 || r[0] != second {
		t.Fatalf("running jobs %v, want %v", r, second)
	}

	// Handover: stop the new leader cleanly. It stops its job, withdraws
	// and exits 0; another member starts the job within ElectionTimeout +
	// margin.
	t0 = time.Now()
	syscall.Kill(members[second.id].pid, syscall.SIGTERM)
	bound = e2eElection + e2eMargin
	jobs, t1 = awaitJobs(t, started, 3, bound, "handover after a clean stop: ElectionTimeout + margin")
	third := jobs[2]
	t.Logf("handover to %s took %v (bound %v)", third.id, t1.Sub(t0), bound)
	if code := members[second.id].wait(t, 10*time.Second); code != 0 {
		t.Errorf("the stopped member exited %d, want 0", code)
	}
	if processExists(second.pid) {
		t.Errorf("the stopped member's job (pid %d) still runs", second.pid)
	}
	if third.id == first.id || third.id == second.id {
		t.Fatalf("job started by %s, which is gone", third.id)
	}
	time.Sleep(2 * e2eInterval)
	if r := running(readJobs(t, started)); len(r) != 1 || r[0] != third {
		t.Fatalf("running jobs %v, want %v", r, third)
	}

	// watch saw each leader in turn, with nulls between them at most.
	waitFor(t, "watch to report "+third.id, func() bool { return strings.Contains(w.stdout.String(), `"leader":"`+third.id+`"`) })
	syscall.Kill(w.pid, syscall.SIGTERM)
	if code := w.wait(t, 5*time.Second); code != 0 {
		t.Errorf("watch exited %d, want 0", code)
	}
	var leaders []string
	prev := "-"
	for _, line := range strings.Split(strings.TrimSpace(w.stdout.String()), "\n") {
		var l watchLine
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Group != group {
			t.Fatalf("watch printed %q: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil {
			t.Errorf("watch: time %q: %v", l.Time, err)
		}
		cur := ""
		if l.Leader != nil {
			cur = *l.Leader
			leaders = append(leaders, cur)
		}
		if cur == prev {
			t.Errorf("watch repeated %q", line)
		}
		prev = cur
	}
	if want := []string{first.id, second.id, third.id}; !slices.Equal(leaders, want) {
		t.Errorf("watch reported leaders %v, want %v:\n%s", leaders, want, w.stdout)
	}

	// Stop the rest cleanly: every member exits 0 and no job is left.
	for id, m := range members {
		if id != first.id && id != second.id {
			syscall.Kill(m.pid, syscall.SIGTERM)
		}
	}
	for id, m := range members {
		if id != first.id && id != second.id {
			if code := m.wait(t, 10*time.Second); code != 0 {
				t.Errorf("%s exited %d, want 0", id, code)
			}
		}
	}
	if r := running(readJobs(t, started)); len(r) != 0 {
		t.Errorf("jobs still running after every member stopped: %v", r)
	}
}

// checkStatusServer checks the endpoints of a follower's status server.
func checkStatusServer(t *testing.T, base, group, id, leader string) {
	t.Helper()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/leader")
	var got struct {
		Group    string  `json:"group"`
		ID       string  `json:"id"`
		Leader   *string `json:"leader"`
		IsLeader bool    `json:"isLeader"`
		Since    string  `json:"since"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
		t.Fatalf("GET /leader: %d %v %s", code, err, body)
	}
	if got.Group != group || got.ID != id || got.Leader == nil || *got.Leader != leader || got.IsLeader {
		t.Errorf("GET /leader: %s; want group %s, id %s, leader %s, isLeader false", body, group, id, leader)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.Since); err != nil {
		t.Errorf("GET /leader: since: %v", err)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
	code, body = get("/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{
		fmt.Sprintf(`bellwether_is_leader{group=%q,id=%q} 0`, group, id),
		"# TYPE bellwether_leader_changes_total counter",
		"# TYPE bellwether_elections_total counter",
		`bellwether_events_sent_total{action="accept"`,
		`bellwether_events_received_total{action="current"`,
		`bellwether_events_rejected_total{group=`,
		"# TYPE bellwether_duplicate_leaders_total counter",
		"# TYPE bellwether_election_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	// A follower has heard heartbeats.
	m := regexp.MustCompile(`bellwether_events_received_total\{action="current",[^}]*\} (\d+)`).FindStringSubmatch(body)
	if n, _ := strconv.Atoi(m[1]); m == nil || n == 0 {
		t.Errorf("GET /metrics: no heartbeats received: %v", m)
	}
}

// TestE2EErrors checks start-up errors and exit statuses of the built
// command.
func TestE2EErrors(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	_ = bin
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string // in the one line on stderr
	}{
		{[]string{"run"}, 2, "missing COMMAND"},
		{[]string{"run", "--bus", fmt.Sprintf("nats://127.0.0.1:%d", testenv.FreePort(t)), "--", "true"}, 2, "nats"},
		{[]string{"run", "--bus", "gopher://x", "--", "true"}, 2, `unknown scheme "gopher"`},
		{[]string{"run", "--heartbeat-timeout", "1s", "--", "true"}, 2, "--heartbeat-timeout 1s must be greater than --heartbeat-interval 2s"},
		{[]string{"run", "--key-file", "k", "--", "true"}, 2, "--key-file: key file: open k: no such file or directory"},
		{[]string{"watch", "--bogus"}, 2, "flag provided but not defined: --bogus"},
		{[]string{"run", "--bus", "mem://x", "--", "true"}, 2, "a mem:// bus lives inside one process"},
		{[]string{"status", "--bus", "mem://x"}, 2, "a mem:// bus lives inside one process"},
	} {
		code, stdout, stderr := runBin(t, tt.args...)
		if code != tt.code || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and one line with %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
	}
	// run exits with its command's status, after leading.
	for script, want := range map[string]int{"exit 7": 7, "kill -TERM $$": 128 + 15} {
		args := append([]string{"run", "--bus", "local://" + dir, "--group", "exit"}, e2eTimings...)
		code, _, stderr := runBin(t, append(args, "--", "sh", "-c", script)...)
		if code != want {
			t.Errorf("run -- sh -c %q: exit %d, want %d; stderr:\n%s", script, code, want, stderr)
		}
	}
}

// TestE2EDemo runs the demo with its output piped.
func TestE2EDemo(t *testing.T) {
	t.Parallel()
	p := start(t, "demo", "demo")
	if code := p.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("demo exited %d; stdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	out := p.stdout.String()
	for _, want := range []string{"1. Election", "failover took", "handover took", "Summary", "election  ", "failover  ", "handover  ", "All 5 members and their jobs have exited"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("demo wrote terminal escapes to a pipe")
	}
	if p.stderr.String() != "" {
		t.Errorf("demo wrote to stderr: %s", p.stderr)
	}
	// Nothing is left: no member, no job, no directory.
	sc := bufio.NewScanner(strings.NewReader(out))
	pidRE := regexp.MustCompile(`pids? ([\d, ]+)\)`)
	var pids []int
	for sc.Scan() {
		if m := pidRE.FindStringSubmatch(sc.Text()); m != nil {
			for _, f := range strings.Split(m[1], ", ") {
				if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
					pids = append(pids, n)
				}
			}
		}
	}
	if len(pids) < 5+3 {
		t.Errorf("found %d pids in the output, want 5 members and 3 jobs at least:\n%s", len(pids), out)
	}
	for _, pid := range pids {
		if processExists(pid) {
			t.Errorf("pid %d still runs after the demo", pid)
		}
	}
	if m := regexp.MustCompile(`removed (\S+)\.\n`).FindStringSubmatch(out); m == nil {
		t.Error("the demo does not say which directory it removed")
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the demo left %s: %v", m[1], err)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}

// TestE2EDemoInterrupted interrupts the demo: it stops every member,
// removes its directory and exits 130.
func TestE2EDemoInterrupted(t *testing.T) {
	t.Parallel()
	p := start(t, "demo", "demo")
	waitFor(t, "the failover step", func() bool { return strings.Contains(p.stdout.String(), "2. Failover") })
	syscall.Kill(p.pid, syscall.SIGINT)
	if code := p.wait(t, 20*time.Second); code != 130 {
		t.Errorf("demo exited %d, want 130; stderr:\n%s", code, p.stderr)
	}
	out := p.stdout.String()
	m := regexp.MustCompile(`pids ([\d, ]+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no member pids in the output:\n%s", out)
	}
	for _, f := range strings.Split(m[1], ", ") {
		if pid, _ := strconv.Atoi(f); processExists(pid) {
			t.Errorf("member pid %d still runs", pid)
		}
	}
	if m := regexp.MustCompile(`removed (\S+)\.\n`).FindStringSubmatch(out); m == nil {
		t.Errorf("no removed directory in the output:\n%s", out)
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the demo left %s", m[1])
	}
}
