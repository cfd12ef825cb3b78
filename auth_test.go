package bellwether_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/transport/mem"
)

func key(t *testing.T, fill byte) []byte {
	t.Helper()
	return bytes.Repeat([]byte{fill}, bellwether.MinKeySize)
}

func ring(t *testing.T, keys ...[]byte) *bellwether.Keyring {
	t.Helper()
	r, err := bellwether.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKeyring(t *testing.T) {
	if _, err := bellwether.NewKeyring(); err == nil {
		t.Error("a keyring of no keys")
	}
	if _, err := bellwether.NewKeyring(make([]byte, bellwether.MinKeySize-1)); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a short key: %v", err)
	}
	if _, err := bellwether.NewKeyring(key(t, 1), key(t, 1)); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Errorf("a repeated key: %v", err)
	}
	k1, k2 := key(t, 1), key(t, 2)
	r := ring(t, k1, k2)
	if ids := r.KeyIDs(); len(ids) != 2 || len(ids[0]) != 16 || ids[0] == ids[1] {
		t.Errorf("KeyIDs = %q", ids)
	}
	// No verb of fmt shows a key.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		out := fmt.Sprintf(verb, r)
		for _, k := range [][]byte{k1, k2} {
			if strings.Contains(out, string(k)) || strings.Contains(out, base64.RawURLEncoding.EncodeToString(k)) || strings.Contains(out, fmt.Sprintf("%x", k[:8])) || strings.Contains(out, "1 1 1 1") {
				t.Errorf("%s shows a key: %s", verb, out)
			}
		}
	}

	g1, err := bellwether.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := bellwether.GenerateKey()
	if raw, err := base64.RawURLEncoding.DecodeString(g1); err != nil || len(raw) != bellwether.MinKeySize || g1 == g2 {
		t.Fatalf("GenerateKey = %q, %q: want distinct base64 of %d bytes", g1, g2, bellwether.MinKeySize)
	}
	parsed, err := bellwether.ParseKeyring([]byte("# rotation: new key first\n\n  " + g2 + "  \n" + g1 + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ids := parsed.KeyIDs(); len(ids) != 2 {
		t.Fatalf("parsed %d keys", len(ids))
	}
	secret := "not-a-key-but-a-secret-password"
	_, err = bellwether.ParseKeyring([]byte(g1 + "\n" + secret + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), secret) {
		t.Errorf("a bad line: %v; want the line number and not its content", err)
	}
}

func TestLoadKeyringRefusesALooseFile(t *testing.T) {
	dir := t.TempDir()
	k, _ := bellwether.GenerateKey()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte(k+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := bellwether.LoadKeyring(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) || strings.Contains(err.Error(), k) {
			t.Errorf("mode %04o: err = %v; want a refusal that says chmod 600 and shows no key", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := bellwether.LoadKeyring(path); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	if _, err := bellwether.LoadKeyring(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file loaded")
	}
}

func TestSignedMessages(t *testing.T) {
	r := ring(t, key(t, 1))
	sign := bellwether.NewSigner(r, "g")
	verify := bellwether.NewVerifier(r, "g")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ev := current("a", 1764547200000000, "10.0.0.1:80")
	msg := sign(ev, now)
	// A JSON object with the reference's fields and bellwether's, which
	// any member parses; only a keyed one checks the rest.
	if !bytes.HasPrefix(msg, []byte(`{"type":"leader","action":"current","clientId":"a","epoch":1764547200000000,"value":"10.0.0.1:80","kid":"`)) {
		t.Fatalf("signed message %s", msg)
	}
	if got, err := bellwether.ParseEvent(msg); err != nil || got != ev {
		t.Fatalf("ParseEvent of a signed message = %+v, %v", got, err)
	}
	if reason := verify(msg, now); reason != "" {
		t.Fatalf("verify = %q", reason)
	}
	if reason := verify(msg, now); reason != bellwether.ReasonReplay {
		t.Errorf("the same message again: %q, want replay", reason)
	}
	tamper := func(old, new string) []byte { return bytes.Replace(sign(ev, now), []byte(old), []byte(new), 1) }
	for _, c := range []struct {
		name   string
		msg    []byte
		reason string
	}{
		{"id changed", tamper(`"clientId":"a"`, `"clientId":"!"`), bellwether.ReasonBadMAC},
		{"action changed", tamper(`"current"`, `"withdraw"`), bellwether.ReasonBadMAC},
		{"epoch changed", tamper(`"epoch":1764547200000000`, `"epoch":1764547200000001`), bellwether.ReasonBadMAC},
		{"value changed", tamper(`10.0.0.1:80`, `10.6.6.6:80`), bellwether.ReasonBadMAC},
		{"counter changed", tamper(`"ctr":`, `"ctr":9`), bellwether.ReasonBadMAC},
		{"mac removed", tamper(`,"mac":"`, `,"xac":"`), bellwether.ReasonBadMAC},
		{"unsigned", bellwether.NewEvent(bellwether.ActionCurrent, "!").AppendJSON(nil), bellwether.ReasonUnsigned},
		{"another key", bellwether.NewSigner(ring(t, key(t, 2)), "g")(ev, now), bellwether.ReasonUnknownKey},
		{"another group", bellwether.NewSigner(r, "h")(ev, now), bellwether.ReasonGroup},
		{"clock ahead", bellwether.NewSigner(r, "g")(ev, now.Add(31*time.Second)), bellwether.ReasonClock},
		{"clock behind", bellwether.NewSigner(r, "g")(ev, now.Add(-31*time.Second)), bellwether.ReasonClock},
	} {
		if reason := verify(c.msg, now); reason != c.reason {
			t.Errorf("%s: %q, want %q (%s)", c.name, reason, c.reason, c.msg)
		}
	}
	// Reordered fields and spaces do not matter: the MAC covers the fields.
	if reason := verify(bytes.Replace(sign(ev, now), []byte(`{"type":"leader",`), []byte(`{ "type" : "leader" ,`), 1), now); reason != "" {
		t.Errorf("with white space: %q", reason)
	}
	// Within the window, skew is tolerated.
	if reason := verify(bellwether.NewSigner(r, "g")(ev, now.Add(29*time.Second)), now); reason != "" {
		t.Errorf("29s of skew: %q", reason)
	}
}

func TestAllocVerifyHeartbeat(t *testing.T) {
	r := ring(t, key(t, 1))
	sign := bellwether.NewSigner(r, "g")
	synctest.Test(t, func(t *testing.T) {
		msgs := make([][]byte, 200)
		for i := range msgs {
			msgs[i] = sign(current("leader-1", 1764547200000000, "10.0.0.1:80"), time.Now())
		}
		e := join(t, newBus(), "z", nil, func(c *bellwether.Config) { c.Keys = r })
		i := 0
		bellwether.ReceiveBytes(e, msgs[i]) // learns the leader, its value and its boot
		i++
		allocs := testing.AllocsPerRun(100, func() {
			bellwether.ReceiveBytes(e, msgs[i])
			i++
		})
		if s := e.Stats(); s.Rejected[bellwether.ReasonReplay]+s.Rejected[bellwether.ReasonBadMAC] != 0 || s.Received[bellwether.ActionCurrent] < 100 {
			t.Fatalf("stats %+v", s)
		}
		if allocs != 0 {
			t.Errorf("a signed heartbeat from the known leader allocates %v times, want 0", allocs)
		}
		closeAll(t, e)
	})
}

func BenchmarkVerifyHeartbeat(b *testing.B) {
	r, _ := bellwether.NewKeyring(bytes.Repeat([]byte{1}, 32))
	sign := bellwether.NewSigner(r, "g")
	verify := bellwether.NewVerifier(r, "g")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	msgs := make([][]byte, 4096)
	for i := range msgs {
		msgs[i] = sign(current("leader-1", 1764547200000000, "10.0.0.1:80"), now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(msgs) == 0 && i > 0 {
			b.StopTimer()
			verify = bellwether.NewVerifier(r, "g")
			b.StartTimer()
		}
		if reason := verify(msgs[i%len(msgs)], now); reason != "" {
			b.Fatal(reason)
		}
	}
}

func BenchmarkSignHeartbeat(b *testing.B) {
	r, _ := bellwether.NewKeyring(bytes.Repeat([]byte{1}, 32))
	sign := bellwether.NewSigner(r, "g")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ev := current("leader-1", 1764547200000000, "10.0.0.1:80")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sign(ev, now)
	}
}

// keyedGroup is a group of members a, b, c on one hub, each on a transport
// of its own, with the keyrings given, and a tap: a plain connection that
// hears everything and can inject anything, as a hostile publisher on a
// shared bus can.
type keyedGroup struct {
	hub  *mem.Hub
	tap  bellwether.Conn
	ms   map[string]*bellwether.Elector
	jobs *jobs

	mu    sync.Mutex
	heard [][]byte
	done  chan struct{}
}

func newKeyedGroup(t *testing.T, rings map[string]*bellwether.Keyring, mut ...func(id string, c *bellwether.Config)) *keyedGroup {
	t.Helper()
	g := &keyedGroup{hub: mem.NewHub(), ms: map[string]*bellwether.Elector{}, jobs: &jobs{}, done: make(chan struct{})}
	tap, err := g.hub.NewTransport().Join(context.Background(), "g")
	if err != nil {
		t.Fatal(err)
	}
	g.tap = tap
	go func() {
		defer close(g.done)
		for {
			msg, err := tap.Recv(context.Background())
			if err != nil {
				return
			}
			g.mu.Lock()
			g.heard = append(g.heard, msg)
			g.mu.Unlock()
		}
	}()
	for _, id := range []string{"a", "b", "c"} {
		r, ok := rings[id]
		if !ok {
			continue
		}
		g.ms[id] = join(t, plainBus{g.hub.NewTransport()}, id, nil, func(c *bellwether.Config) {
			c.Keys = r
			c.Callbacks.OnStartedLeading = g.jobs.job(id, 0)
			for _, f := range mut {
				f(id, c)
			}
		})
	}
	return g
}

func (g *keyedGroup) inject(t *testing.T, msg []byte) {
	t.Helper()
	if err := g.tap.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// last returns the last message heard from id with action a.
func (g *keyedGroup) last(id string, a bellwether.Action) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.heard) - 1; i >= 0; i-- {
		if e, err := bellwether.ParseEvent(g.heard[i]); err == nil && e.ClientID == id && e.Action == a {
			return g.heard[i]
		}
	}
	return nil
}

func (g *keyedGroup) leaders() []string {
	var l []string
	for id, e := range g.ms {
		if e.IsLeader() {
			l = append(l, id)
		}
	}
	return l
}

func (g *keyedGroup) rejected(reason string) uint64 {
	var n uint64
	for _, e := range g.ms {
		n += e.Stats().Rejected[reason]
	}
	return n
}

func (g *keyedGroup) close(t *testing.T) {
	t.Helper()
	for _, e := range g.ms {
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	g.tap.Close()
	<-g.done
}

// leave closes member id and takes it out of the group.
func (g *keyedGroup) leave(t *testing.T, id string) {
	t.Helper()
	if err := g.ms[id].Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	delete(g.ms, id)
}

// neverTwoLeaders checks, every second for a minute, that at most one
// member leads; when says in what case, for the failure.
func (g *keyedGroup) neverTwoLeaders(t *testing.T, when string) {
	t.Helper()
	for i := 0; i < 60; i++ {
		time.Sleep(time.Second)
		synctest.Wait()
		if l := g.leaders(); len(l) > 1 {
			t.Fatalf("two leaders%s: %v; jobs %v", when, l, g.jobs)
		}
	}
}

func (g *keyedGroup) wantLeader(t *testing.T, step, leader string) {
	t.Helper()
	if l := g.leaders(); len(l) != 1 || l[0] != leader {
		t.Fatalf("%s: leaders %v, want %s; jobs: %v", step, l, leader, g.jobs)
	}
	for id, e := range g.ms {
		if s := e.Status(); s.Leader != leader {
			t.Fatalf("%s: %s follows %q, want %s", step, id, s.Leader, leader)
		}
	}
}

// TestKeyedGroupSurvivesForgeries: against a keyed group, a publisher
// without the key cannot become leader (a forged current from an id that
// sorts first), depose the leader (a forged withdrawal), start elections
// (forged requests), or pass a signed message with its id changed; each
// is dropped and counted. Without keys, the same forgeries take the group
// over, which is what the keys prevent.
func TestKeyedGroupSurvivesForgeries(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := ring(t, key(t, 1))
				rings := map[string]*bellwether.Keyring{"a": r, "b": r, "c": r}
				if !keyed {
					rings = map[string]*bellwether.Keyring{"a": nil, "b": nil, "c": nil}
				}
				g := newKeyedGroup(t, rings)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				g.wantLeader(t, "start-up", "a")
				elections := g.ms["b"].Stats().Elections

				var hijacked []string
				// A forged current from an id that sorts first.
				for i := 0; i < 5; i++ {
					g.inject(t, []byte(`{"type":"leader","action":"current","clientId":"!"}`))
					time.Sleep(time.Second)
				}
				synctest.Wait()
				if s := g.ms["b"].Status(); s.Leader != "a" {
					hijacked = append(hijacked, "forged current: b follows "+s.Leader)
				}
				time.Sleep(20 * time.Second)
				synctest.Wait()
				// A forged withdrawal of the leader.
				g.inject(t, []byte(`{"type":"leader","action":"withdraw","clientId":"a"}`))
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
				if s := g.ms["c"].Status(); s.Leader != "a" {
					hijacked = append(hijacked, "forged withdraw: c follows "+fmt.Sprintf("%q", s.Leader))
				}
				time.Sleep(20 * time.Second)
				synctest.Wait()
				// Forged requests from ids that know no leader.
				for i := 0; i < 50; i++ {
					g.inject(t, []byte(fmt.Sprintf(`{"type":"leader","action":"request","clientId":"x%d"}`, i)))
				}
				// The leader's real heartbeat with its id changed to one
				// that sorts first.
				hb := g.last("a", bellwether.ActionCurrent)
				g.inject(t, bytes.Replace(hb, []byte(`"clientId":"a"`), []byte(`"clientId":"!"`), 1))
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if s := g.ms["b"].Status(); s.Leader != "a" {
					hijacked = append(hijacked, "changed id: b follows "+s.Leader)
				}
				if g.ms["b"].Stats().Elections != elections {
					hijacked = append(hijacked, "forged requests started elections")
				}

				if keyed {
					if len(hijacked) > 0 {
						t.Fatalf("a keyed group was disturbed: %v", hijacked)
					}
					g.wantLeader(t, "after the attacks", "a")
					if g.jobs.count("a") != 1 || len(g.jobs.runs) != 1 {
						t.Fatalf("jobs %v: want a's alone, undisturbed", g.jobs)
					}
					if n := g.rejected(bellwether.ReasonUnsigned); n < 3*(5+1+50) {
						t.Errorf("unsigned rejected %d times, want every forgery at every member", n)
					}
					if n := g.rejected(bellwether.ReasonBadMAC); n != 3 {
						t.Errorf("bad MACs rejected %d times, want 3", n)
					}
					// The leader leads on; the followers, hearing messages
					// they cannot verify, would not start a new leadership
					// now (a keyed group fails closed), and say so.
					if err := g.ms["a"].Health(); err != nil {
						t.Errorf("the leader is unhealthy under forgeries: %v", err)
					}
					for _, id := range []string{"b", "c"} {
						if err := g.ms[id].Health(); err == nil || !strings.Contains(err.Error(), "unsigned") {
							t.Errorf("%s under forgeries: Health %v, want the unsigned messages named", id, err)
						}
					}
					// Once the forgeries stop, they stand again.
					time.Sleep(20 * time.Second)
					synctest.Wait()
					for id, e := range g.ms {
						if err := e.Health(); err != nil {
							t.Errorf("%s unhealthy after the forgeries stopped: %v", id, err)
						}
					}
				} else if len(hijacked) < 3 {
					t.Fatalf("without keys the forgeries should take over; only %v", hijacked)
				}
				g.close(t)
			})
		})
	}
}

// TestKeyedGroupRefusesAReplayedHeartbeat: a's heartbeat, captured, is
// replayed after a left and b took over: nobody follows a.
func TestKeyedGroupRefusesAReplayedHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := ring(t, key(t, 1))
		g := newKeyedGroup(t, map[string]*bellwether.Keyring{"a": r, "b": r, "c": r})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "start-up", "a")
		hb := g.last("a", bellwether.ActionCurrent)
		g.leave(t, "a")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "after a left", "b")
		// At once (the counter is old) and later (the timestamp is too).
		for _, wait := range []time.Duration{0, time.Minute} {
			time.Sleep(wait)
			g.inject(t, hb)
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			g.wantLeader(t, fmt.Sprintf("replayed %v later", wait), "b")
		}
		if n := g.rejected(bellwether.ReasonReplay); n != 4 {
			t.Errorf("replays rejected %d times, want 4", n)
		}
		g.close(t)
	})
}

// TestKeyedMemberWithTheWrongKeyStaysOut: a member whose key is wrong (a
// typo in its key file) hears the group but can verify nothing: it does
// not stand, so it starts no second job, and says why in Health. The same
// for a keyed member among unkeyed ones.
func TestKeyedMemberWithTheWrongKeyStaysOut(t *testing.T) {
	for _, c := range []struct {
		name   string
		others *bellwether.Keyring
	}{{"wrong key", nil}, {"others unkeyed", nil}} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				right, wrong := ring(t, key(t, 1)), ring(t, key(t, 2))
				others := right
				if c.name == "others unkeyed" {
					others = nil
				}
				// b and c start and elect; a, with the smallest id and the
				// wrong key, joins later.
				g := newKeyedGroup(t, map[string]*bellwether.Keyring{"b": others, "c": others})
				time.Sleep(10 * time.Second)
				synctest.Wait()
				g.ms["a"] = join(t, plainBus{g.hub.NewTransport()}, "a", nil, func(cfg *bellwether.Config) {
					cfg.Keys = wrong
					cfg.Callbacks.OnStartedLeading = g.jobs.job("a", 0)
				})
				time.Sleep(time.Minute)
				synctest.Wait()
				if g.jobs.count("a") != 0 || g.ms["a"].IsLeader() {
					t.Fatalf("the member with the wrong key led: jobs %v", g.jobs)
				}
				if l := g.leaders(); len(l) != 1 || l[0] != "b" {
					t.Fatalf("leaders %v, want b alone", l)
				}
				err := g.ms["a"].Health()
				if err == nil || !strings.Contains(err.Error(), "fail verification") {
					t.Fatalf("Health of the member with the wrong key = %v", err)
				}
				g.close(t)
			})
		})
	}
}

// TestKeyRotationWithoutDowntime walks a group through a rotation, one
// member at a time, as docs/security.md describes: add the new key second,
// move it first, remove the old. At every step, every pair of keyrings
// that can meet verifies the other's messages, one job runs throughout,
// and nothing is rejected.
func TestKeyRotationWithoutDowntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old, new := key(t, 1), key(t, 2)
		steps := []*bellwether.Keyring{ring(t, old), ring(t, old, new), ring(t, new, old), ring(t, new)}
		rings := map[string]*bellwether.Keyring{"a": steps[0], "b": steps[0], "c": steps[0]}
		g := newKeyedGroup(t, rings)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "start", "a")
		for step := 1; step < len(steps); step++ {
			// Restart the followers first, then the leader: each restart is a
			// clean shutdown and a join.
			for _, id := range []string{"c", "b", "a"} {
				if err := g.ms[id].Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				g.ms[id] = join(t, plainBus{g.hub.NewTransport()}, id, nil, func(c *bellwether.Config) {
					c.Keys = steps[step]
					c.Callbacks.OnStartedLeading = g.jobs.job(id, 0)
				})
				time.Sleep(15 * time.Second)
				synctest.Wait()
				if l := g.leaders(); len(l) != 1 {
					t.Fatalf("step %d, %s restarted: leaders %v", step, id, l)
				}
				if ov := g.jobs.overlap(); ov != 0 {
					t.Fatalf("step %d: jobs overlapped %v", step, ov)
				}
			}
		}
		for _, reason := range []string{bellwether.ReasonUnknownKey, bellwether.ReasonBadMAC, bellwether.ReasonUnsigned, bellwether.ReasonReplay} {
			if n := g.rejected(reason); n != 0 {
				t.Errorf("%d messages rejected as %s during the rotation", n, reason)
			}
		}
		// Keyrings two steps apart do not verify each other: the rotation
		// needs its middle step.
		if reason := bellwether.NewVerifier(steps[3], "g")(bellwether.NewSigner(steps[0], "g")(current("a", 1, ""), time.Now()), time.Now()); reason != bellwether.ReasonUnknownKey {
			t.Errorf("old keyring's message at the last step: %q", reason)
		}
		g.close(t)
	})
}

// TestRollingChangeToAKeyedGroup: unkeyed members and keyed members with
// AcceptUnsigned share a group with no rejection; a strict keyed member
// refuses the unkeyed members' messages.
func TestRollingChangeToAKeyedGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := ring(t, key(t, 1))
		g := newKeyedGroup(t, map[string]*bellwether.Keyring{"a": nil, "b": r, "c": r}, func(id string, c *bellwether.Config) {
			c.AcceptUnsigned = c.Keys != nil
		})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "mixed keyed and unkeyed", "a")
		if n := g.rejected(bellwether.ReasonUnsigned); n != 0 {
			t.Fatalf("%d unsigned messages rejected with AcceptUnsigned", n)
		}
		// Unkeyed members send exactly the reference's format.
		if hb := g.last("a", bellwether.ActionCurrent); bytes.Contains(hb, []byte(`"mac"`)) {
			t.Fatalf("an unkeyed member signed: %s", hb)
		}
		if hb := g.last("b", bellwether.ActionCurrent); hb != nil {
			t.Fatalf("b sent a current: %s", hb)
		}
		g.close(t)
	})
	if _, err := bellwether.Join(context.Background(), newBus(), bellwether.Config{ID: "a", Group: "g", AcceptUnsigned: true}); err == nil {
		t.Error("AcceptUnsigned without Keys was accepted")
	}
}

// TestKeyedMemberWithASteppedClock: elections use the monotonic clock and
// a running member's counter proves its messages fresh, so a wall clock
// stepped under a running member, by any amount, changes nothing; a step
// within MaxClockSkew is tolerated even for a member not heard before.
// Beyond it, a member whose first messages carry the stepped clock cannot
// be verified, and hears others it cannot verify: both sides stand aside
// (no second job; Health says why) until the clocks agree again.
func TestKeyedMemberWithASteppedClock(t *testing.T) {
	r := ring(t, key(t, 1))
	rings := map[string]*bellwether.Keyring{"a": r, "b": r, "c": r}
	for _, c := range []struct {
		name string
		step time.Duration
		who  string // whose clock steps
	}{
		{"leader forward 10m", 10 * time.Minute, "a"},
		{"leader back 10m", -10 * time.Minute, "a"},
		{"follower forward 20s", 20 * time.Second, "b"},
		{"follower back 20s", -20 * time.Second, "b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newKeyedGroup(t, rings)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				g.wantLeader(t, "start", "a")
				bellwether.StepWallClock(g.ms[c.who], c.step)
				time.Sleep(time.Minute)
				synctest.Wait()
				g.wantLeader(t, "after the step", "a")
				// The leader leaves; b and c elect, b's first messages
				// carrying its clock.
				g.leave(t, "a")
				time.Sleep(10 * time.Second)
				synctest.Wait()
				g.wantLeader(t, "after a left", "b")
				if n := g.rejected(bellwether.ReasonClock); n != 0 {
					t.Errorf("%d messages rejected for their clock", n)
				}
				if ov := g.jobs.overlap(); ov != 0 {
					t.Fatalf("jobs overlapped %v", ov)
				}
				g.close(t)
			})
		})
	}
	t.Run("restarted 2m ahead", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newKeyedGroup(t, rings)
			time.Sleep(10 * time.Second)
			synctest.Wait()
			g.wantLeader(t, "start", "a")
			// b restarts on a host whose clock is 2m ahead: a new boot,
			// whose timestamps the others check, and which checks theirs.
			if err := g.ms["b"].Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			g.ms["b"] = join(t, plainBus{g.hub.NewTransport()}, "b", nil, func(c *bellwether.Config) {
				c.Keys = r
				c.Callbacks.OnStartedLeading = g.jobs.job("b", 0)
			})
			bellwether.StepWallClock(g.ms["b"], 2*time.Minute)
			time.Sleep(10 * time.Second)
			synctest.Wait()
			g.leave(t, "a")
			g.neverTwoLeaders(t, " with a clock 2m ahead")
			if ov := g.jobs.overlap(); ov != 0 || g.jobs.count("b") != 0 {
				t.Fatalf("jobs %v (overlap %v): b, which cannot be verified, must not lead", g.jobs, ov)
			}
			if g.rejected(bellwether.ReasonClock) == 0 {
				t.Fatalf("no message rejected for its clock: leaders %v", g.leaders())
			}
			if err := g.ms["b"].Health(); err == nil || !strings.Contains(err.Error(), "fail verification") {
				t.Errorf("Health of b, whose clock is off: %v", err)
			}
			// The clock is put right: b hears the group again.
			bellwether.StepWallClock(g.ms["b"], -2*time.Minute)
			time.Sleep(time.Minute)
			synctest.Wait()
			g.wantLeader(t, "after the clock was put right", "c")
			if err := g.ms["b"].Health(); err != nil {
				t.Errorf("b unhealthy after its clock was put right: %v", err)
			}
			g.close(t)
		})
	})
}

// TestKeyRotationOutOfOrderFailsClosed: a member that moved the new key
// first before every member had added it signs what the others cannot
// verify, while it verifies theirs. It must not lead beside their leader:
// the others, hearing a key they lack, start no leadership, and it, not
// heard, may lead alone, or nobody leads; never two. The same for a keyed
// member among members that still send unsigned messages.
func TestKeyRotationOutOfOrderFailsClosed(t *testing.T) {
	for _, c := range []struct {
		name    string
		others  func(t *testing.T) *bellwether.Keyring
		lateOne func(t *testing.T) *bellwether.Keyring
	}{
		{"new key first too early", func(t *testing.T) *bellwether.Keyring { return ring(t, key(t, 1)) }, func(t *testing.T) *bellwether.Keyring { return ring(t, key(t, 2), key(t, 1)) }},
		{"keyed among unkeyed", func(*testing.T) *bellwether.Keyring { return nil }, func(t *testing.T) *bellwether.Keyring { return ring(t, key(t, 1)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newKeyedGroup(t, map[string]*bellwether.Keyring{"b": c.others(t), "c": c.others(t)})
				time.Sleep(10 * time.Second)
				synctest.Wait()
				g.ms["a"] = join(t, plainBus{g.hub.NewTransport()}, "a", nil, func(cfg *bellwether.Config) {
					cfg.Keys = c.lateOne(t)
					cfg.Callbacks.OnStartedLeading = g.jobs.job("a", 0)
				})
				time.Sleep(10 * time.Second)
				synctest.Wait()
				// b, the leader, leaves: a and c elect without hearing each
				// other both ways.
				g.leave(t, "b")
				g.neverTwoLeaders(t, "")
				if ov := g.jobs.overlap(); ov != 0 {
					t.Fatalf("jobs overlapped %v: %v", ov, g.jobs)
				}
				g.close(t)
			})
		})
	}
}

// TestKeyRotationInPlaceWithNoJobGap rotates a running group's key with
// SetKeys, one step on every member before the next: the leader's one job
// runs throughout, undisturbed, and nothing is rejected.
func TestKeyRotationInPlaceWithNoJobGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old, new := key(t, 1), key(t, 2)
		steps := []*bellwether.Keyring{ring(t, old), ring(t, old, new), ring(t, new, old), ring(t, new)}
		g := newKeyedGroup(t, map[string]*bellwether.Keyring{"a": steps[0], "b": steps[0], "c": steps[0]})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "start", "a")
		for step := 1; step < len(steps); step++ {
			for _, id := range []string{"c", "a", "b"} {
				if err := g.ms[id].SetKeys(steps[step]); err != nil {
					t.Fatal(err)
				}
				time.Sleep(3 * time.Second)
				synctest.Wait()
			}
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		g.wantLeader(t, "after the rotation", "a")
		if len(g.jobs.runs) != 1 || !g.jobs.runs[0].end.IsZero() {
			t.Fatalf("jobs %v: want a's one job, running throughout", g.jobs)
		}
		for _, reason := range []string{bellwether.ReasonUnknownKey, bellwether.ReasonBadMAC, bellwether.ReasonUnsigned, bellwether.ReasonReplay, bellwether.ReasonClock} {
			if n := g.rejected(reason); n != 0 {
				t.Errorf("%d messages rejected as %s during the rotation", n, reason)
			}
		}
		// The rotation is real: the old key alone no longer verifies what
		// a member signs now.
		hb := g.last("a", bellwether.ActionCurrent)
		if reason := bellwether.NewVerifier(steps[0], "g")(hb, time.Now()); reason != bellwether.ReasonUnknownKey {
			t.Errorf("a heartbeat after the rotation, checked with the old key: %q", reason)
		}
		z := join(t, newBus(), "z", nil)
		if err := z.SetKeys(steps[0]); err == nil {
			t.Error("SetKeys on an unkeyed member succeeded")
		}
		closeAll(t, z)
		if err := g.ms["a"].SetKeys(nil); err == nil {
			t.Error("SetKeys(nil) succeeded")
		}
		g.close(t)
	})
}
