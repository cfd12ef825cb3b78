//go:build unix

package main

// Authenticated groups end to end, as an operator runs them and as a
// hostile user of the bus attacks them: three "bellwether run --key-file"
// members on Redis, PostgreSQL and the default (local) bus, and what a
// process that can publish on the group's channel sends them: a forged
// current from an id that sorts first, a forged withdraw of the leader, a
// flood of forged requests, the leader's captured signed heartbeat with
// its id changed, and a replay of the leader's captured heartbeats after
// it left. The keyed group's one job must be undisturbed; the same
// attacks on an unkeyed group must disturb it (the control that shows
// the test can fail). Then a member with a wrong key, a loose key file,
// and a key rotation across a running group.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// hostile is a user of the bus who is no member: it publishes raw bytes
// on a group's channel and hears what the members publish.
type hostile interface {
	publish(t *testing.T, msg []byte)
	close()
}

// tapped collects what a hostile user hears.
type tapped struct {
	mu    sync.Mutex
	heard [][]byte
}

func (c *tapped) add(msg []byte) {
	c.mu.Lock()
	c.heard = append(c.heard, bytes.Clone(msg))
	c.mu.Unlock()
}

// captured returns the signed heartbeats of member id heard so far.
func (c *tapped) captured(id string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r [][]byte
	for _, m := range c.heard {
		if bytes.Contains(m, []byte(`"action":"current","clientId":"`+id+`"`)) && bytes.Contains(m, []byte(`"mac":"`)) {
			r = append(r, m)
		}
	}
	return r
}

// redisHostile publishes with PUBLISH and hears with SUBSCRIBE, as
// redis-cli does, through the go-redis client.
type redisHostile struct {
	*tapped
	rdb     *redis.Client
	sub     *redis.PubSub
	channel string
}

func newRedisHostile(t *testing.T, url, group string) *redisHostile {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	h := &redisHostile{tapped: &tapped{}, rdb: redis.NewClient(opts), channel: "bellwether:" + group}
	h.sub = h.rdb.Subscribe(t.Context(), h.channel)
	if _, err := h.sub.Receive(t.Context()); err != nil { // the confirmation
		t.Fatal(err)
	}
	ch := h.sub.Channel()
	go func() {
		for m := range ch {
			h.add([]byte(m.Payload))
		}
	}()
	return h
}

func (h *redisHostile) publish(t *testing.T, msg []byte) {
	if err := h.rdb.Publish(context.Background(), h.channel, msg).Err(); err != nil {
		t.Errorf("PUBLISH: %v", err)
	}
}

func (h *redisHostile) close() {
	h.sub.Close()
	h.rdb.Close()
}

// pgHostile publishes with pg_notify and hears with LISTEN, as psql does,
// through pgx: any role that may connect to the database can.
type pgHostile struct {
	*tapped
	pub, sub *pgx.Conn
	channel  string
	cancel   context.CancelFunc
	done     chan struct{}
}

func newPGHostile(t *testing.T, url, group string) *pgHostile {
	t.Helper()
	h := &pgHostile{tapped: &tapped{}, channel: "bellwether_" + group, done: make(chan struct{})}
	var err error
	if h.pub, err = pgx.Connect(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	if h.sub, err = pgx.Connect(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sub.Exec(t.Context(), `LISTEN "`+h.channel+`"`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		for {
			n, err := h.sub.WaitForNotification(ctx)
			if err != nil {
				return
			}
			h.add([]byte(n.Payload))
		}
	}()
	return h
}

func (h *pgHostile) publish(t *testing.T, msg []byte) {
	if _, err := h.pub.Exec(context.Background(), "SELECT pg_notify($1, $2)", h.channel, string(msg)); err != nil {
		t.Errorf("pg_notify: %v", err)
	}
}

func (h *pgHostile) close() {
	h.cancel()
	<-h.done
	h.sub.Close(context.Background())
	h.pub.Close(context.Background())
}

// localHostile is a process of the same user on the host: it writes
// datagrams straight to the members' sockets in the group's directory,
// and hears them through a socket file of its own there.
type localHostile struct {
	*tapped
	dir   string
	self  string
	sock  *net.UnixConn
	peers map[string]*net.UnixConn
}

func newLocalHostile(t *testing.T, busDir, group string) *localHostile {
	t.Helper()
	h := &localHostile{tapped: &tapped{}, dir: filepath.Join(busDir, group), peers: map[string]*net.UnixConn{}}
	var rnd [8]byte
	rand.Read(rnd[:])
	h.self = hex.EncodeToString(rnd[:]) + ".sock"
	var err error
	if h.sock, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(h.dir, h.self), Net: "unixgram"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := h.sock.Read(buf)
			if err != nil {
				return
			}
			h.add(buf[:n])
		}
	}()
	return h
}

func (h *localHostile) publish(t *testing.T, msg []byte) {
	names, err := filepath.Glob(filepath.Join(h.dir, "*.sock"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range names {
		name := filepath.Base(path)
		if name == h.self {
			continue
		}
		c := h.peers[name]
		if c == nil {
			if c, err = net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"}); err != nil {
				continue // a member that left
			}
			h.peers[name] = c
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write(msg)
	}
}

func (h *localHostile) close() {
	h.sock.Close()
	os.Remove(filepath.Join(h.dir, h.self))
	for _, c := range h.peers {
		c.Close()
	}
}

// authBus is one bus of the attack tests.
type authBus struct {
	name string
	url  string
	// hostile returns a hostile user of group on the bus, already
	// hearing it (call it once a member has joined).
	hostile func(t *testing.T, group string) hostile
	tap     func(h hostile) *tapped
}

func authBuses(t *testing.T) []authBus {
	t.Helper()
	var buses []authBus
	dir := t.TempDir()
	buses = append(buses, authBus{name: "local", url: "local://" + dir,
		hostile: func(t *testing.T, group string) hostile { return newLocalHostile(t, dir, group) },
		tap:     func(h hostile) *tapped { return h.(*localHostile).tapped }})
	if u := testenv.RedisURL(t); u != nil {
		buses = append(buses, authBus{name: "redis", url: u.String(),
			hostile: func(t *testing.T, group string) hostile { return newRedisHostile(t, u.String(), group) },
			tap:     func(h hostile) *tapped { return h.(*redisHostile).tapped }})
	}
	if u := testenv.PostgresURL(t); u != nil {
		buses = append(buses, authBus{name: "postgres", url: u.String(),
			hostile: func(t *testing.T, group string) hostile { return newPGHostile(t, u.String(), group) },
			tap:     func(h hostile) *tapped { return h.(*pgHostile).tapped }})
	}
	return buses
}

// authGroup is a name for a group of this test alone, short enough for
// every bus's channel names and the local bus's socket paths.
func authGroup(t *testing.T, what string) string {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	return "auth-" + what + "-" + hex.EncodeToString(b[:])
}

// writeKeyFile writes keys, one a line, to a new file of mode 0600 in dir.
func writeKeyFile(t *testing.T, dir, name string, keys ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// e2eKey returns a new key from the built command's keygen.
func e2eKey(t *testing.T) string {
	t.Helper()
	code, stdout, stderr := runBin(t, "keygen")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}\n$`).MatchString(stdout) {
		t.Fatalf("keygen: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	return strings.TrimSpace(stdout)
}

// authMember is a "bellwether run" process of an attack test, with its
// status server.
type authMember struct {
	id   string
	p    *proc
	port int
}

func (m *authMember) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", m.port, path))
	if err != nil {
		t.Fatalf("%s: GET %s: %v", m.id, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the series name (with the reason label
// when reason is not "") on m's /metrics.
func (m *authMember) metric(t *testing.T, name, reason string) float64 {
	t.Helper()
	_, body := m.get(t, "/metrics")
	pat := `(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*\} (\S+)$`
	if reason != "" {
		pat = `(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*reason="` + regexp.QuoteMeta(reason) + `"[^}]*\} (\S+)$`
	}
	s := regexp.MustCompile(pat).FindStringSubmatch(body)
	if s == nil {
		t.Fatalf("%s: /metrics has no %s %s:\n%s", m.id, name, reason, body)
	}
	v, err := strconv.ParseFloat(s[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startMember starts "bellwether run" as id in group on bus with the
// timings and a status server; the job records its start in started.
func startMember(t *testing.T, bus, group, id, started string, timings []string, extra ...string) *authMember {
	t.Helper()
	m := &authMember{id: id, port: testenv.FreePort(t)}
	args := append([]string{"run", "--bus", bus, "--group", group, "--id", id, "--grace", "3s", "--log-level", "debug",
		"--http", fmt.Sprintf("127.0.0.1:%d", m.port)}, timings...)
	args = append(args, extra...)
	args = append(args, "--", "sh", "-c", jobScript, started)
	m.p = start(t, id, args...)
	waitFor(t, id+"'s status server", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", m.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return m
}

// groupView is what the group's members report: the sums, over the
// members given, of the changes of the known leader and the elections.
type groupView struct{ changes, elections float64 }

func view(t *testing.T, ms ...*authMember) groupView {
	t.Helper()
	var v groupView
	for _, m := range ms {
		v.changes += m.metric(t, "bellwether_leader_changes_total", "")
		v.elections += m.metric(t, "bellwether_elections_total", "")
	}
	return v
}

func rejected(t *testing.T, reason string, ms ...*authMember) float64 {
	t.Helper()
	var n float64
	for _, m := range ms {
		n += m.metric(t, "bellwether_events_rejected_total", reason)
	}
	return n
}

// forged events, as a hostile user writes them by hand.
func forged(action, id string) []byte {
	return []byte(`{"type":"leader","action":"` + action + `","clientId":"` + id + `"}`)
}

// settle is how long the tests watch a group after an attack: a follower
// acts on a forged current or withdraw at once, on a flood within an
// election timeout; over two heartbeat intervals more.
const settle = e2eElection + 3*authInterval

// The attack tests' timings: the e2e tests' election timeout, with more
// room for the bus to acknowledge a heartbeat (SendTimeout is the
// heartbeat interval), so that a loaded machine or server does not cost
// the leader its lease in the middle of a test that counts elections.
const (
	authInterval = 500 * time.Millisecond
	authTimeout  = 2500 * time.Millisecond
)

var authTimings = timingFlags(e2eElection, authInterval, authTimeout)

// TestE2EAuthAttacks: on each bus, a keyed group survives every attack
// with its one job undisturbed, and an unkeyed group (the control) does
// not survive the forged current and withdraw. A member with a wrong key
// joins the keyed group and stays out, and says why.
func TestE2EAuthAttacks(t *testing.T) {
	t.Parallel()
	binary(t)
	key, wrong := e2eKey(t), e2eKey(t)
	kdir := t.TempDir()
	keyPath := writeKeyFile(t, kdir, "group.key", key)
	wrongPath := writeKeyFile(t, kdir, "wrong.key", wrong)
	// The six groups run at once, in subtests run from goroutines of
	// their own rather than parallel ones, which -parallel (GOMAXPROCS)
	// would queue: they mostly wait.
	var wg sync.WaitGroup
	for _, bus := range authBuses(t) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			t.Run(bus.name+"/keyed", func(t *testing.T) { keyedAttacks(t, bus, keyPath, wrongPath, key, wrong) })
		}()
		go func() {
			defer wg.Done()
			t.Run(bus.name+"/unkeyed", func(t *testing.T) { unkeyedAttacks(t, bus) })
		}()
	}
	wg.Wait()
}

// undisturbed fails t unless the group still has exactly the one job
// want running, of starts jobs in all, and v0 is still the group's view.
func undisturbed(t *testing.T, attack, started string, starts int, want jobRecord, v0 groupView, ms ...*authMember) {
	t.Helper()
	jobs := readJobs(t, started)
	if len(jobs) != starts {
		t.Errorf("%s: %d job starts, want %d: %v", attack, len(jobs), starts, jobs)
	}
	if r := running(jobs); len(r) != 1 || r[0] != want {
		t.Errorf("%s: running jobs %v, want only %v", attack, r, want)
	}
	if v := view(t, ms...); v != v0 {
		t.Errorf("%s: the group's leader changes and elections went from %+v to %+v: the attack disturbed it", attack, v0, v)
	}
}

func keyedAttacks(t *testing.T, bus authBus, keyPath, wrongPath string, keys ...string) {
	group := authGroup(t, bus.name)
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	ms := map[string]*authMember{}
	for _, id := range []string{"m1", "m2", "m3"} {
		ms[id] = startMember(t, bus.url, group, id, started, authTimings, "--key-file", keyPath)
	}
	h := bus.hostile(t, group)
	defer h.close()
	tap := bus.tap(h)

	awaitJobs(t, started, 1, 10*time.Second, "first election")
	time.Sleep(2 * authInterval) // no second job follows
	jobs := readJobs(t, started)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs started, want 1: %v", len(jobs), jobs)
	}
	first := jobs[0]
	leader := ms[first.id]
	var others []*authMember
	for _, m := range ms {
		if m != leader {
			others = append(others, m)
		}
	}
	all := append([]*authMember{leader}, others...)
	if !strings.Contains(leader.p.stderr.String(), "keyed=true signing_key=") {
		t.Errorf("the joined line does not say the member is keyed:\n%s", leader.p.stderr)
	}

	// A member with a wrong key joins, with an id that sorts first.
	wrongM := startMember(t, bus.url, group, "m0", started, authTimings, "--key-file", wrongPath)

	// 1. A forged current from an id that sorts before every other.
	v0, u0 := view(t, all...), rejected(t, "unsigned", all...)
	for range 6 {
		h.publish(t, forged("current", "!"))
		time.Sleep(authInterval / 2)
	}
	time.Sleep(settle)
	undisturbed(t, "forged current from !", started, 1, first, v0, all...)

	// 2. A forged withdraw of the leader.
	for range 3 {
		h.publish(t, forged("withdraw", first.id))
		time.Sleep(authInterval / 2)
	}
	time.Sleep(settle)
	undisturbed(t, "forged withdraw of the leader", started, 1, first, v0, all...)

	// 3. A flood of forged requests, from 50 ids that sort first.
	t0 := time.Now()
	for i := range 2000 {
		h.publish(t, forged("request", fmt.Sprintf("!%02d", i%50)))
	}
	t.Logf("%s: 2000 forged requests published in %v", bus.name, time.Since(t0).Round(time.Millisecond))
	time.Sleep(settle)
	undisturbed(t, "flood of forged requests", started, 1, first, v0, all...)
	if u := rejected(t, "unsigned", all...); u < u0+2000 {
		t.Errorf("the members rejected %v unsigned messages, want the attacks' (above %v): did they arrive?", u, u0+2000)
	}

	// 4. The leader's captured signed heartbeat with its id changed.
	captured := tap.captured(first.id)
	if len(captured) < 3 {
		t.Fatalf("captured %d signed heartbeats of the leader, want several", len(captured))
	}
	b0 := rejected(t, "bad_mac", all...)
	for _, m := range captured[len(captured)-3:] {
		h.publish(t, bytes.Replace(m, []byte(`"clientId":"`+first.id+`"`), []byte(`"clientId":"!"`), 1))
		time.Sleep(authInterval / 2)
	}
	time.Sleep(settle)
	undisturbed(t, "signed heartbeat with its id changed", started, 1, first, v0, all...)
	if b := rejected(t, "bad_mac", all...); b < b0+3*3 {
		t.Errorf("bad_mac rejections went from %v to %v, want 3 more per member", b0, b)
	}

	// The wrong-key member ran no job and says why.
	code, body := wrongM.get(t, "/healthz")
	if code != 503 || !strings.Contains(body, "fail verification") {
		t.Errorf("/healthz of the wrong-key member: %d %q; want 503 and why", code, body)
	}
	if !strings.Contains(wrongM.p.stderr.String(), "hearing messages that fail verification") {
		t.Errorf("the wrong-key member's log does not say why it stands aside:\n%s", wrongM.p.stderr)
	}
	args := append([]string{"status", "--bus", bus.url, "--group", group, "--key-file", wrongPath}, authTimings...)
	code, stdout, stderr := runBin(t, args...)
	if code != exitNoLeader || stdout != "" || !strings.Contains(stderr, "messages that failed verification (unknown_key ") {
		t.Errorf("status with the wrong key: exit %d, stdout %q, stderr %q; want 3 and why", code, stdout, stderr)
	}
	args = append([]string{"status", "--bus", bus.url, "--group", group, "--key-file", keyPath}, authTimings...)
	if code, stdout, stderr := runBin(t, args...); code != 0 || stdout != first.id+"\n" {
		t.Errorf("status with the key: exit %d, stdout %q, stderr %q; want %s", code, stdout, stderr, first.id)
	}
	// A keyed group fails closed: for twice the heartbeat timeout after the
	// last message it could not verify that may come from a member it cannot
	// hear (here the forged unsigned ones), a follower stands aside from
	// elections and says so; the leader leads on.
	if code, body := leader.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz of the leader %s after the attacks: %d %q", leader.id, code, body)
	}
	time.Sleep(2*authTimeout + e2eMargin)
	for _, m := range all {
		if code, body := m.get(t, "/healthz"); code != 200 {
			t.Errorf("/healthz of %s, twice the heartbeat timeout after the attacks: %d %q", m.id, code, body)
		}
	}

	// 5. The leader leaves cleanly; the next takes over; a replay of the
	// first leader's captured heartbeats changes nothing.
	t0 = time.Now()
	syscall.Kill(leader.p.pid, syscall.SIGTERM)
	jobs, t1 := awaitJobs(t, started, 2, e2eElection+e2eMargin, "handover after a clean stop")
	t.Logf("%s: handover took %v (bound %v)", bus.name, t1.Sub(t0), e2eElection+e2eMargin)
	if code := leader.p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("the first leader exited %d, want 0", code)
	}
	second := jobs[1]
	if second.id == first.id || second.id == "m0" {
		t.Fatalf("the job went to %s", second.id)
	}
	time.Sleep(authTimeout)
	v1, r0 := view(t, others...), rejected(t, "replay", others...)
	undisturbed(t, "after the handover", started, 2, second, v1, others...)
	captured = tap.captured(first.id)
	for _, m := range captured[len(captured)-5:] {
		h.publish(t, m)
		time.Sleep(authInterval / 2)
	}
	time.Sleep(settle)
	undisturbed(t, "replay of the first leader's heartbeats after it left", started, 2, second, v1, others...)
	if r := rejected(t, "replay", others...); r < r0+5*2 {
		t.Errorf("replay rejections went from %v to %v, want 5 more per member", r0, r)
	}

	for _, j := range readJobs(t, started) {
		if j.id == "m0" {
			t.Errorf("the wrong-key member ran a job: %v", j)
		}
	}
	// No key shows: not in any log, output or status server's answer.
	var out strings.Builder
	for _, m := range append(all, wrongM) {
		out.WriteString(m.p.stdout.String() + m.p.stderr.String())
		if m != leader {
			for _, path := range []string{"/metrics", "/healthz", "/leader"} {
				_, body := m.get(t, path)
				out.WriteString(body)
			}
		}
	}
	noKey(t, "the members' logs and status servers", out.String()+stdout+stderr, keys...)
}

// unkeyedAttacks is the control: the forged current and the forged
// withdraw disturb an unkeyed group: its members follow the forger or
// elect, and the leader's job stops.
func unkeyedAttacks(t *testing.T, bus authBus) {
	group := authGroup(t, bus.name+"-plain")
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	var all []*authMember
	for _, id := range []string{"u1", "u2", "u3"} {
		all = append(all, startMember(t, bus.url, group, id, started, authTimings))
	}
	h := bus.hostile(t, group)
	defer h.close()

	// stable waits for one job running, the same for a heartbeat timeout.
	stable := func(why string) jobRecord {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		var last jobRecord
		var since time.Time
		for time.Now().Before(deadline) {
			r := running(readJobs(t, started))
			if len(r) == 1 && r[0] == last {
				if time.Since(since) >= authTimeout {
					return last
				}
			} else if len(r) == 1 {
				last, since = r[0], time.Now()
			} else {
				last = jobRecord{}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no one job ran steadily within 15s (%s): %v", why, readJobs(t, started))
		return jobRecord{}
	}
	// disturbed waits, while attack runs, for the group's view to change
	// and the job j to stop.
	disturbed := func(what string, j jobRecord, attack func()) {
		t.Helper()
		v0 := view(t, all...)
		done := make(chan struct{})
		go func() {
			defer close(done)
			attack()
		}()
		deadline := time.Now().Add(5 * time.Second)
		for processExists(j.pid) || view(t, all...) == v0 {
			if time.Now().After(deadline) {
				t.Errorf("control, %s: the unkeyed group was not disturbed (job %v running %v, view %+v to %+v): the attack is not one", what, j, processExists(j.pid), v0, view(t, all...))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		<-done
		t.Logf("control, %s: disturbed (view %+v to %+v, job %v stopped)", what, v0, view(t, all...), j)
	}

	j := stable("first election")
	disturbed("forged current from !", j, func() {
		for range 6 {
			h.publish(t, forged("current", "!"))
			time.Sleep(authInterval / 2)
		}
	})
	j = stable("after the forged current")
	disturbed("forged withdraw of the leader", j, func() {
		for range 3 {
			h.publish(t, forged("withdraw", j.id))
			time.Sleep(authInterval / 2)
		}
	})
}

// TestE2EKeyFileErrors: a loose key file is refused by run, watch and
// status with one line and exit 2, as ssh refuses a private key; --help
// shows no key; no error shows one.
func TestE2EKeyFileErrors(t *testing.T) {
	t.Parallel()
	binary(t)
	key := e2eKey(t)
	dir := t.TempDir()
	loose := writeKeyFile(t, dir, "loose.key", key)
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := writeKeyFile(t, dir, "bad.key", key[:30])
	for _, args := range [][]string{
		{"run", "--key-file", loose, "--", "true"},
		{"watch", "--key-file", loose},
		{"status", "--key-file", loose},
		{"run", "--key-file", bad, "--", "true"},
	} {
		code, stdout, stderr := runBin(t, args...)
		want := "bellwether " + args[0] + ": --key-file: key file " + loose + " is open to its group or others (mode 0644); make it readable by its owner only: chmod 600 " + loose + "\n"
		if args[2] == bad {
			want = "bellwether run: --key-file: keyring: line 1 is not a key: want the base64 text of at least 32 random bytes, as bellwether keygen prints (in " + bad + ")\n"
		}
		if code != exitUsage || stdout != "" || stderr != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and\n%s", args, code, stdout, stderr, want)
		}
		noKey(t, fmt.Sprint(args), stdout+stderr, key)
	}
	// --help, with the key file in the environment.
	good := writeKeyFile(t, dir, "good.key", key)
	for _, sub := range []string{"run", "watch", "status", "keygen"} {
		cmd := exec.Command(binary(t), sub, "--help")
		cmd.Env = append(cleanEnv(), "BELLWETHER_KEY_FILE="+good)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s --help: %v; stderr:\n%s", sub, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "--key-file") {
			t.Errorf("%s --help does not mention --key-file:\n%s", sub, stdout.String())
		}
		noKey(t, sub+" --help", stdout.String()+stderr.String(), key)
	}
}

// TestE2EKeyRotation rotates the key of a running group: three members
// are restarted one at a time through the key files old; old+new;
// new+old; new, and the job runs on exactly one member throughout, with
// no gap longer than a clean handover's, only when the leader restarts.
func TestE2EKeyRotation(t *testing.T) {
	t.Parallel()
	binary(t)
	oldKey, newKey := e2eKey(t), e2eKey(t)
	kdir := t.TempDir()
	files := []string{
		writeKeyFile(t, kdir, "old.key", oldKey),
		writeKeyFile(t, kdir, "old-new.key", oldKey, newKey),
		writeKeyFile(t, kdir, "new-old.key", newKey, oldKey),
		writeKeyFile(t, kdir, "new.key", newKey),
	}
	var steps [][]string
	for _, f := range files {
		steps = append(steps, []string{"--key-file", f})
	}
	bus, group, ms := rollingRestart(t, steps)

	// The group now signs with the new key only: the old key alone
	// verifies nothing, the new one finds the leader.
	newID := keyID(t, newKey)
	for id, m := range ms {
		if !strings.Contains(m.p.stderr.String(), "keyed=true signing_key="+newID+" verifying_keys="+newID+" ") {
			t.Errorf("%s's joined line does not name the new key alone:\n%s", id, m.p.stderr)
		}
	}
	code, stdout, stderr := runBin(t, append([]string{"status", "--bus", bus, "--group", group, "--key-file", files[0]}, e2eTimings...)...)
	if code != exitNoLeader || !strings.Contains(stderr, "(unknown_key ") {
		t.Errorf("status with the old key after the rotation: exit %d, stdout %q, stderr %q; want 3, unknown_key", code, stdout, stderr)
	}
	code, stdout, stderr = runBin(t, append([]string{"status", "--bus", bus, "--group", group, "--key-file", files[3]}, e2eTimings...)...)
	if code != 0 || !regexp.MustCompile(`^m\d\n$`).MatchString(stdout) {
		t.Errorf("status with the new key: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestE2EKeyRollout turns an unkeyed running group into a keyed one:
// three members restarted one at a time, unkeyed; then with the key and
// --accept-unsigned; then with the key alone. The job runs on exactly one
// member throughout, with no gap longer than a clean handover's.
func TestE2EKeyRollout(t *testing.T) {
	t.Parallel()
	binary(t)
	key := e2eKey(t)
	path := writeKeyFile(t, t.TempDir(), "group.key", key)
	bus, group, ms := rollingRestart(t, [][]string{nil, {"--key-file", path, "--accept-unsigned"}, {"--key-file", path}})
	for id, m := range ms {
		if !strings.Contains(m.p.stderr.String(), "keyed=true signing_key="+keyID(t, key)+" verifying_keys="+keyID(t, key)+" accept_unsigned=false") {
			t.Errorf("%s's joined line does not say it is keyed, without --accept-unsigned:\n%s", id, m.p.stderr)
		}
	}
	// The group is keyed now: an unkeyed member joining stays out.
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	plain := startMember(t, bus, group, "m0", started, e2eTimings)
	time.Sleep(2 * e2eTimeout)
	if jobs := readJobs(t, started); len(jobs) != 0 {
		t.Errorf("an unkeyed member ran a job in the keyed group: %v", jobs)
	}
	// It follows the leader, whose messages it reads (nothing is
	// encrypted), but the keyed members ignore it.
	if !regexp.MustCompile(`msg=leader .*leader=m[1-3]`).MatchString(plain.p.stderr.String()) {
		t.Errorf("the unkeyed member does not follow the keyed leader:\n%s", plain.p.stderr)
	}
}

// rollingRestart starts members m1, m2 and m3 on the local bus with the
// flags of steps[0], then, for each later step, restarts them one at a
// time with its flags, as an operator rolls a change through a running
// group: stop one, wait for the job to move if it ran there, start it
// again, wait until it is healthy. It checks that the job runs on exactly
// one member throughout, with no gap longer than a clean handover's and
// gaps only when the leader restarted, and returns the bus, the group and
// the members as they are at the end.
func rollingRestart(t *testing.T, steps [][]string) (bus, group string, ms map[string]*authMember) {
	t.Helper()
	bus = "local://" + t.TempDir()
	group = authGroup(t, "roll")
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	ids := []string{"m1", "m2", "m3"}
	ms = map[string]*authMember{}
	for _, id := range ids {
		ms[id] = startMember(t, bus, group, id, started, e2eTimings, steps[0]...)
	}
	awaitJobs(t, started, 1, 10*time.Second, "first election")

	// Sample the running jobs every 2ms: never two; gaps recorded.
	type gap struct{ from, to time.Time }
	var (
		mu      sync.Mutex
		gaps    []gap
		doubles []string
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var gapFrom time.Time
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			r := running(readJobs(t, started))
			now := time.Now()
			mu.Lock()
			switch {
			case len(r) > 1:
				doubles = append(doubles, fmt.Sprintf("%v at %v", r, now.Format(time.StampMicro)))
			case len(r) == 0 && gapFrom.IsZero():
				gapFrom = now
			case len(r) == 1 && !gapFrom.IsZero():
				gaps = append(gaps, gap{gapFrom, now})
				gapFrom = time.Time{}
			}
			mu.Unlock()
		}
	}()

	leaderRestarts := 0
	for n, flags := range steps[1:] {
		for _, id := range ids {
			old := ms[id]
			wasLeader := false
			if r := running(readJobs(t, started)); len(r) == 1 && r[0].id == id {
				leaderRestarts++
				wasLeader = true
			}
			syscall.Kill(old.p.pid, syscall.SIGTERM)
			if code := old.p.wait(t, 10*time.Second); code != 0 {
				t.Errorf("%s exited %d, want 0", id, code)
			}
			if wasLeader {
				// The clean handover: another member's job starts before
				// this one comes back (were it back during the election,
				// its smaller id would win it once it had listened for a
				// lease's length, a longer gap).
				awaitRunning(t, started)
			}
			m := startMember(t, bus, group, id, started, e2eTimings, flags...)
			ms[id] = m
			waitFor(t, id+" to hear the leader", func() bool {
				return regexp.MustCompile(`msg=leader .*leader=m\d`).MatchString(m.p.stderr.String())
			})
			awaitRunning(t, started)
			// As an operator waits for a restarted member to be healthy:
			// it stands for election once it listened for a lease's length.
			time.Sleep(e2eTimeout)
			// Every member verifies the others: none stands aside.
			for _, m := range ms {
				if code, body := m.get(t, "/healthz"); code != 200 {
					t.Errorf("step %d, after restarting %s with %v: /healthz of %s: %d %q", n+2, id, flags, m.id, code, body)
				}
			}
		}
	}
	close(stop)
	<-sampled

	mu.Lock()
	defer mu.Unlock()
	if len(doubles) > 0 {
		t.Errorf("two jobs ran at once: %v", doubles)
	}
	var longest time.Duration
	var lens []string
	for _, g := range gaps {
		longest = max(longest, g.to.Sub(g.from))
		lens = append(lens, g.to.Sub(g.from).Round(time.Millisecond).String())
	}
	jobs := readJobs(t, started)
	t.Logf("%d job starts %v, %d restarts of the leader, %d gaps (%s)", len(jobs), jobs, leaderRestarts, len(gaps), strings.Join(lens, ", "))
	if len(gaps) > leaderRestarts {
		t.Errorf("%d gaps in the job, more than the %d restarts of the leader", len(gaps), leaderRestarts)
	}
	if bound := e2eElection + e2eMargin; longest > bound {
		t.Errorf("the longest gap in the job lasted %v, over a clean handover's bound %v", longest, bound)
	}
	if r := running(jobs); len(r) != 1 {
		t.Errorf("at the end, running jobs %v, want one", r)
	}
	return bus, group, ms
}

// awaitRunning waits until one job runs, for up to a clean handover's
// bound.
func awaitRunning(t *testing.T, started string) {
	t.Helper()
	deadline := time.Now().Add(e2eElection + e2eMargin)
	for len(running(readJobs(t, started))) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no job running within %v: %v", e2eElection+e2eMargin, readJobs(t, started))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestE2EKeyRotationInPlace rotates the key of a running group without a
// restart: each member's key file is replaced (written anew, then renamed
// over the old) through the steps old+new; new+old; new, each step on
// every member before the next. Every member reloads its file within
// about a second; the one job runs throughout, never stopped, and no
// message is rejected.
func TestE2EKeyRotationInPlace(t *testing.T) {
	t.Parallel()
	binary(t)
	oldKey, newKey := e2eKey(t), e2eKey(t)
	kdir := t.TempDir()
	bus, group := "local://"+t.TempDir(), authGroup(t, "inplace")
	started := filepath.Join(t.TempDir(), "started")
	t.Cleanup(func() { killJobs(t, started) })
	ids := []string{"m1", "m2", "m3"}
	ms := map[string]*authMember{}
	for _, id := range ids {
		path := writeKeyFile(t, kdir, id+".key", oldKey)
		ms[id] = startMember(t, bus, group, id, started, authTimings, "--key-file", path)
	}
	awaitJobs(t, started, 1, 10*time.Second, "first election")
	for n, keys := range [][]string{{oldKey, newKey}, {newKey, oldKey}, {newKey}} {
		for _, id := range ids {
			tmp := writeKeyFile(t, kdir, id+".key.new", keys...)
			if err := os.Rename(tmp, filepath.Join(kdir, id+".key")); err != nil {
				t.Fatal(err)
			}
			// Bound: the poll (1s) and the load.
			waitFor(t, id+" to reload its key file", func() bool {
				return strings.Count(ms[id].p.stderr.String(), "key file reloaded") == n+1
			})
		}
	}
	time.Sleep(2 * authTimeout) // long enough for a lost lease to show
	jobs := readJobs(t, started)
	if r := running(jobs); len(jobs) != 1 || len(r) != 1 {
		t.Fatalf("jobs %v, running %v: want the first job alone, running throughout", jobs, r)
	}
	newID := keyID(t, newKey)
	for _, id := range ids {
		if !regexp.MustCompile(`msg="key file reloaded" .*signing_key=` + newID + ` verifying_keys=` + newID + "\n").MatchString(ms[id].p.stderr.String()) {
			t.Errorf("%s's last reload does not name the new key alone:\n%s", id, ms[id].p.stderr)
		}
	}
	for _, reason := range []string{"unknown_key", "bad_mac", "unsigned", "replay", "clock"} {
		if n := rejected(t, reason, ms["m1"], ms["m2"], ms["m3"]); n != 0 {
			t.Errorf("%v messages rejected as %s during the rotation", n, reason)
		}
	}
	// A broken key file is reported and the keys in use are kept.
	if err := os.WriteFile(filepath.Join(kdir, "m1.key"), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "m1 to report the broken key file", func() bool {
		return strings.Contains(ms["m1"].p.stderr.String(), "could not be loaded; keeping the keys in use")
	})
	for _, m := range ms {
		syscall.Kill(m.p.pid, syscall.SIGTERM)
	}
	for _, m := range ms {
		if code := m.p.wait(t, 10*time.Second); code != 0 {
			t.Errorf("%s exited %d, want 0", m.id, code)
		}
	}
}
