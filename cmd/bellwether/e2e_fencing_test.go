//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
)

// TestE2EValueEpochPreempt runs the built command as processes on the
// local bus: members with --value, whose job gets BELLWETHER_EPOCH;
// status --json, watch, GET /leader and /metrics show the leader's value
// and epoch; then a member with --preempt and a smaller id takes over,
// after the old leader's job stopped, with a greater epoch, which every
// view shows; and after kill -9 of that leader the next job's epoch is
// greater still.
func TestE2EValueEpochPreempt(t *testing.T) {
	t.Parallel()
	bus := "local://" + t.TempDir()
	const group = "fenced"
	file := filepath.Join(t.TempDir(), "jobs")
	flags := func(extra ...string) []string {
		return append(append([]string{"--bus", bus, "--group", group}, e2eTimings...), extra...)
	}
	member := func(id string, extra ...string) *proc {
		args := append([]string{"run"}, flags(append([]string{"--id", id, "--value", "10.0.0." + id[1:] + ":8080", "--grace", "3s"}, extra...)...)...)
		return start(t, id, append(args, "--", "sh", "-c", recordScript, file)...)
	}
	w := start(t, "watch", append([]string{"watch"}, flags("--log-level", "warn")...)...)
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	m2 := member("m2", "--http", fmt.Sprintf("127.0.0.1:%d", port))

	// Bound: the lease's length (0.875s) and an election (0.25s) after
	// start-up, plus process start-up.
	var rs []record
	waitFor(t, "the first job", func() bool { rs = readRecords(t, file); return len(rs) > 0 })
	if rs[0].what != "start" || rs[0].id != "m2" {
		t.Fatalf("job records %v, want m2's start", rs)
	}
	m3 := member("m3") // a standby: it follows m2
	first := rs[0].epoch
	checkEpoch(t, "m2's BELLWETHER_EPOCH", first)

	statusJSONOf := func() statusJSON {
		t.Helper()
		code, stdout, stderr := runBin(t, append([]string{"status", "--json"}, flags()...)...)
		var s statusJSON
		if err := json.Unmarshal([]byte(stdout), &s); code != 0 || err != nil || strings.Count(stdout, "\n") != 1 {
			t.Fatalf("status --json: exit %d, stdout %q (%v), stderr %q; want 0 and one JSON line", code, stdout, err, stderr)
		}
		return s
	}
	leaderOf := func() (leader, value string, epoch uint64, isLeader bool) {
		t.Helper()
		resp, err := http.Get(base + "/leader")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			Leader   *string `json:"leader"`
			Value    string  `json:"value"`
			Epoch    uint64  `json:"epoch"`
			IsLeader bool    `json:"isLeader"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || b.Leader == nil {
			t.Fatalf("GET /leader: %+v %v", b, err)
		}
		return *b.Leader, b.Value, b.Epoch, b.IsLeader
	}
	metricEpoch := func() uint64 {
		t.Helper()
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^bellwether_epoch\{group="fenced",id="m2"\} (\S+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics lacks bellwether_epoch:\n%s", body)
		}
		f, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(f)
	}

	if s := statusJSONOf(); s.Group != group || s.Leader == nil || *s.Leader != "m2" || s.Value != "10.0.0.2:8080" || s.Epoch != first {
		t.Errorf("status --json: %+v; want m2, 10.0.0.2:8080, epoch %d", s, first)
	}
	if l, v, e, is := leaderOf(); l != "m2" || v != "10.0.0.2:8080" || e != first || !is {
		t.Errorf("GET /leader of the leader: %s %q %d %v; want m2, its value, epoch %d, isLeader", l, v, e, is, first)
	}
	if e := metricEpoch(); e != first {
		t.Errorf("bellwether_epoch %d, want %d", e, first)
	}

	// m1 joins with --preempt: m2 stops its job, then hands over. Bound:
	// m1 listens for the lease's length before it may win, then an
	// election; waitFor allows 10s.
	m1 := member("m1", "--preempt")
	waitFor(t, "m1's job", func() bool { rs = readRecords(t, file); return len(rs) >= 3 })
	if len(rs) != 3 || rs[1] != (record{"stop", "m2", 0}) || rs[2].what != "start" || rs[2].id != "m1" {
		t.Fatalf("job records %v, want m2's start, m2's stop, then m1's start", rs)
	}
	second := rs[2].epoch
	if second <= first {
		t.Errorf("m1's epoch %d is not above m2's %d", second, first)
	}
	if s := statusJSONOf(); s.Leader == nil || *s.Leader != "m1" || s.Value != "10.0.0.1:8080" || s.Epoch != second {
		t.Errorf("status --json after the takeover: %+v; want m1, 10.0.0.1:8080, epoch %d", s, second)
	}
	waitFor(t, "m2 to know m1", func() bool { l, _, _, _ := leaderOf(); return l == "m1" })
	if l, v, e, is := leaderOf(); l != "m1" || v != "10.0.0.1:8080" || e != second || is {
		t.Errorf("GET /leader of m2 after the takeover: %s %q %d %v; want m1, its value, epoch %d, not leading", l, v, e, is, second)
	}
	if e := metricEpoch(); e != second {
		t.Errorf("bellwether_epoch on m2 %d, want m1's %d", e, second)
	}

	// watch printed each leader with its value and epoch.
	for _, want := range []string{
		fmt.Sprintf(`,"group":"fenced","leader":"m2","value":"10.0.0.2:8080","epoch":%d}`, first),
		fmt.Sprintf(`,"group":"fenced","leader":"m1","value":"10.0.0.1:8080","epoch":%d}`, second),
	} {
		waitFor(t, "watch to print "+want, func() bool { return strings.Contains(w.stdout.String(), want+"\n") })
	}

	// kill -9 of the leader: its guard stops its job, and after the
	// heartbeat timeout and an election another member's job starts, at a
	// greater epoch. Bound: HeartbeatTimeout (1s) and an election; waitFor
	// allows 10s.
	n := len(rs)
	syscall.Kill(m1.pid, syscall.SIGKILL)
	m1.wait(t, 10*time.Second)
	var third record
	waitFor(t, "a job after the kill", func() bool {
		rs = readRecords(t, file)
		for _, r := range rs[n:] {
			if r.what == "start" {
				third = r
				return true
			}
		}
		return false
	})
	if third.epoch <= second {
		t.Errorf("after kill -9 of m1, %s's epoch %d is not above m1's %d", third.id, third.epoch, second)
	}

	for _, p := range []*proc{m2, m3, w} {
		syscall.Kill(p.pid, syscall.SIGTERM)
	}
	for _, p := range []*proc{m2, m3, w} {
		if code := p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("%s exited %d, want 0", p.name, code)
		}
	}
}
