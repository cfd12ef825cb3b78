//go:build unix

package main

// In-process tests of run's --value and --preempt, the job's
// BELLWETHER_EPOCH, status --json, and the value and epoch in watch's
// lines and GET /leader, on mem:// buses. They run in real time with
// fastFlags' timings; every wait is bounded (waitFor: 10s).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/testenv"
)

// recordScript is a job that appends "start ID EPOCH" to the file $0 when
// it starts and "stop ID" when it gets SIGTERM, then exits.
const recordScript = `trap 'echo "stop $BELLWETHER_MEMBER_ID" >> "$0"; exit 0' TERM
echo "start $BELLWETHER_MEMBER_ID $BELLWETHER_EPOCH" >> "$0"
while :; do sleep 0.01; done`

// record is one line of recordScript's file.
type record struct {
	what, id string
	epoch    uint64
}

func readRecords(t *testing.T, file string) []record {
	t.Helper()
	var rs []record
	for _, line := range fileLines(t, file) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "start":
			n, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				t.Fatalf("job recorded %q: BELLWETHER_EPOCH is not a number: %v", line, err)
			}
			rs = append(rs, record{"start", f[1], n})
		case len(f) == 2 && f[0] == "stop":
			rs = append(rs, record{"stop", f[1], 0})
		case line == "":
		default:
			t.Fatalf("job recorded %q", line)
		}
	}
	return rs
}

// checkEpoch fails t unless epoch is a valid one: above 0, below 2^53.
func checkEpoch(t *testing.T, what string, epoch uint64) {
	t.Helper()
	if epoch == 0 || epoch >= 1<<53 {
		t.Errorf("%s: epoch %d, want in [1, 2^53)", what, epoch)
	}
}

// bg runs the command in the background; the returned function sends it
// SIGTERM and returns its exit status.
func bg(t *testing.T, tc *testCLI, args ...string) (stop func() int) {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- tc.run(args...) }()
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			tc.signals <- syscall.SIGTERM
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%v did not stop within 10s; stderr:\n%s", args, tc.stderr)
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestRunValueAndEpoch: a member run with --value leads; its job gets its
// epoch in BELLWETHER_EPOCH; status --json, watch and GET /leader show the
// leader, its value and that epoch.
func TestRunValueAndEpoch(t *testing.T) {
	bus := memBus()
	file := t.TempDir() + "/jobs"
	port := testenv.FreePort(t)
	leader := newCLI("BELLWETHER_EPOCH=1", "BELLWETHER_VALUE=from-env")
	args := append([]string{"run", "--bus", bus, "--id", "lead-1", "--value", "10.0.0.5:8080", "--http", fmt.Sprintf("127.0.0.1:%d", port)}, fastFlags...)
	stopLeader := bg(t, leader, append(args, "--", "sh", "-c", recordScript, file)...)

	w := newCLI()
	stopWatch := bg(t, w, append([]string{"watch", "--bus", bus}, fastFlags...)...)

	var rs []record
	waitFor(t, "the job to start", func() bool { rs = readRecords(t, file); return len(rs) > 0 })
	epoch := rs[0].epoch
	checkEpoch(t, "BELLWETHER_EPOCH", epoch)
	if epoch == 1 {
		t.Error("the job inherited run's BELLWETHER_EPOCH")
	}

	st := newCLI()
	if code := st.run(append([]string{"status", "--json", "--bus", bus}, fastFlags...)...); code != 0 {
		t.Fatalf("status --json: exit %d, stderr %q", code, st.stderr)
	}
	want := fmt.Sprintf(`{"group":"default","bus":%q,"leader":"lead-1","value":"10.0.0.5:8080","epoch":%d}`+"\n", bus, epoch)
	if got := st.stdout.String(); got != want {
		t.Errorf("status --json printed %q, want %q", got, want)
	}

	// Plain status prints the id alone, as before.
	st = newCLI()
	if code := st.run(append([]string{"status", "--bus", bus}, fastFlags...)...); code != 0 || st.stdout.String() != "lead-1\n" {
		t.Errorf("status: exit %d, stdout %q; want 0 and the id alone", code, st.stdout)
	}

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/leader", port))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Leader   *string `json:"leader"`
		Value    string  `json:"value"`
		Epoch    uint64  `json:"epoch"`
		IsLeader bool    `json:"isLeader"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || body.Leader == nil || *body.Leader != "lead-1" || body.Value != "10.0.0.5:8080" || body.Epoch != epoch || !body.IsLeader {
		t.Errorf("GET /leader: %+v, %v; want lead-1, its value and epoch %d, isLeader", body, err, epoch)
	}

	waitFor(t, "watch to report the leader", func() bool { return strings.Contains(w.stdout.String(), `"leader":"lead-1"`) })
	if code := stopLeader(); code != 0 {
		t.Errorf("run: exit %d; stderr:\n%s", code, leader.stderr)
	}
	waitFor(t, "watch to report no leader", func() bool { return strings.Contains(w.stdout.String(), `"leader":null`) })
	if code := stopWatch(); code != 0 {
		t.Errorf("watch: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(w.stdout.String()), "\n")
	wantLines := []string{
		fmt.Sprintf(`,"group":"default","leader":"lead-1","value":"10.0.0.5:8080","epoch":%d}`, epoch),
		`,"group":"default","leader":null,"value":"","epoch":0}`,
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("watch printed %d lines, want %d:\n%s", len(lines), len(wantLines), w.stdout)
	}
	for i, want := range wantLines {
		if !strings.HasPrefix(lines[i], `{"time":"`) || !strings.HasSuffix(lines[i], want) {
			t.Errorf("watch line %d = %s, want ...%s", i, lines[i], want)
		}
	}
	if rs = readRecords(t, file); len(rs) != 2 || rs[1] != (record{"stop", "lead-1", 0}) {
		t.Errorf("job records %v, want its start and its stop", rs)
	}
}

// TestStatusJSONNoLeader: with no leader, status --json still prints one
// object, with a null leader, and exits 3.
func TestStatusJSONNoLeader(t *testing.T) {
	bus := memBus()
	tc := newCLI()
	if code := tc.run("status", "--json", "--bus", bus, "--group", "empty", "--wait", "50ms"); code != exitNoLeader {
		t.Fatalf("exit %d, want %d", code, exitNoLeader)
	}
	want := fmt.Sprintf(`{"group":"empty","bus":%q,"leader":null,"value":"","epoch":0}`+"\n", bus)
	if got := tc.stdout.String(); got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got := tc.stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `no leader heard in group "empty"`) {
		t.Errorf("stderr %q, want one line saying no leader was heard", got)
	}
}

// TestValueAndPreemptFlags: --value and --preempt are checked before
// joining, read from the environment like every flag, and not passed on
// to the job, whose member they describe.
func TestValueAndPreemptFlags(t *testing.T) {
	bus := "--bus=" + memBus()
	long := strings.Repeat("x", bellwether.MaxValueLength+1)
	for _, tt := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"run", bus, "--value", long, "--", "true"}, nil, fmt.Sprintf("--value: %d bytes, over the limit of %d", len(long), bellwether.MaxValueLength)},
		{[]string{"run", bus, "--", "true"}, []string{"BELLWETHER_VALUE=\xff"}, `--value "\xff": not valid UTF-8`},
		{[]string{"run", bus, "--preempt=maybe", "--", "true"}, nil, `invalid value "maybe" for flag --preempt: not a boolean; write true or false`},
		{[]string{"run", bus, "--", "true"}, []string{"BELLWETHER_PREEMPT=maybe"}, `BELLWETHER_PREEMPT="maybe": not a boolean; write true or false`},
		{[]string{"status", bus, "--json=x"}, nil, `invalid value "x" for flag --json`},
		{[]string{"watch", bus, "--value", "x"}, nil, "flag provided but not defined: --value"},
		{[]string{"status", bus, "--preempt"}, nil, "flag provided but not defined: --preempt"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			tc := newCLI(tt.env...)
			if code := tc.run(tt.args...); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if got := tc.stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, tt.want) {
				t.Errorf("stderr %q, want one line with %q", got, tt.want)
			}
		})
	}
	// A value of exactly the limit is fine; the flags come from the
	// environment; the job gets neither, nor an inherited epoch.
	exact := strings.Repeat("é", bellwether.MaxValueLength/2)
	tc := newCLI("BELLWETHER_VALUE="+exact, "BELLWETHER_PREEMPT=true", "BELLWETHER_EPOCH=7")
	script := `test -z "$BELLWETHER_VALUE" && test -z "$BELLWETHER_PREEMPT" && test "$BELLWETHER_EPOCH" -gt 7`
	args := append([]string{"run", "--bus", memBus(), "--log-format", "json"}, fastFlags...)
	if code := tc.run(append(args, "--", "sh", "-c", script)...); code != 0 {
		t.Errorf("run with BELLWETHER_VALUE and BELLWETHER_PREEMPT: exit %d; stderr:\n%s", code, tc.stderr)
	}
	if !strings.Contains(tc.stderr.String(), `"epoch":`) {
		t.Errorf("the log of the job's start lacks its epoch:\n%s", tc.stderr)
	}
}

// TestPreempt: a member run with --preempt whose id sorts before the
// leader's takes over, and the old leader's job has stopped before its
// own starts; without --preempt a smaller id follows the leader.
func TestPreempt(t *testing.T) {
	for _, preempt := range []bool{false, true} {
		t.Run(fmt.Sprintf("preempt=%v", preempt), func(t *testing.T) {
			bus := memBus()
			file := t.TempDir() + "/jobs"
			run := func(id string, extra ...string) func() int {
				args := append([]string{"run", "--bus", bus, "--id", id}, fastFlags...)
				args = append(append(args, extra...), "--", "sh", "-c", recordScript, file)
				return bg(t, newCLI(), args...)
			}
			stopB := run("b")
			waitFor(t, "b's job to start", func() bool { return len(readRecords(t, file)) == 1 })
			var extra []string
			if preempt {
				extra = []string{"--preempt"}
			}
			stopA := run("a", extra...)
			if !preempt {
				// Bound: a listens for the lease's length (475ms) before
				// it may win, and hears b's heartbeats every 100ms; with
				// --preempt it takes over well within this second.
				o := newCLI()
				stopO := bg(t, o, append([]string{"watch", "--bus", bus}, fastFlags...)...)
				time.Sleep(time.Second)
				stopO()
				if rs := readRecords(t, file); len(rs) != 1 || rs[0].id != "b" {
					t.Errorf("without --preempt: job records %v, want b's start alone", rs)
				}
				if out := o.stdout.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, `"leader":"b"`) {
					t.Errorf("without --preempt: watch saw %q, want b alone", out)
				}
				stopA()
				stopB()
				return
			}
			var rs []record
			waitFor(t, "a's job to start", func() bool { rs = readRecords(t, file); return len(rs) >= 3 })
			if len(rs) != 3 || rs[0].what != "start" || rs[0].id != "b" || rs[1] != (record{"stop", "b", 0}) || rs[2].what != "start" || rs[2].id != "a" {
				t.Fatalf("job records %v, want b's start, b's stop, then a's start", rs)
			}
			checkEpoch(t, "b's job", rs[0].epoch)
			if rs[2].epoch <= rs[0].epoch {
				t.Errorf("a's epoch %d is not above b's %d", rs[2].epoch, rs[0].epoch)
			}
			st := newCLI()
			if code := st.run(append([]string{"status", "--json", "--bus", bus}, fastFlags...)...); code != 0 {
				t.Fatalf("status --json: exit %d", code)
			}
			var got statusJSON
			if err := json.Unmarshal([]byte(st.stdout.String()), &got); err != nil || got.Leader == nil || *got.Leader != "a" || got.Epoch != rs[2].epoch {
				t.Errorf("status --json: %s (%v); want leader a with epoch %d", st.stdout, err, rs[2].epoch)
			}
			if code := stopA(); code != 0 {
				t.Errorf("a exited %d", code)
			}
			if code := stopB(); code != 0 {
				t.Errorf("b exited %d", code)
			}
		})
	}
}
