package mixedtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/crash"
	"github.com/bellwether-go/bellwether/internal/nodeenv"
	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/bellwether-go/bellwether/internal/testserver"
	"github.com/bellwether-go/bellwether/internal/timings"
	bwnats "github.com/bellwether-go/bellwether/transport/nats"
	"go.uber.org/goleak"
)

// pinned are the npm packages member.js needs, at the versions package.json
// pins.
var pinned = nodeenv.Packages{"trimerge-sync": "0.20.0", "nats": "2.29.3"}

const fixHint = "install Node.js >= 18 and npm (apt-get install nodejs npm), then run `npm ci` in internal/mixedtest"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// settings are the timings of every member, Go and Node alike.
var settings = timings.Fast

const (
	// stable is how long an agreement must hold to count: four heartbeats.
	stable = time.Second
	// within bounds each wait for agreement, generously: an election
	// takes a few hundred milliseconds, a crash is noticed after a second.
	within = 30 * time.Second
)

// kind is what runs a member.
type kind string

const (
	goQuiet     kind = "go/quiet"
	goReference kind = "go/reference"
	nodeRef     kind = "node/trimerge-sync"
)

// member is one member of the mixed group, whatever runs it.
type member interface {
	ID() string
	Kind() kind
	// State is whether the member leads and the leader it knows ("" for
	// none).
	State() (leading bool, leader string)
	// Withdraw shuts the member down cleanly: it announces its
	// withdrawal.
	Withdraw(t *testing.T)
	// Crash stops the member at once, without a word.
	Crash(t *testing.T)
}

// goMember is an Elector on a Transport of its own, as in a process of
// its own.
type goMember struct {
	id   string
	kind kind
	tr   *crash.Transport
	e    *bellwether.Elector
}

// startGo starts a Go member, announcing the value id+":v" when it leads.
func startGo(t *testing.T, u *url.URL, group, id string, k kind, preempt bool) *goMember {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inner, err := bwnats.FromURL(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	tr := crash.Wrap(inner)
	t.Cleanup(func() { tr.Close() })
	mode := bellwether.ModeQuiet
	if k == goReference {
		mode = bellwether.ModeReference
	}
	e, err := bellwether.Join(ctx, tr, bellwether.Config{
		ID: id, Group: group, Settings: settings, Mode: mode,
		Logger: slog.New(slog.DiscardHandler),
		Value:  id + ":v", Preempt: preempt,
	})
	if err != nil {
		t.Fatalf("Join %s: %v", id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("Close of %s: %v", id, err)
		}
	})
	return &goMember{id: id, kind: k, tr: tr, e: e}
}

func (m *goMember) ID() string { return m.id }
func (m *goMember) Kind() kind { return m.kind }

func (m *goMember) State() (bool, string) {
	s := m.e.Status()
	return s.IsLeader, s.Leader
}

func (m *goMember) Withdraw(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.e.Close(ctx); err != nil {
		t.Fatalf("Close of %s: %v", m.id, err)
	}
}

func (m *goMember) Crash(*testing.T) { m.tr.Crash() }

// nodeMember is member.js in a node process.
type nodeMember struct {
	id    string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan struct{}
	bye   chan struct{}
	done  chan struct{} // closed when the process has exited
	err   error         // its exit status; set before done is closed

	mu      sync.Mutex
	leading bool
	leader  string
	stderr  bytes.Buffer
}

func startNode(t *testing.T, node, dir string, u *url.URL, group, id string) *nodeMember {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{
		"servers": u.String(), "group": group, "id": id,
		"electionTimeoutMs":   settings.ElectionTimeout.Milliseconds(),
		"heartbeatIntervalMs": settings.HeartbeatInterval.Milliseconds(),
		"heartbeatTimeoutMs":  settings.HeartbeatTimeout.Milliseconds(),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &nodeMember{id: id, ready: make(chan struct{}), bye: make(chan struct{}), done: make(chan struct{})}
	m.cmd = exec.Command(node, filepath.Join(dir, "member.js"), string(cfg))
	m.cmd.Dir = dir
	m.cmd.Stderr = lockedWriter{&m.mu, &m.stderr}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting node member %s: %v", id, err)
	}
	go m.read(t, stdout)
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		<-m.done
		if t.Failed() {
			t.Logf("node member %s: exit %v; stderr:\n%s", id, m.err, m.stderrText())
		}
	})
	select {
	case <-m.ready:
	case <-m.done:
		t.Fatalf("node member %s exited before it was ready: %v\n%s", id, m.err, m.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("node member %s not ready within 30s\n%s", id, m.stderrText())
	}
	return m
}

// read follows the member's reports until it exits.
func (m *nodeMember) read(t *testing.T, stdout io.Reader) {
	defer close(m.done)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var r struct {
			Event   string
			Leading bool
			Leader  string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("node member %s printed %q: %v", m.id, sc.Text(), err)
			continue
		}
		m.mu.Lock()
		switch r.Event {
		case "ready":
			close(m.ready)
		case "leading":
			m.leading = r.Leading
		case "leader":
			m.leader = r.Leader
		case "bye":
			close(m.bye)
		}
		m.mu.Unlock()
	}
	m.err = m.cmd.Wait()
}

func (m *nodeMember) stderrText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

func (m *nodeMember) ID() string { return m.id }
func (m *nodeMember) Kind() kind { return nodeRef }

func (m *nodeMember) State() (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leading, m.leader
}

func (m *nodeMember) Withdraw(t *testing.T) {
	if _, err := io.WriteString(m.stdin, "withdraw\n"); err != nil {
		t.Fatalf("telling node member %s to withdraw: %v", m.id, err)
	}
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("node member %s did not exit within 10s of withdrawing", m.id)
	}
	select {
	case <-m.bye:
	default:
		t.Fatalf("node member %s exited without withdrawing: %v\n%s", m.id, m.err, m.stderrText())
	}
	if m.err != nil {
		t.Fatalf("node member %s: %v\n%s", m.id, m.err, m.stderrText())
	}
}

func (m *nodeMember) Crash(*testing.T) {
	_ = m.cmd.Process.Kill()
	<-m.done
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// agreement returns the leader every member of live knows and that alone
// leads, or a description of their views.
func agreement(live []member) (string, string) {
	var leaders []string
	views := make([]string, len(live))
	for i, m := range live {
		leading, leader := m.State()
		if leading {
			leaders = append(leaders, m.ID())
		}
		views[i] = fmt.Sprintf("%s(%s)→%q", m.ID(), m.Kind(), leader)
	}
	view := fmt.Sprintf("leading: [%s]; known leaders: %s", strings.Join(leaders, ","), strings.Join(views, " "))
	if len(leaders) != 1 {
		return "", view
	}
	for _, m := range live {
		if _, leader := m.State(); leader != leaders[0] {
			return "", view
		}
	}
	return leaders[0], view
}

// awaitLeader waits until every member of live agrees that one of them
// alone leads, and that has held for stable; it fails t if that leader is
// not want, unless want is "". It returns the leader.
func awaitLeader(t *testing.T, step string, live []member, want string) string {
	t.Helper()
	start := time.Now()
	since, current := start, ""
	for {
		leader, view := agreement(live)
		if leader != current {
			since, current = time.Now(), leader
		}
		if leader != "" && time.Since(since) >= stable {
			if want != "" && leader != want {
				t.Fatalf("%s: all agree on %s; want %s (%s)", step, leader, want, view)
			}
			t.Logf("%s: all %d live members agree on %s after %v", step, len(live), leader, since.Sub(start).Round(time.Millisecond))
			return leader
		}
		if time.Since(start) > within {
			t.Fatalf("%s: no lasting agreement within %v: %s", step, within, view)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fence is the last Go leader checked and its epoch.
type fence struct {
	leader string
	epoch  uint64
}

// checkFencing checks what the Go members of live know of leader, which
// all agree on: a Go leader's epoch (the same for all, and, for a new
// leader, above every epoch checked before) and value; for a reference
// leader, which sends neither, none.
func checkFencing(t *testing.T, step string, live []member, leader string, last *fence) {
	t.Helper()
	var isGo bool
	for _, m := range live {
		if m.ID() == leader {
			_, isGo = m.(*goMember)
		}
	}
	var epoch uint64
	for _, m := range live {
		g, ok := m.(*goMember)
		if !ok {
			continue
		}
		s := g.e.Status()
		switch {
		case !isGo && (s.Epoch != 0 || s.Value != ""):
			t.Fatalf("%s: %s sees reference leader %s at epoch %d, value %q; want none", step, g.id, leader, s.Epoch, s.Value)
		case isGo && (s.Epoch == 0 || s.Value != leader+":v" || epoch != 0 && s.Epoch != epoch):
			t.Fatalf("%s: %s sees %s at epoch %d (others: %d), value %q", step, g.id, leader, s.Epoch, epoch, s.Value)
		}
		epoch = s.Epoch
	}
	if isGo && epoch != 0 {
		if epoch < last.epoch || epoch == last.epoch && leader != last.leader {
			t.Fatalf("%s: %s leads at epoch %d, after %s at %d", step, leader, epoch, last.leader, last.epoch)
		}
		*last = fence{leader, epoch}
	}
}

func without(live []member, id string) []member {
	var rest []member
	for _, m := range live {
		if m.ID() != id {
			rest = append(rest, m)
		}
	}
	return rest
}

// TestMixedCluster: Go Electors (quiet and reference mode) and reference
// members under Node.js share a group over NATS and agree on one leader
// through start-up, the leader's clean withdrawal and the leader's crash.
// Ids are ordered so that across the runs a Node member and a Go member
// each lead, withdraw and crash. The Go members announce values and
// epochs, which the Node members ignore; the Go members see a Go leader's
// epoch, rising at every change, and value. In the Preempt runs a Go
// member with Preempt and the smallest id joins last: it takes over from a
// Go leader, and follows a Node leader, which cannot be asked.
//
// Which member leads is checked where the protocol decides it: the first
// member, alone, elects itself; on a withdrawal every member forgets the
// leader at once and the smallest id wins. After a crash it does not: a
// member that still knows the dead leader ignores requests, so whoever's
// heartbeat timeout fires first tends to win, and any one leader will do.
func TestMixedCluster(t *testing.T) {
	node, dir := nodeenv.Require(t, ".", 18, pinned, fixHint)
	_, u := testserver.InProcessNATS(t)
	type spec struct {
		id      string
		kind    kind
		preempt bool
	}
	for _, tc := range []struct {
		name    string
		members []spec
		lead    string // who leads after start-up
	}{
		// a (Node) leads, withdraws; b (Go quiet) leads, crashes; c (Go
		// reference) or d (Node) leads.
		{"NodeFirst", []spec{{"a", nodeRef, false}, {"b", goQuiet, false}, {"c", goReference, false}, {"d", nodeRef, false}}, "a"},
		// a (Go quiet) leads, withdraws; b (Node) leads, is killed; c
		// (Node) or d (Go reference) leads.
		{"GoFirst", []spec{{"a", goQuiet, false}, {"b", nodeRef, false}, {"c", nodeRef, false}, {"d", goReference, false}}, "a"},
		// b (Go quiet) leads; a (Go, Preempt) takes over, withdraws; b
		// leads, crashes; c (Node) or d (Node) leads.
		{"PreemptGoLeader", []spec{{"b", goQuiet, false}, {"c", nodeRef, false}, {"d", nodeRef, false}, {"a", goQuiet, true}}, "a"},
		// b (Node) leads and a (Go, Preempt) follows it; b withdraws; a
		// leads, crashes; c (Go reference) or d (Node) leads.
		{"PreemptNodeLeader", []spec{{"b", nodeRef, false}, {"c", goReference, false}, {"d", nodeRef, false}, {"a", goQuiet, true}}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group := "mixed." + testenv.Group(t) // a '.' exercises the subject mapping on both sides
			start := func(s spec) member {
				if s.kind == nodeRef {
					return startNode(t, node, dir, u, group, s.id)
				}
				return startGo(t, u, group, s.id, s.kind, s.preempt)
			}
			var epoch fence
			// The first member elects itself alone, so that it leads
			// whichever side starts faster; the others then join a group
			// that has a leader.
			first := start(tc.members[0])
			awaitLeader(t, "alone", []member{first}, first.ID())
			checkFencing(t, "alone", []member{first}, first.ID(), &epoch)
			live := []member{first}
			for _, s := range tc.members[1:] {
				live = append(live, start(s))
			}
			awaitLeader(t, "start-up", live, tc.lead)
			checkFencing(t, "start-up", live, tc.lead, &epoch)

			find := func(id string) member {
				for _, m := range live {
					if m.ID() == id {
						return m
					}
				}
				t.Fatalf("no live member %s", id)
				return nil
			}
			// The leader withdraws: the smallest id left wins.
			leader := find(tc.lead)
			leader.Withdraw(t)
			live = without(live, tc.lead)
			next := "b"
			if tc.lead == "b" {
				next = "a"
			}
			step := fmt.Sprintf("after %s (%s) withdrew", leader.ID(), leader.Kind())
			awaitLeader(t, step, live, next)
			checkFencing(t, step, live, next, &epoch)

			leader = find(next)
			leader.Crash(t)
			live = without(live, next)
			step = fmt.Sprintf("after %s (%s) crashed", leader.ID(), leader.Kind())
			l := awaitLeader(t, step, live, "")
			checkFencing(t, step, live, l, &epoch)
		})
	}
}
