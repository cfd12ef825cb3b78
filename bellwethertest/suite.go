package bellwethertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bellwether-go/bellwether"
)

// TestTransport runs the conformance suite on a transport.
//
// Each call of newTransport must return a new Transport, independent of
// the others (as if in another process) but on the same bus, and register
// its own cleanup with t.Cleanup; the suite also closes some of them
// itself, so Close must be idempotent. Subtests run one at a time, each on
// groups of its own with random names, so a shared bus may carry other
// traffic.
//
// The suite checks that a message reaches every other member of its group
// byte for byte and never its sender, on one Transport or several; that
// one sender's messages arrive in order; that groups are isolated and a
// group can be joined again after its last member left; that a member
// that stops reading or crashes blocks no one; that Send and Recv are safe
// from many goroutines; the size limit; Recv's handling of its context
// and of Close; and that Close releases every goroutine and file
// descriptor. It assumes a healthy bus that loses nothing when at most a
// few dozen messages are in flight.
//
// Options declare what the bus promises beyond that: [RecvBuffer] its
// receive buffer, [TextOnly] that it carries only text, [WithServer] a
// real server the suite may take down.
func TestTransport(t *testing.T, newTransport func(t *testing.T) bellwether.Transport, opts ...Option) {
	s := &suite{newTransport: newTransport, config: newConfig(opts)}
	t.Run("Broadcast", s.broadcast)
	t.Run("Order", s.order)
	t.Run("Ownership", s.ownership)
	t.Run("GroupsIsolated", s.groupsIsolated)
	t.Run("GroupNames", s.groupNames)
	t.Run("Rejoin", s.rejoin)
	t.Run("MessageSize", s.messageSize)
	if s.textOnly {
		t.Run("TextOnly", s.refusesNonText)
	}
	if s.recvBuffer > 0 {
		t.Run("BufferDropsOldest", s.bufferDropsOldest)
	}
	t.Run("StuckAndCrashedMembers", s.stuckMembers)
	t.Run("Concurrent", s.concurrent)
	t.Run("RecvContext", s.recvContext)
	t.Run("CloseConn", s.closeConn)
	t.Run("CloseTransport", s.closeTransport)
	t.Run("NoLeaks", s.noLeaks)
	if s.server != nil {
		s.outageTests(t)
	}
}

type suite struct {
	newTransport func(t *testing.T) bellwether.Transport
	config
}

func (s *suite) transport(t *testing.T) bellwether.Transport {
	t.Helper()
	tr := s.newTransport(t)
	if tr == nil {
		t.Fatal("newTransport returned nil")
	}
	return tr
}

// pair joins one member on each of two new transports to a new group
// named from prefix.
func (s *suite) pair(t *testing.T, prefix string) (a, b bellwether.Conn) {
	g := UniqueGroup(t, prefix)
	return Join(t, s.transport(t), g), Join(t, s.transport(t), g)
}

// recvFor is Recv with a description of what the test waits for.
func recvFor(t *testing.T, c bellwether.Conn, what string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	msg, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return msg
}

func tag(t *testing.T) string {
	return UniqueGroup(t, "m")[2:]
}

// broadcast: every other member hears each message, the sender never does.
func (s *suite) broadcast(t *testing.T) {
	t1, t2, t3 := s.transport(t), s.transport(t), s.transport(t)
	g := UniqueGroup(t, "broadcast")
	names := []string{"transport 1 conn a", "transport 1 conn b", "transport 2", "transport 3"}
	members := []bellwether.Conn{Join(t, t1, g), Join(t, t1, g), Join(t, t2, g), Join(t, t3, g)}
	id := tag(t)
	type origin struct{ round, from int }
	sent := map[string]origin{}
	got := make([]map[string]bool, len(members))
	for j := range got {
		got[j] = map[string]bool{}
	}
	// Round 2 is sent only after everyone has heard round 1, so a message
	// that came back to its sender in round 1 would be read before the
	// round-2 messages: the round-2 reads prove round 1 clean.
	for round := 1; round <= 2; round++ {
		msgs := make([][]byte, len(members))
		for i, c := range members {
			msg := fmt.Appendf(nil, "bellwethertest %s round %d from %s\n", id, round, names[i])
			msg = append(msg, s.everyByte()...)
			msgs[i] = msg
			sent[string(msg)] = origin{round, i}
			Send(t, c, msg)
		}
		for j, c := range members {
			missing := map[string]bool{}
			for i, m := range msgs {
				if i != j {
					missing[string(m)] = true
				}
			}
			for len(missing) > 0 {
				var want []string
				for m := range missing {
					want = append(want, fmt.Sprintf("round %d from %s", sent[m].round, names[sent[m].from]))
				}
				sort.Strings(want)
				msg := recvFor(t, c, fmt.Sprintf("%s to hear %s", names[j], strings.Join(want, ", ")))
				o, ok := sent[string(msg)]
				switch {
				case !ok:
					t.Fatalf("%s received %s, which is no message sent (corrupted?)", names[j], Show(msg))
				case o.from == j:
					t.Fatalf("%s received its own message of round %d", names[j], o.round)
				case got[j][string(msg)]:
					t.Fatalf("%s received the message of round %d from %s twice", names[j], o.round, names[o.from])
				}
				got[j][string(msg)] = true
				delete(missing, string(msg))
			}
		}
	}
	// Nothing more comes, round 2's own messages included.
	ExpectSilence(t, members...)
}

// everyByte is what the bus must carry unchanged: every byte value, or
// for a text-only bus every ASCII character but NUL and runes of two, three
// and four bytes.
func (s *suite) everyByte() []byte {
	var b []byte
	if s.textOnly {
		for c := 1; c < 128; c++ {
			b = append(b, byte(c))
		}
		return append(b, "é€☃𝄞\u00a0\ufeff"...)
	}
	for c := range 256 {
		b = append(b, byte(c))
	}
	return b
}

// order: one sender's messages arrive in the order sent, bytes intact.
func (s *suite) order(t *testing.T) {
	t1, t2 := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "order")
	a, same, other := Join(t, t1, g), Join(t, t1, g), Join(t, t2, g)
	// A prefix that a careless transport might mangle.
	odd := "\x00\xff"
	if s.textOnly {
		odd = "é☃\t\"'\\"
	}
	const n = 50
	for i := range n {
		Send(t, a, fmt.Appendf(nil, "%s%d", odd, i))
	}
	for _, c := range []bellwether.Conn{same, other} {
		for i := range n {
			ExpectRecv(t, c, fmt.Appendf(nil, "%s%d", odd, i))
		}
	}
}

// ownership: Send does not retain msg; each Recv returns a slice of its own.
func (s *suite) ownership(t *testing.T) {
	ta, tb := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "ownership")
	sender := Join(t, ta, g)
	r1, r2 := Join(t, tb, g), Join(t, tb, g)

	buf := []byte("ownership: the original bytes of message one")
	orig := bytes.Clone(buf)
	Send(t, sender, buf)
	for i := range buf {
		buf[i] = 'X'
	}
	got1 := recvFor(t, r1, "message one on the first member")
	if !bytes.Equal(got1, orig) {
		t.Fatalf("received %s, want %s: Send must not retain the caller's slice", Show(got1), Show(orig))
	}
	for i := range got1 {
		got1[i] = 'Y'
	}
	got2 := recvFor(t, r2, "message one on the second member")
	if !bytes.Equal(got2, orig) {
		t.Fatalf("second member received %s, want %s: members must not share the returned slice", Show(got2), Show(orig))
	}
	two := []byte("ownership: message two, which must not overwrite message one")
	Send(t, sender, two)
	if got := recvFor(t, r1, "message two"); !bytes.Equal(got, two) {
		t.Fatalf("received %s, want %s", Show(got), Show(two))
	}
	if !bytes.Equal(got1, bytes.Repeat([]byte{'Y'}, len(got1))) {
		t.Fatalf("a later Recv overwrote the slice an earlier Recv returned: now %s", Show(got1))
	}
}

// groupsIsolated: names that are prefixes of one another, on shared transports.
func (s *suite) groupsIsolated(t *testing.T) {
	t1, t2 := s.transport(t), s.transport(t)
	base := UniqueGroup(t, "iso")
	// Names that would clash under a careless mapping to the bus's own
	// names, and two of the longest length.
	long := base + "." + strings.Repeat("L", bellwether.MaxGroupLength-len(base)-1)
	groups := []string{base, base + ".x", base + "-x", base + "_x", base + "x", base + ".x.y", long, long[:len(long)-1] + "M"}
	senders := make([]bellwether.Conn, len(groups))
	receivers := make([]bellwether.Conn, len(groups))
	for i, g := range groups {
		senders[i] = Join(t, t1, g)
		receivers[i] = Join(t, t2, g)
	}
	// A message that leaked into another group would be queued before
	// that group's own next message, which is what each read expects.
	for step := 1; step <= 2; step++ {
		for i, g := range groups {
			msg := fmt.Appendf(nil, "isolation step %d to group %s", step, g)
			Send(t, senders[i], msg)
			if got := recvFor(t, receivers[i], fmt.Sprintf("step %d in group %s", step, g)); !bytes.Equal(got, msg) {
				t.Fatalf("member of group %q received %s, want %s", g, Show(got), Show(msg))
			}
		}
	}
	for i, g := range groups {
		reply := fmt.Appendf(nil, "isolation reply in group %s", g)
		Send(t, receivers[i], reply)
		if got := recvFor(t, senders[i], "reply in group "+g); !bytes.Equal(got, reply) {
			t.Fatalf("member of group %q received %s, want %s", g, Show(got), Show(reply))
		}
	}
	ExpectSilence(t, append(senders, receivers...)...)
}

// groupNames: invalid names are refused; the longest valid name works.
func (s *suite) groupNames(t *testing.T) {
	ta, tb := s.transport(t), s.transport(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for _, g := range []string{"", "a/b", "a b", "../up", "é", "a*", "a>", "a\"b", strings.Repeat("a", bellwether.MaxGroupLength+1)} {
		c, err := ta.Join(ctx, g)
		if err == nil {
			c.Close()
			t.Errorf("Join(%q) succeeded; want an error for an invalid group name", g)
		}
	}
	long := UniqueGroup(t, "long")
	long += strings.Repeat("L", bellwether.MaxGroupLength-len(long))
	a, b := Join(t, ta, long), Join(t, tb, long)
	other := Join(t, tb, long[:len(long)-1])
	pass(t, a, b, "a message in a group with the longest name")
	// The group one byte shorter is another group: its message, had it
	// leaked, would come before the next one.
	Send(t, other, []byte("in the group one byte shorter"))
	pass(t, a, b, "the next message in the group with the longest name")
}

// messageSize: the largest message arrives intact; a larger one is refused.
func (s *suite) messageSize(t *testing.T) {
	a, b := s.pair(t, "size")
	limit := a.MaxMessageSize()
	if limit < 1024 {
		t.Fatalf("MaxMessageSize() = %d; want at least 1 KiB, room for a leader event with a long id", limit)
	}
	// A message of the largest size, unless that is too large to allocate.
	n := limit
	if limit > maxAlloc {
		n = 64 << 10
	}
	big := make([]byte, n)
	for i := range big {
		big[i] = byte(i*7 + i/251)
		if s.textOnly {
			big[i] = 'a' + byte(i%26)
		}
	}
	Send(t, a, big)
	ExpectRecv(t, b, big)

	if limit > maxAlloc {
		t.Logf("MaxMessageSize() = %d; not allocating a larger message", limit)
		return
	}
	over := make([]byte, limit+1)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	err := a.Send(ctx, over)
	if !errors.Is(err, bellwether.ErrMessageTooLarge) {
		t.Fatalf("Send of %d bytes (MaxMessageSize()+1) = %v; want an error wrapping ErrMessageTooLarge", len(over), err)
	}
	// Had the large message gone out, it would arrive before this one.
	marker := []byte("size: the message after the one too large")
	Send(t, a, marker)
	if got := recvFor(t, b, "the message after the one too large"); !bytes.Equal(got, marker) {
		t.Fatalf("received %s, want %s: a message over the limit must not be delivered", Show(got), Show(marker))
	}
}

// maxAlloc is the largest message the suite allocates.
const maxAlloc = 64 << 20

// refusesNonText: a bus that carries only text refuses what is not
// (a NUL, invalid UTF-8, a rune cut short) with an error, and sends
// nothing of it, rather than mangling it on the way.
func (s *suite) refusesNonText(t *testing.T) {
	a, b := s.pair(t, "text")
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for _, msg := range []string{"a\x00b", "ok\xffno", "\xe2\x98", "\xed\xa0\x80 a surrogate"} {
		if err := a.Send(ctx, []byte(msg)); err == nil {
			t.Errorf("Send(%q) = nil on a text-only bus; want an error", msg)
		} else if errors.Is(err, bellwether.ErrClosed) || errors.Is(err, bellwether.ErrMessageTooLarge) {
			t.Errorf("Send(%q) = %v; want an error saying it is not text", msg, err)
		}
	}
	// Nothing went out: the next message is the first b gets.
	pass(t, a, b, "ünïcödé ☃ text")
}

// rejoin: a group whose last member left can be joined again, on the
// same Transport, and works.
func (s *suite) rejoin(t *testing.T) {
	tr, other := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "rejoin")
	for round := range 3 {
		a, b := Join(t, tr, g), Join(t, tr, g)
		c := Join(t, other, g)
		msg := fmt.Appendf(nil, "rejoin round %d", round)
		Send(t, c, msg)
		ExpectRecv(t, a, msg)
		ExpectRecv(t, b, msg)
		for _, m := range []bellwether.Conn{a, b, c} {
			if err := m.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}
}

// bufferDropsOldest: a member that does not read keeps the newest
// RecvBuffer messages, counting the older ones it dropped.
func (s *suite) bufferDropsOldest(t *testing.T) {
	g := UniqueGroup(t, "buffer")
	a, b := Join(t, s.transport(t), g), Join(t, s.transport(t), g)
	counter, ok := b.(interface{ Dropped() uint64 })
	if !ok {
		t.Fatalf("%T has no Dropped() uint64 method, which RecvBuffer says it has", b)
	}
	const extra = 10
	n := s.recvBuffer + extra
	for i := range n {
		Send(t, a, []byte(strconv.Itoa(i)))
	}
	deadline := time.Now().Add(2 * Timeout)
	for counter.Dropped() < extra {
		if time.Now().After(deadline) {
			t.Fatalf("Dropped() = %d %v after %d messages to a buffer of %d; want %d", counter.Dropped(), 2*Timeout, n, s.recvBuffer, extra)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := extra; i < n; i++ {
		ExpectRecv(t, b, []byte(strconv.Itoa(i)))
	}
	ExpectSilence(t, b)
	if d := counter.Dropped(); d != extra {
		t.Fatalf("Dropped() = %d; want %d", d, extra)
	}
}

// stuckMembers: a member that never reads, or whose transport is gone,
// neither blocks Send nor stops others hearing.
func (s *suite) stuckMembers(t *testing.T) {
	ta, tr, ts, tc := s.transport(t), s.transport(t), s.transport(t), s.transport(t)
	g := UniqueGroup(t, "stuck")
	a := Join(t, ta, g)
	r := Join(t, tr, g)
	Join(t, ts, g) // never reads
	Join(t, ta, g) // never reads, on the sender's own transport
	Join(t, tc, g)
	if err := tc.Close(); err != nil {
		t.Fatalf("Close of the crashing transport: %v", err)
	}
	const total, window = 1000, 8
	id := tag(t)
	start := time.Now()
	var slowest time.Duration
	for sent := 0; sent < total; {
		batch := map[string]bool{}
		for k := 0; k < window && sent < total; k++ {
			msg := fmt.Appendf(nil, "stuck %s %d", id, sent)
			sent++
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			t0 := time.Now()
			err := a.Send(ctx, msg)
			d := time.Since(t0)
			cancel()
			if err != nil {
				t.Fatalf("Send %d with a stuck and a crashed member: %v", sent, err)
			}
			slowest = max(slowest, d)
			batch[string(msg)] = true
		}
		for len(batch) > 0 {
			msg := recvFor(t, r, fmt.Sprintf("message %d of %d while other members are stuck", sent-len(batch)+1, total))
			if !batch[string(msg)] {
				t.Fatalf("received %s, not one of the batch in flight", Show(msg))
			}
			delete(batch, string(msg))
		}
	}
	if slowest > time.Second {
		t.Errorf("the slowest Send took %v with a stuck member; Send must not wait for it", slowest)
	}
	t.Logf("%d messages in %v with one member stuck and one crashed; slowest Send %v", total, time.Since(start).Round(time.Millisecond), slowest)
}

// concurrent: Send, Recv, Join and Close from many goroutines at once.
func (s *suite) concurrent(t *testing.T) {
	ts, tr, tr2 := s.transport(t), s.transport(t), s.transport(t)
	g := UniqueGroup(t, "concurrent")
	s1, s2 := Join(t, ts, g), Join(t, ts, g)
	r, r2 := Join(t, tr, g), Join(t, tr2, g)
	id := tag(t)
	const perConn, perSender = 4, 25
	const total = 2 * perConn * perSender

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		seen2   = map[string]int{}
		all2    = make(chan struct{})
		acks    [2 * perConn]chan struct{}
		readers sync.WaitGroup
	)
	for k := range acks {
		acks[k] = make(chan struct{}, perSender)
	}
	parse := func(msg []byte) (conn string, sender int, ok bool) {
		var tagGot string
		var n int
		_, err := fmt.Sscanf(string(msg), "concurrent %s %s %d %d", &tagGot, &conn, &sender, &n)
		return conn, sender, err == nil && tagGot == id && sender >= 0 && sender < len(acks)
	}
	reader := func(c bellwether.Conn, name string) {
		defer readers.Done()
		for {
			msg, err := c.Recv(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("%s: Recv: %v", name, err)
				}
				return
			}
			conn, sender, ok := parse(msg)
			if !ok {
				t.Errorf("%s received %s, which is no message sent", name, Show(msg))
				continue
			}
			switch name {
			case "s1", "s2":
				if conn == name {
					t.Errorf("%s received its own message %s", name, Show(msg))
				}
			case "r":
				mu.Lock()
				seen[string(msg)]++
				dup := seen[string(msg)] > 1
				mu.Unlock()
				if dup {
					t.Errorf("r received %s twice", Show(msg))
				} else {
					acks[sender] <- struct{}{}
				}
			case "r2":
				mu.Lock()
				seen2[string(msg)]++
				if seen2[string(msg)] > 1 {
					t.Errorf("r2 received %s twice", Show(msg))
				}
				if len(seen2) == total {
					close(all2)
				}
				mu.Unlock()
			}
		}
	}
	for range 3 {
		readers.Add(1)
		go reader(r, "r")
	}
	for range 2 {
		readers.Add(1)
		go reader(r2, "r2")
	}
	readers.Add(2)
	go reader(s1, "s1")
	go reader(s2, "s2")

	var senders sync.WaitGroup
	for k := range acks {
		c, name := s1, "s1"
		if k >= perConn {
			c, name = s2, "s2"
		}
		senders.Add(1)
		go func() {
			defer senders.Done()
			for n := range perSender {
				_ = c.MaxMessageSize()
				msg := fmt.Appendf(nil, "concurrent %s %s %d %d", id, name, k, n)
				sctx, scancel := context.WithTimeout(ctx, Timeout)
				err := c.Send(sctx, msg)
				scancel()
				if err != nil {
					t.Errorf("%s sender %d: Send: %v", name, k, err)
					return
				}
				// One message in flight per sender keeps the bus's
				// buffers from overflowing.
				select {
				case <-acks[k]:
				case <-time.After(Timeout):
					t.Errorf("%s sender %d: message %d not received within %v", name, k, n, Timeout)
					return
				}
			}
		}()
	}
	// Members join and leave while the others talk.
	senders.Add(1)
	go func() {
		defer senders.Done()
		for range 20 {
			jctx, jcancel := context.WithTimeout(ctx, Timeout)
			c, err := tr.Join(jctx, g)
			jcancel()
			if err != nil {
				t.Errorf("Join during traffic: %v", err)
				return
			}
			_ = c.MaxMessageSize()
			if err := c.Close(); err != nil {
				t.Errorf("Close during traffic: %v", err)
			}
		}
	}()
	senders.Wait()
	if !t.Failed() {
		select {
		case <-all2:
		case <-time.After(Timeout):
			mu.Lock()
			t.Errorf("r2 heard %d of %d messages", len(seen2), total)
			mu.Unlock()
		}
	}
	cancel()
	readers.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != total && !t.Failed() {
		t.Errorf("r heard %d of %d messages", len(seen), total)
	}
}

// recvContext: Recv returns ctx.Err() when ctx ends, and the Conn goes on
// working, also for concurrent Recv calls whose contexts did not end.
func (s *suite) recvContext(t *testing.T) {
	a, b := s.pair(t, "ctx")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv with a cancelled context = %v, want context.Canceled", err)
	}
	const wait = 50 * time.Millisecond
	ctx, cancel = context.WithTimeout(context.Background(), wait)
	start := time.Now()
	_, err := b.Recv(ctx)
	elapsed := time.Since(start)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv past its deadline = %v, want context.DeadlineExceeded", err)
	}
	if elapsed > Timeout {
		t.Fatalf("Recv with a %v deadline returned after %v", wait, elapsed)
	}

	// Three Recv calls whose contexts get cancelled while a fourth waits
	// on: the fourth must still get the next message.
	type result struct {
		msg []byte
		err error
	}
	patient := make(chan result, 1)
	pctx, pcancel := context.WithTimeout(context.Background(), Timeout)
	defer pcancel()
	go func() {
		msg, err := b.Recv(pctx)
		patient <- result{msg, err}
	}()
	impatient := make(chan error, 3)
	ictx, icancel := context.WithCancel(context.Background())
	for range 3 {
		go func() {
			_, err := b.Recv(ictx)
			impatient <- err
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the Recv calls block
	icancel()
	for range 3 {
		select {
		case err := <-impatient:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Recv whose context was cancelled while it waited = %v, want context.Canceled", err)
			}
		case <-time.After(Timeout):
			t.Fatalf("Recv did not return within %v of its context's cancellation", Timeout)
		}
	}
	msg := []byte("ctx: for the Recv whose context is still live")
	Send(t, a, msg)
	res := <-patient
	if res.err != nil || !bytes.Equal(res.msg, msg) {
		t.Fatalf("waiting Recv = %s, %v; want %s", Show(res.msg), res.err, Show(msg))
	}
	pass(t, a, b, "ctx: and the Conn goes on working")
}

// waitClosed runs Recv on c in a goroutine and returns a function that
// checks it returned ErrClosed.
func waitClosed(t *testing.T, c bellwether.Conn, what string) func() {
	t.Helper()
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	go func() {
		_, err := c.Recv(ctx)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Recv block
	return func() {
		t.Helper()
		defer cancel()
		select {
		case err := <-done:
			if !errors.Is(err, bellwether.ErrClosed) {
				t.Fatalf("Recv blocked during %s returned %v, want ErrClosed", what, err)
			}
		case <-time.After(Timeout):
			t.Fatalf("Recv blocked during %s did not return within %v", what, Timeout)
		}
	}
}

// closeTwice closes with close, which must close c, and then again: both
// calls return nil; what names close in failures.
func closeTwice(t *testing.T, c bellwether.Conn, what string, close func() error) {
	t.Helper()
	check := waitClosed(t, c, what)
	if err := close(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	check()
	if err := close(); err != nil {
		t.Fatalf("second %s = %v, want nil", what, err)
	}
}

// expectClosed fails the test unless Send and Recv on c return ErrClosed;
// when says when in failures.
func expectClosed(t *testing.T, ctx context.Context, c bellwether.Conn, when string) {
	t.Helper()
	if err := c.Send(ctx, []byte("x")); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Send %s = %v, want ErrClosed", when, err)
	}
	if _, err := c.Recv(ctx); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Recv %s = %v, want ErrClosed", when, err)
	}
}

func (s *suite) closeConn(t *testing.T) {
	ta, tb := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "closeconn")
	a, b, b2 := Join(t, ta, g), Join(t, tb, g), Join(t, tb, g)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()

	closeTwice(t, b, "Conn.Close", b.Close)
	expectClosed(t, ctx, b, "after Conn.Close")
	pass(t, a, b2, "closeconn: to the member that stayed")
	pass(t, b2, a, "closeconn: and back")
}

func (s *suite) closeTransport(t *testing.T) {
	ta, tb := s.transport(t), s.transport(t)
	g := UniqueGroup(t, "closetransport")
	a, a2 := Join(t, ta, g), Join(t, ta, g)
	b, b2 := Join(t, tb, g), Join(t, tb, g)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()

	closeTwice(t, b, "Transport.Close", tb.Close)
	if c, err := tb.Join(ctx, g); !errors.Is(err, bellwether.ErrClosed) {
		if err == nil {
			c.Close()
		}
		t.Fatalf("Join after Transport.Close = %v, want ErrClosed", err)
	}
	expectClosed(t, ctx, b2, "on a Conn of a closed Transport")
	if err := b2.Close(); err != nil {
		t.Fatalf("Close of a Conn of a closed Transport = %v, want nil", err)
	}
	msg := []byte("closetransport: between the members left")
	Send(t, a, msg)
	ExpectRecv(t, a2, msg)
}

// noLeaks: after Close, no goroutine and no file descriptor is left.
func (s *suite) noLeaks(t *testing.T) {
	cycle := func(n int) {
		ta, tb := s.transport(t), s.transport(t)
		g := UniqueGroup(t, "leaks")
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		join := func(tr bellwether.Transport) bellwether.Conn {
			c, err := tr.Join(ctx, g)
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			return c
		}
		a, a2, b := join(ta), join(ta), join(tb)
		// A Recv blocked at Close must not leave its goroutine behind.
		blocked := make(chan error, 1)
		go func() {
			_, err := a2.Recv(context.Background())
			blocked <- err
		}()
		msg := fmt.Appendf(nil, "leaks cycle %d", n)
		Send(t, a, msg)
		ExpectRecv(t, b, msg)
		Send(t, b, msg)
		ExpectRecv(t, a, msg)
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := ta.Close(); err != nil {
			t.Fatalf("Transport.Close: %v", err)
		}
		if err := tb.Close(); err != nil {
			t.Fatalf("Transport.Close: %v", err)
		}
		select {
		case <-blocked:
		case <-time.After(Timeout):
			t.Fatalf("Recv blocked at Transport.Close did not return within %v", Timeout)
		}
	}
	cycle(0) // creates whatever the runtime or the bus's client keeps for good
	opts := goleak.IgnoreCurrent()
	before, fdsOK := openFiles()
	for n := 1; n <= 3; n++ {
		cycle(n)
	}
	goleak.VerifyNone(t, opts)
	if !fdsOK {
		return
	}
	var leaked []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		after, _ := openFiles()
		leaked = leaked[:0]
		for fd, target := range after {
			if _, ok := before[fd]; !ok {
				leaked = append(leaked, fd+" -> "+target)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(leaked) > 0 {
		sort.Strings(leaked)
		t.Errorf("file descriptors left open after Close: %s", strings.Join(leaked, ", "))
	}
}

// openFiles lists the process's open file descriptors, where the system
// tells (Linux's /proc/self/fd).
func openFiles() (map[string]string, bool) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, false
	}
	fds := make(map[string]string, len(entries))
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the descriptor ReadDir itself used
		}
		fds[e.Name()] = target
	}
	return fds, true
}
