package bellwether

// Channels to wait on, made only when someone waits: most events are never
// waited for, and a channel costs about 100 bytes of heap, per member of
// every group in the process. The owner's mutex guards each.

// closedChan is the channel of an event that happened before anyone
// waited.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// waitFor returns *ch, made if nil, or closedChan if the event has
// happened (done) and nobody waited; the caller holds the lock that
// guards *ch.
func waitFor(ch *chan struct{}, done bool) <-chan struct{} {
	if *ch == nil {
		if done {
			return closedChan
		}
		*ch = make(chan struct{})
	}
	return *ch
}

// fire closes ch, the channel of an event that has just happened, if
// anyone waits (it is not nil).
func fire(ch chan struct{}) {
	if ch != nil {
		close(ch)
	}
}

// latch is an event that happens once and keeps no other state that says
// so: waitFor and fire with a flag of its own.
type latch struct {
	ch    chan struct{}
	fired bool
}

// wait returns a channel that is closed once the latch has fired.
func (l *latch) wait() <-chan struct{} { return waitFor(&l.ch, l.fired) }

// fire closes the latch's channel; later calls do nothing.
func (l *latch) fire() {
	if !l.fired {
		l.fired = true
		fire(l.ch)
	}
}
