package pubsub

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
)

// fakeLayer is a Layer whose Subscribe waits for release (or its ctx),
// and which records the calls it gets.
type fakeLayer struct {
	mu       sync.Mutex
	calls    []string
	release  chan error // Subscribe takes one outcome from it
	bus      *Bus
	pubErr   error
	unsubErr error
	block    bool // Publish waits for its ctx
}

func (l *fakeLayer) note(s string) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.mu.Unlock()
}

func (l *fakeLayer) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *fakeLayer) Subscribe(ctx context.Context, ch string) error {
	l.note("sub " + ch)
	select {
	case err := <-l.release:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *fakeLayer) Unsubscribe(ch string) error {
	l.note("unsub " + ch)
	return l.unsubErr
}

func (l *fakeLayer) Publish(ctx context.Context, ch string, m *Message) error {
	if l.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if l.pubErr != nil {
		return l.pubErr
	}
	m.Sending(0)
	l.bus.Deliver(ch, m.Data, Origin{Sender: m.Sender})
	return nil
}

func newBus(t *testing.T, byContent bool) (*Bus, *fakeLayer) {
	l := &fakeLayer{release: make(chan error, 8)}
	b := New(Config{Name: "fake", Layer: l, RecvBuffer: 8, EchoByContent: byContent, EchoRecord: 8, EchoWindow: time.Second,
		MaxMessageSize: func() int { return 100 }})
	l.bus = b
	t.Cleanup(func() { b.Close() })
	return b, l
}

// TestConcurrentJoinerOutlivesFirstJoinersContext: the first joiner's ctx
// ends while it subscribes; a second joiner, waiting with a healthy ctx,
// subscribes under its own ctx instead of getting the first one's
// context.Canceled.
func TestConcurrentJoinerOutlivesFirstJoinersContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, l := newBus(t, false)
		ctx1, cancel1 := context.WithCancel(context.Background())
		err1 := make(chan error, 1)
		go func() {
			_, err := b.join(ctx1, "ch")
			err1 <- err
		}()
		synctest.Wait() // the first joiner is in Subscribe
		type result struct {
			m   *Member
			err error
		}
		res2 := make(chan result, 1)
		go func() {
			m, err := b.join(context.Background(), "ch")
			res2 <- result{m, err}
		}()
		synctest.Wait() // the second waits for the first's subscription
		cancel1()
		if err := <-err1; !errors.Is(err, context.Canceled) {
			t.Fatalf("first Join: %v; want context.Canceled", err)
		}
		synctest.Wait() // the second subscribes itself
		l.release <- nil
		r := <-res2
		if r.err != nil {
			t.Fatalf("second Join with a healthy ctx failed: %v", r.err)
		}
		if got, want := l.Calls(), []string{"sub ch", "sub ch"}; !slices.Equal(got, want) {
			t.Fatalf("layer calls %q; want %q", got, want)
		}
		r.m.Close()
		if got := l.Calls(); got[len(got)-1] != "unsub ch" {
			t.Fatalf("last member's Close: calls %q; want a final unsub", got)
		}
	})
}

// joinTwice starts two Joins of "ch" and waits until both block.
func joinTwice(b *Bus) <-chan error {
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.join(context.Background(), "ch")
			errs <- err
		}()
	}
	synctest.Wait()
	return errs
}

// TestJoinersShareAFailure: a subscription that fails for a reason other
// than the joiner's ctx fails every joiner waiting for it.
func TestJoinersShareAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, l := newBus(t, false)
		errs := joinTwice(b)
		boom := errors.New("boom")
		l.release <- boom
		for range 2 {
			if err := <-errs; !errors.Is(err, boom) {
				t.Fatalf("Join: %v; want boom", err)
			}
		}
		if got := l.Calls(); len(got) != 1 {
			t.Fatalf("layer calls %q; want one subscribe", got)
		}
		// The next Join tries afresh.
		l.release <- nil
		m, err := b.join(context.Background(), "ch")
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
	})
}

// TestUnsubscribeOrder: the channel is unsubscribed when its last member
// leaves, and a later Join subscribes it again.
func TestUnsubscribeOrder(t *testing.T) {
	b, l := newBus(t, false)
	l.release <- nil
	m1, err := b.join(context.Background(), "ch")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := b.join(context.Background(), "ch")
	if err != nil {
		t.Fatal(err)
	}
	m1.Close()
	if got := l.Calls(); !slices.Equal(got, []string{"sub ch"}) {
		t.Fatalf("calls %q after one of two left", got)
	}
	m2.Close()
	m2.Close()
	l.release <- nil
	m3, err := b.join(context.Background(), "ch")
	if err != nil {
		t.Fatal(err)
	}
	m3.Close()
	if got, want := l.Calls(), []string{"sub ch", "unsub ch", "sub ch", "unsub ch"}; !slices.Equal(got, want) {
		t.Fatalf("calls %q; want %q", got, want)
	}
}

func recvNow(t *testing.T, m *Member) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	msg, err := m.Recv(ctx)
	if err != nil {
		return "", false
	}
	return string(msg), true
}

// TestEchoes: a member never hears itself; the others hear it once, with
// the sender id and with content digests.
func TestEchoes(t *testing.T) {
	for _, byContent := range []bool{false, true} {
		b, l := newBus(t, byContent)
		l.release <- nil
		a, _ := b.join(context.Background(), "ch")
		c, _ := b.join(context.Background(), "ch")
		if err := a.Send(context.Background(), []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if got, ok := recvNow(t, c); !ok || got != "hi" {
			t.Fatalf("byContent=%v: other member got %q, %v", byContent, got, ok)
		}
		if got, ok := recvNow(t, a); ok {
			t.Fatalf("byContent=%v: sender heard itself: %q", byContent, got)
		}
		// A foreign message (no sender id, not sent here) reaches both.
		b.Deliver("ch", []byte("foreign"), Origin{})
		for _, m := range []*Member{a, c} {
			if got, ok := recvNow(t, m); !ok || got != "foreign" {
				t.Fatalf("byContent=%v: foreign message: %q, %v", byContent, got, ok)
			}
		}
		// A duplicate of a's message, as QoS 1 may deliver, still never
		// reaches a when the bus carries the sender.
		if !byContent {
			b.Deliver("ch", []byte("hi"), Origin{Sender: a.ID()})
			if got, ok := recvNow(t, a); ok {
				t.Fatalf("sender heard its duplicate: %q", got)
			}
		}
	}
}

// TestSendErrors: Send wraps ctx's error when ctx ends first, returns
// ErrClosed after Close, and returns the layer's error as it is.
func TestSendErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, l := newBus(t, false)
		l.release <- nil
		m, err := b.join(context.Background(), "ch")
		if err != nil {
			t.Fatal(err)
		}
		l.block = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := m.Send(ctx, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send with a silent bus: %v; want DeadlineExceeded", err)
		}
		start := time.Now()
		if err := m.Send(context.Background(), []byte("x")); err == nil || time.Since(start) != 10*time.Second {
			t.Fatalf("Send without a deadline to a silent bus: %v after %v; want an error after AckTimeout", err, time.Since(start))
		}
		done := make(chan error, 1)
		go func() { done <- m.Send(context.Background(), []byte("x")) }()
		synctest.Wait()
		b.Close()
		if err := <-done; !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Send under way at Close: %v; want ErrClosed", err)
		}
		if _, err := b.join(context.Background(), "ch"); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Join after Close: %v", err)
		}
		if _, err := m.Recv(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	})
}

// TestCloseEndsJoin: a Join waiting for the server ends at Close.
func TestCloseEndsJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBus(t, false)
		errs := joinTwice(b)
		b.Close()
		for range 2 {
			if err := <-errs; !errors.Is(err, bellwether.ErrClosed) {
				t.Fatalf("Join: %v; want ErrClosed", err)
			}
		}
	})
}

// TestUnsubscribeFailureIsLogged: a failed unsubscribe reaches the
// injected logger, with the bus's prefix and the channel.
func TestUnsubscribeFailureIsLogged(t *testing.T) {
	var buf bytes.Buffer
	l := &fakeLayer{release: make(chan error, 1), unsubErr: errors.New("broken pipe")}
	b := New(Config{Name: "fake", Layer: l, RecvBuffer: 8, MaxMessageSize: func() int { return 100 },
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	l.bus = b
	defer b.Close()
	l.release <- nil
	m, err := b.join(context.Background(), "ch")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if got := buf.String(); !bytes.Contains(buf.Bytes(), []byte("bellwether/fake: unsubscribing failed")) || !bytes.Contains(buf.Bytes(), []byte("channel=ch")) || !bytes.Contains(buf.Bytes(), []byte("broken pipe")) {
		t.Fatalf("log: %q", got)
	}
}

func TestQueueKeepsOrder(t *testing.T) {
	woken := 0
	q := Queue{Wake: func() { woken++ }}
	if _, ok := q.Next(); ok {
		t.Fatal("Next of an empty queue reports a change")
	}
	result := q.Subscribe("a")
	q.Unsubscribe("b")
	q.Subscribe("c")
	if woken != 3 || q.Len() != 3 {
		t.Fatalf("after three pushes: woken %d times, Len %d; want 3, 3", woken, q.Len())
	}
	first, ok := q.Next()
	if !ok || !first.Subscribe || first.Channel != "a" {
		t.Fatalf("Next = %+v, %v; want the subscription to a", first, ok)
	}
	first.Done(errors.New("refused"))
	if err := <-result; err == nil || err.Error() != "refused" {
		t.Fatalf("the subscriber got %v; want refused", err)
	}
	rest := q.Take()
	if len(rest) != 2 || rest[0].Channel != "b" || rest[0].Subscribe || rest[0].Result != nil || rest[1].Channel != "c" {
		t.Fatalf("Take = %+v; want the unsubscription of b, then c", rest)
	}
	rest[0].Done(nil) // nobody waits: no block, no panic
	q.Unsubscribe("d")
	q.Requeue(rest[1:])
	var got []string
	for c, ok := q.Next(); ok; c, ok = q.Next() {
		got = append(got, c.Channel)
	}
	if !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("after Requeue the queue ran %q; want c before d", got)
	}
}

// A subscribed group holds no channel for joiners to wait on: it is made
// when one waits, during a subscription, and given back once it ends.
func TestGroupAtRestHoldsNoChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, l := newBus(t, false)
		changed := func() bool {
			b.mu.RLock()
			defer b.mu.RUnlock()
			return b.groups["g"].changed != nil
		}
		joined := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := b.join(context.Background(), "g")
				joined <- err
			}()
		}
		synctest.Wait() // one subscribes, the other waits for it
		if !changed() {
			t.Fatal("a joiner waits, and the group has no channel to wait on")
		}
		l.release <- nil
		for range 2 {
			if err := <-joined; err != nil {
				t.Fatal(err)
			}
		}
		if changed() {
			t.Error("subscribed, the group keeps its channel")
		}
	})
}

// countingCtx is a parent context that counts the children that
// registered with it (through its AfterFunc, as the context package does
// for a parent of its own type) and have not let go of it.
type countingCtx struct {
	context.Context
	done chan struct{}
	mu   sync.Mutex
	live int
}

func (c *countingCtx) Done() <-chan struct{} { return c.done }

func (c *countingCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	c.live++
	c.mu.Unlock()
	var once sync.Once
	return func() bool {
		once.Do(func() {
			c.mu.Lock()
			c.live--
			c.mu.Unlock()
		})
		return true
	}
}

func (c *countingCtx) registered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// A Send with a context that can be cancelled but has no deadline leaves
// nothing registered with that context once it returns: a caller that
// sends many times under one long-lived context does not grow it.
func TestSendLetsGoOfItsContext(t *testing.T) {
	b, l := newBus(t, false)
	l.release <- nil
	m, err := b.join(context.Background(), "ch")
	if err != nil {
		t.Fatal(err)
	}
	parent := &countingCtx{Context: context.Background(), done: make(chan struct{})}
	for range 100 {
		if err := m.Send(parent, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := parent.registered(); n != 0 {
		t.Errorf("after 100 Sends, %d contexts are still registered with the caller's", n)
	}
}
