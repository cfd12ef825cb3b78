// This file holds the statistics: time with several or no leaders and
// the recovery windows opened by faults.

package sim

// window is the span from one fault (or the start) to the next, over
// which the recovery from that fault is measured.
type window struct {
	label     string
	start     int64
	bc, dl    int64 // broadcasts and deliveries, heartbeats excluded
	conv      int64 // time from start to the final agreement on one leader
	converged bool
}

// accrue adds the time since the last call to the multi- and no-leader
// totals.
func (e *engine) accrue() {
	d := e.now - e.lastAcc
	switch {
	case e.leading > 1:
		e.multi += d
	case e.leading == 0:
		e.none += d
	}
	e.lastAcc = e.now
}

func (e *engine) openWindow(label string) {
	if w := &e.windows[len(e.windows)-1]; w.start == e.now {
		w.label += "+" + label
		return
	}
	e.closeWindow()
	e.windows = append(e.windows, window{label: label, start: e.now})
}

func (e *engine) closeWindow() {
	w := &e.windows[len(e.windows)-1]
	if e.agreed {
		w.converged = true
		w.conv = max(0, e.agreedSince-w.start)
	}
}
