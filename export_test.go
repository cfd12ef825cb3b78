package bellwether

import (
	"errors"
	"time"
)

// ReceiveBytes hands msg to e's receive path (parse, counters, driver
// step) as if its receiver had just read it from the bus. Only for a test
// whose bus brings e nothing, as the receiver's goroutine owns that path.
func ReceiveBytes(e *Elector, msg []byte) { e.receiveBytes(msg) }

// WorkerWakes returns how many times an input (a received message, an
// acknowledgement) started e's driver worker, as opposed to its own timer.
func WorkerWakes(e *Elector) uint64 { return e.d.woken.Load() }

// LeaderBeat returns a leader, elected in virtual time, whose beat runs
// the driver's timer path at the machine's next deadline each call: the
// machine's tick, the driver's queue, and each broadcast encoded into a
// buffer (a heartbeat while it leads, through a lastBeat) and handed to
// send, as the Elector's worker does, then its acknowledgement stepped in
// as the driver's acked does.
func LeaderBeat(id string, s Settings, send func([]byte)) (beat func(), err error) {
	s = s.WithDefaults()
	m, err := NewMachine(MachineConfig{ID: id, Settings: s, Mode: ModeReference, Lease: true})
	if err != nil {
		return nil, err
	}
	// Virtual time, but from the clock's reading, as the Elector's is: with
	// the monotonic reading a driver's times carry, which the Machine's
	// arithmetic takes without a look at the wall clock.
	now := time.Now()
	var d *driver
	var sendBuf []byte // reused, as the Elector's worker reuses its own
	var last lastBeat  // the leader's last heartbeat, as the Elector's send keeps it
	d = newDriver(m, func(ef *Effect) {
		if ef.Kind != EffectBroadcast {
			return
		}
		var msg []byte
		if ef.Event.Action == ActionCurrent && m.IsLeader() {
			msg = last.appendJSON(sendBuf[:0], &ef.Event)
		} else {
			msg = ef.Event.AppendJSON(sendBuf[:0])
		}
		sendBuf = msg[:0]
		send(msg)
		d.mu.Lock() // driver.acked, at the virtual now
		if !d.closing {
			d.m.acked(now, ef.Seq)
			d.stepped(now)
		}
		d.mu.Unlock()
	}, nil)
	d.coalesce = true
	var batch []Effect
	// dispatch, called with d.mu held after a step, takes the queue,
	// unlocks and hands the batch to the handler, as the worker does.
	dispatch := func() {
		batch, d.queue = d.queue, batch[:0]
		d.mu.Unlock()
		d.handleAll(batch)
	}
	d.mu.Lock()
	out := m.Start(now)
	d.after(out.Effects, m.deadline(), now)
	dispatch()
	fire := func() { // the worker's timer path, then the batch it made
		now = d.m.timeOf(d.next) // the timer fires at the deadline
		d.mu.Lock()
		d.m.tick(now)
		d.stepped(now)
		dispatch()
	}
	for i := 0; i < 10 && !m.IsLeader(); i++ { // the election runs its course
		fire()
	}
	if !m.IsLeader() {
		return nil, errors.New("bellwether: LeaderBeat: the member was not elected")
	}
	return fire, nil
}

// NewSigner returns a function that signs events as a member of group
// holding ring does, with one boot nonce and an increasing counter: the
// tests' forger that holds the key.
func NewSigner(ring *Keyring, group string) func(ev Event, now time.Time) []byte {
	a, err := newAuth(ring, group, false, DefaultMaxClockSkew)
	if err != nil {
		panic(err)
	}
	return func(ev Event, now time.Time) []byte { return a.sign(nil, ev, now) }
}

// NewVerifier returns a function that verifies messages as a member of
// group holding ring does, returning "" or the rejection reason.
func NewVerifier(ring *Keyring, group string) func(msg []byte, now time.Time) string {
	a, err := newAuth(ring, group, false, DefaultMaxClockSkew)
	if err != nil {
		panic(err)
	}
	return func(msg []byte, now time.Time) string {
		var r rawEvent
		if err := parseEvent(msg, &r); err != nil {
			return "parse: " + err.Error()
		}
		ev := Event{Type: EventType, Action: r.action, ClientID: string(r.id), Epoch: r.epoch, Value: string(r.value), Takeover: string(r.takeover)}
		return a.verify(ev, &r, now)
	}
}

// StepWallClock steps the wall clock that e's signatures carry and are
// checked against by d (cumulatively), as an operator or NTP stepping the
// host's clock would; durations, which come from the monotonic clock, are
// not affected.
func StepWallClock(e *Elector, d time.Duration) { e.auth.wallStep.Add(int64(d)) }

// EffectBuffers returns how many effects the driver's queue and the
// Machine's output buffer have room for.
func EffectBuffers(e *Elector) (queue, out int) {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	return cap(e.d.queue), cap(e.d.m.out)
}

// Held names what e holds at rest that it makes only on demand: the
// channels nobody waits for, its watchers, its logger with its group and
// id, its counters' map of rejections, the receiver's rare state, the
// flood counter's map, the driver's done channel and queue. A member at
// rest holds none of them but a leader's queue: each is heap, per member
// of every group in the process.
func Held(e *Elector) []string {
	var held []string
	e.mu.Lock()
	for _, c := range []struct {
		name string
		ch   chan struct{}
	}{{"recvDone", e.recvDone.ch}, {"stopped", e.stopped}, {"closed", e.closed}, {"changed", e.changed}} {
		if c.ch != nil {
			held = append(held, c.name)
		}
	}
	if e.watchers != nil {
		held = append(held, "watchers")
	}
	e.mu.Unlock()
	if l := e.cur.Load(); l != nil {
		l.mu.Lock()
		if l.done != nil {
			held = append(held, "job done")
		}
		l.mu.Unlock()
	}
	e.stats.mu.Lock()
	if e.stats.rejectedBy != nil {
		held = append(held, "rejected map")
	}
	e.stats.mu.Unlock()
	e.d.mu.Lock()
	if e.d.done.ch != nil {
		held = append(held, "driver done")
	}
	if cap(e.d.queue) > 0 {
		held = append(held, "driver queue")
	}
	if cap(e.d.m.out) > 0 {
		held = append(held, "machine out")
	}
	e.d.mu.Unlock()
	// The worker's and the receiver's own: the caller reads them with
	// both at rest (synctest.Wait).
	if e.sendBuf != nil {
		held = append(held, "send buffer")
	}
	if e.rare != nil {
		held = append(held, "rare")
	}
	if e.flood.more != nil {
		held = append(held, "flood map")
	}
	if e.withLog.Load() != nil {
		held = append(held, "logger")
	}
	return held
}
