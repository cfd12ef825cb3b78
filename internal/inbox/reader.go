package inbox

import "fmt"

// Reader is the receiving half of a member with a socket of its own
// (local, udp): an Inbox that a goroutine of its own fills from the
// socket. Recv, Health and Dropped are the Inbox's.
type Reader struct {
	*Inbox
	stopped chan struct{} // closed when the reading goroutine returns
}

// NewReader returns a Reader whose Inbox holds at most size messages; it
// reads nothing until Start.
func NewReader(size int) *Reader {
	return &Reader{Inbox: New(size), stopped: make(chan struct{})}
}

// Start runs next in a goroutine of its own until it fails, pushing what
// it returns: a message, which the Inbox then owns, or nil for a datagram
// that is not a member's. Its error ends the reading, and makes the member
// deaf (Fail, with the bus's prefix "bellwether/BUS: receive: ") unless
// Stop came first. Start is called once.
func (r *Reader) Start(bus string, next func() ([]byte, error)) {
	go func() {
		defer close(r.stopped)
		for {
			msg, err := next()
			if err != nil {
				// After Stop the Inbox is closed and Fail does nothing:
				// closing the socket is no failure.
				r.Fail(fmt.Errorf("bellwether/%s: receive: %w", bus, err))
				return
			}
			if msg != nil {
				r.Push(msg) // when full, the oldest is dropped: a member that catches up hears the newest
			}
		}
	}()
}

// Stop closes the Inbox, then calls closeSocket, which must make next
// fail, and returns once the reading goroutine has returned.
func (r *Reader) Stop(closeSocket func() error) {
	r.Close()
	closeSocket()
	r.Wait()
}

// Wait returns once the reading goroutine has returned, after a failure
// of next or Stop.
func (r *Reader) Wait() { <-r.stopped }
