package inbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
)

func TestDropsOldestWhenFull(t *testing.T) {
	b := New(4)
	for i := 0; i < 10; i++ {
		b.Push([]byte(fmt.Sprint(i)))
	}
	if b.Dropped() != 6 {
		t.Fatalf("dropped %d, want 6", b.Dropped())
	}
	for want := 6; want < 10; want++ {
		msg, err := b.Pop(context.Background())
		if err != nil || string(msg) != fmt.Sprint(want) {
			t.Fatalf("Pop = %q, %v; want %d", msg, err, want)
		}
	}
}

func TestPopWaitsAndHonoursContext(t *testing.T) {
	synctest.Test(t, testPopWaits)
}

func testPopWaits(t *testing.T) {
	b := New(8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Pop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pop on an empty inbox = %v", err)
	}
	got := make(chan string, 1)
	go func() {
		msg, _ := b.Pop(context.Background())
		got <- string(msg)
	}()
	b.Push([]byte("x"))
	if m := <-got; m != "x" {
		t.Fatalf("waiting Pop got %q", m)
	}
}

func TestClose(t *testing.T) { synctest.Test(t, testClose) }

func testClose(t *testing.T) {
	b := New(8)
	b.Push([]byte("lost"))
	done := make(chan error, 1)
	go func() {
		b2 := New(1)
		go func() { time.Sleep(5 * time.Millisecond); b2.Close() }()
		_, err := b2.Pop(context.Background())
		done <- err
	}()
	if !b.Close() || b.Close() {
		t.Fatal("Close must report true once, then false")
	}
	if !b.IsClosed() {
		t.Fatal("not closed")
	}
	if _, err := b.Pop(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Pop after Close = %v", err)
	}
	if err := <-done; !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("a waiting Pop woke with %v", err)
	}
	b.Push([]byte("ignored")) // never panics after Close
}

func TestFailDeliversWhatIsBufferedThenTheError(t *testing.T) { synctest.Test(t, testFail) }

func testFail(t *testing.T) {
	b := New(8)
	b.Push([]byte("a"))
	boom := errors.New("socket broke")
	b.Fail(boom)
	b.Fail(errors.New("a later failure is not kept"))
	if msg, err := b.Pop(context.Background()); err != nil || string(msg) != "a" {
		t.Fatalf("Pop = %q, %v; want the buffered message first", msg, err)
	}
	// Every waiter learns of the failure.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.Pop(context.Background())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("Pop after the failure = %v", err)
		}
	}
	b.Close()
	if _, err := b.Pop(context.Background()); !errors.Is(err, bellwether.ErrClosed) {
		t.Fatalf("Pop after Close = %v, want ErrClosed", err)
	}
}

func TestHealthReportsFailure(t *testing.T) {
	b := New(4)
	if b.Health() != nil {
		t.Fatalf("Health() = %v before Fail", b.Health())
	}
	boom := errors.New("boom")
	b.Fail(boom)
	b.Fail(errors.New("later"))
	if !errors.Is(b.Health(), boom) {
		t.Fatalf("Health() = %v; want the first failure", b.Health())
	}
	b.Close()
	if !errors.Is(b.Health(), bellwether.ErrClosed) {
		t.Fatalf("Health() after Close = %v", b.Health())
	}
}

func TestPushReportsDrop(t *testing.T) {
	b := New(2)
	for i, want := range []bool{false, false, true, true} {
		if got := b.Push([]byte(fmt.Sprint(i))); got != want {
			t.Fatalf("Push #%d reported a drop: %v, want %v", i, got, want)
		}
	}
	b.Close()
	if b.Push([]byte("after close")) {
		t.Fatal("Push after Close reported a drop")
	}
}

func TestHoldKeepsMessagesUntilReleased(t *testing.T) { synctest.Test(t, testHold) }

// popped is what a Pop on a goroutine of its own returned.
type popped struct {
	msg []byte
	err error
}

// popLater runs Pop on a goroutine of its own, in the test's bubble.
func popLater(b *Inbox) <-chan popped {
	ch := make(chan popped, 1)
	go func() {
		msg, err := b.Pop(context.Background())
		ch <- popped{msg, err}
	}()
	return ch
}

// waiting fails the test if the Pop behind ch has returned.
func waiting(t *testing.T, ch <-chan popped, why string) {
	t.Helper()
	synctest.Wait()
	select {
	case p := <-ch:
		t.Fatalf("Pop returned %q, %v %s", p.msg, p.err, why)
	default:
	}
}

func testHold(t *testing.T) {
	b := New(8)
	b.Hold(true)
	b.Push([]byte("a"))
	got := popLater(b)
	waiting(t, got, "while held")
	b.Push([]byte("b"))
	waiting(t, got, "when a message arrived while held")
	b.Hold(false)
	if p := <-got; p.err != nil || string(p.msg) != "a" {
		t.Fatalf("Pop after the hold = %q, %v; want a", p.msg, p.err)
	}
	// A failure waits behind the held messages too.
	b.Hold(true)
	boom := errors.New("boom")
	b.Fail(boom)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if msg, err := b.Pop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pop while held = %q, %v; want it to wait out its ctx", msg, err)
	}
	b.Hold(false)
	if msg, err := b.Pop(context.Background()); err != nil || string(msg) != "b" {
		t.Fatalf("Pop = %q, %v; want the buffered b before the failure", msg, err)
	}
	if _, err := b.Pop(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Pop = %v, want the failure", err)
	}
	// Close ends a held Pop.
	c := New(8)
	c.Hold(true)
	c.Push([]byte("lost"))
	closed := popLater(c)
	waiting(t, closed, "while held")
	c.Close()
	if p := <-closed; !errors.Is(p.err, bellwether.ErrClosed) {
		t.Fatalf("held Pop after Close = %q, %v; want ErrClosed", p.msg, p.err)
	}
}

// An Inbox holds no ring while it holds at most one message, the steady
// state of a member that keeps up (a heartbeat at a time), and gives the
// ring it grew back once drained: a ring is heap, per member.
func TestRingOnlyWhileMessagesQueue(t *testing.T) {
	b := New(8)
	ring := func() int { b.mu.Lock(); defer b.mu.Unlock(); return len(b.buf) }
	pop := func(want string) {
		t.Helper()
		msg, err := b.Pop(context.Background())
		if err != nil || string(msg) != want {
			t.Fatalf("Pop = %q, %v; want %q", msg, err, want)
		}
	}
	for i := range 3 {
		b.Push([]byte(fmt.Sprint(i)))
		if n := ring(); n != 0 {
			t.Fatalf("holding one message, the inbox has a ring of %d", n)
		}
		pop(fmt.Sprint(i))
	}
	for i := range 6 {
		b.Push([]byte(fmt.Sprint(i)))
	}
	if n := ring(); n < 6 {
		t.Fatalf("holding six messages, the inbox has a ring of %d", n)
	}
	for i := range 5 {
		pop(fmt.Sprint(i))
	}
	b.Push([]byte("6"))
	pop("5")
	pop("6")
	if n := ring(); n != 0 {
		t.Fatalf("drained, the inbox keeps a ring of %d", n)
	}
	if b.Dropped() != 0 {
		t.Fatalf("dropped %d", b.Dropped())
	}
	// An inbox of one drops the oldest with no ring either.
	one := New(1)
	one.Push([]byte("a"))
	one.Push([]byte("b"))
	if msg, err := one.Pop(context.Background()); err != nil || string(msg) != "b" || one.Dropped() != 1 || len(one.buf) != 0 {
		t.Fatalf("inbox of one: Pop = %q, %v, dropped %d, ring %d; want b, 1 dropped, no ring", msg, err, one.Dropped(), len(one.buf))
	}
}

// Close wakes every waiting Pop, however many wait.
func TestCloseWakesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(8)
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := b.Pop(context.Background())
				errs <- err
			}()
		}
		synctest.Wait()
		b.Close()
		for range 3 {
			if err := <-errs; !errors.Is(err, bellwether.ErrClosed) {
				t.Fatalf("a waiting Pop woke with %v, want ErrClosed", err)
			}
		}
	})
}
