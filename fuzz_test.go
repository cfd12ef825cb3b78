package bellwether_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether"
)

// The fuzz targets of the root package. Plain `go test` runs their seeds
// (f.Add and testdata/fuzz/<name>/); `go test -fuzz '^FuzzMachine$'`
// explores further. docs/security.md says what each checks.

// reasons are the Reason values ParseEvent may report (ReasonOwnID is the
// Elector's alone).
var reasons = map[string]bool{
	bellwether.ReasonSyntax: true, bellwether.ReasonType: true, bellwether.ReasonAction: true,
	bellwether.ReasonClientID: true, bellwether.ReasonTooLarge: true, bellwether.ReasonEpoch: true,
	bellwether.ReasonValue: true, bellwether.ReasonTakeover: true,
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"leader","action":"request","clientId":"a"}`,
		`{"clientId":"\ud800","action":"current","type":"leader","x":[{"y":null}]}`,
		`{"type":"leader","action":"accept","clientId":"é\n"}`,
		`{"type":"leader","action":"current","clientId":"a","epoch":1767225600000000,"value":"10.0.0.7:8080"}`,
		`{"type":"leader","action":"request","clientId":"a","takeover":"b","epoch":0}`,
		`{"type":"leader","action":"withdraw","clientId":"a","clientId":"\ud83d\ude00"}`,
		`{"type":"leader","action":"current","clientId":"a","epoch":9007199254740992}`,
		`{"type":"leader","action":"current","clientId":"a","epoch":1.5}`,
		`{"type":"leader","action":"current","clientId":"a","value":"` + strings.Repeat("v", bellwether.MaxValueLength+1) + `"}`,
		`{"type":"leader","action":"request","clientId":"a","CLIENTID":"x"}`,
		`{"type":"leader","action":"request","clientId":"a","x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`,
		`{}`, `[`, `"`, `{"a":1e5}`, " {\"a\" : -0.0e+1 } ", "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := bellwether.ParseEvent(data)
		if err != nil {
			var ee *bellwether.EventError
			if !errors.As(err, &ee) || !reasons[ee.Reason] || ee.Detail == "" {
				t.Fatalf("ParseEvent(%q) error = %#v, want an *EventError with a ParseEvent reason and a detail", data, err)
			}
			if !errors.Is(err, bellwether.ErrInvalidEvent) {
				t.Fatalf("ParseEvent(%q) error %v does not match ErrInvalidEvent", data, err)
			}
			if len(data) > bellwether.MaxEventSize && ee.Reason != bellwether.ReasonTooLarge {
				t.Fatalf("ParseEvent of %d bytes: reason %s, want %s", len(data), ee.Reason, bellwether.ReasonTooLarge)
			}
			// A syntax error is one encoding/json agrees with, unless the
			// input is not UTF-8 or nests deeper than ParseEvent skips.
			if ee.Reason == bellwether.ReasonSyntax && utf8.Valid(data) && json.Valid(data) &&
				strings.HasPrefix(strings.TrimLeft(string(data), " \t\r\n"), "{") && jsonDepth(data) <= 65 {
				t.Fatalf("ParseEvent(%q) = %v, but it is a JSON object nested %d deep", data, err, jsonDepth(data))
			}
			return
		}
		// Whatever we accept is valid JSON and a valid event.
		if len(data) > bellwether.MaxEventSize {
			t.Fatalf("accepted %d bytes, more than MaxEventSize", len(data))
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err := e.Validate(); err != nil {
			// testdata/fuzz/FuzzParseEvent/value-lone-surrogate found that an
			// escaped unpaired surrogate in "value" passed.
			t.Fatalf("accepted invalid event %+v: %v", e, err)
		}
		if len(e.ClientID) > bellwether.MaxIDLength || len(e.Takeover) > bellwether.MaxIDLength {
			t.Fatalf("accepted an id longer than MaxIDLength: %d, takeover %d bytes", len(e.ClientID), len(e.Takeover))
		}
		// encoding/json agrees on the fields when no surrogate escapes are
		// involved (it replaces unpaired ones with U+FFFD). A map, unlike a
		// struct, matches keys exactly, as JSON.parse does.
		var std map[string]any
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", data, err)
		}
		for key, got := range map[string]string{"type": e.Type, "action": string(e.Action), "clientId": e.ClientID, "value": e.Value, "takeover": e.Takeover} {
			want, _ := std[key].(string)
			if utf8.ValidString(got) && got != want && !strings.Contains(want, "\ufffd") {
				t.Fatalf("%s %q, encoding/json says %q", key, got, want)
			}
		}
		if n, ok := std["epoch"].(float64); ok && n != float64(e.Epoch) {
			t.Fatalf("epoch %d, encoding/json says %v", e.Epoch, n)
		}
		// Encoding round-trips.
		enc := e.AppendJSON(nil)
		back, err := bellwether.ParseEvent(enc)
		if err != nil || back != e {
			t.Fatalf("round trip %+v: %s gives %+v %v", e, enc, back, err)
		}
		if string(back.AppendJSON(nil)) != string(enc) {
			t.Fatalf("re-encoding %+v is not stable", e)
		}
	})
}

// jsonDepth is the deepest nesting of objects and arrays in valid JSON.
func jsonDepth(data []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// fuzzInput hands out the bytes of a fuzz input; past its end every read
// is 0, so any input decodes.
type fuzzInput struct {
	b []byte
	i int
}

func (in *fuzzInput) done() bool { return in.i >= len(in.b) }

func (in *fuzzInput) byte() byte {
	if in.i >= len(in.b) {
		return 0
	}
	in.i++
	return in.b[in.i-1]
}

func (in *fuzzInput) uint64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(in.byte())
	}
	return v
}

func (in *fuzzInput) bytes(n int) string {
	n = min(n, len(in.b)-in.i)
	if n <= 0 {
		return ""
	}
	s := string(in.b[in.i : in.i+n])
	in.i += n
	return s
}

// fuzzIDs are the ids a fuzzed Machine meets: ordinary ones either side of
// its own, ones whose UTF-16 order differs from their byte order, an
// unpaired surrogate as a JavaScript peer sends it, and the longest.
var fuzzIDs = []string{"a", "b", "m", "n", "z", "", "\U0001F600", "\uffff", "\xed\xa0\x80", "é", strings.Repeat("y", bellwether.MaxIDLength)}

// fuzzSettings are the timings a fuzzed Machine runs with: the defaults,
// fast ones, a lease barely longer than the heartbeat interval, and
// nanosecond ones (whose ModeQuiet jitter is always 0).
var fuzzSettings = []bellwether.Settings{
	{},
	{ElectionTimeout: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: time.Second},
	{ElectionTimeout: time.Second, HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 2600 * time.Millisecond},
	{ElectionTimeout: 3, HeartbeatInterval: 2, HeartbeatTimeout: 5},
}

// machineOp is one decoded input of FuzzMachine.
type machineOp uint8

const (
	opStart machineOp = iota
	opReceive
	opTick
	opAcked
	opDeaf
	opResign
	opUnverified
	opShutdown
	opReceiveInvalid
	opCount
)

func (o machineOp) String() string {
	return [...]string{"Start", "Receive", "Tick", "Acked", "Deaf", "Resign", "Unverified", "Shutdown", "Receive(invalid)"}[o]
}

// FuzzMachine decodes its input into a MachineConfig and a sequence of
// steps at arbitrary times, runs them, checks the Machine's promises after
// every step, and runs them again to check that the Machine is
// deterministic.
func FuzzMachine(f *testing.F) {
	// Hand-written seeds: a leasing member elected alone with every
	// broadcast acknowledged, in each mode, then challenged; a plain one;
	// a leader asked to hand over; time going backwards.
	elect := []byte{
		byte(opStart), 0, byte(opAcked), 0, 0,
		byte(opTick), 3, byte(opAcked), 0, 0, byte(opTick), 3, byte(opAcked), 0, 0,
		byte(opTick), 3, byte(opAcked), 0, 0, byte(opTick), 3, byte(opAcked), 0, 0,
		byte(opTick), 3, byte(opAcked), 0, 0, byte(opTick), 3, byte(opAcked), 0, 0,
	}
	seed := func(cfg byte, tail ...byte) []byte {
		return append(append([]byte{cfg, 2, 1, 9}, elect...), tail...) // id b, value v, seed 9
	}
	const (
		lease, reference, preempt, observer, faithful = 1, 2, 4, 8, 16
	)
	f.Add(seed(lease | reference | faithful))
	f.Add(seed(lease | faithful))
	f.Add(seed(reference))
	f.Add(seed(observer | lease))
	// A Receive is op, clock, action, id, epoch (0: none; 1: 1 + the next
	// byte), value (0: none), takeover (0: none; 1: this member).
	const request, current, a, z = 0, 1, 0, 4
	// Elected, then asked to hand over by "a", then a current from "a"
	// (it defers), then a request from "z" carrying an epoch.
	f.Add(seed(lease|reference|faithful,
		byte(opReceive), 0, request, a, 0, 0, 1,
		byte(opReceive), 0, current, a, 1, 1, 0, 0,
		byte(opReceive), 0, request, z, 1, 200, 0, 0))
	// A Preempt member hears a larger bellwether leader and asks it to
	// hand over, again after HeartbeatTimeout.
	f.Add([]byte{lease | preempt | faithful, 2, 1, 9, byte(opStart), 0,
		byte(opReceive), 0, current, z, 1, 5, 0, 0, byte(opTick), 5, 90,
		byte(opReceive), 0, current, z, 1, 5, 0, 0})
	// Elected, then the clock jumps 1000 hours ahead, goes back half a
	// second, then to before 1970; deaf and hearing again.
	f.Add(seed(lease|reference, byte(opTick), 7, 0, byte(opReceive), 6, 50, request, 2, 0, 0, 0,
		byte(opTick), 7, 1, byte(opDeaf), 0, 1, byte(opDeaf), 0, 0))
	// Elected, deaf, resigning, hearing what it cannot verify, and
	// shutting down.
	f.Add(seed(lease, byte(opDeaf), 0, 1, byte(opResign), 0, byte(opUnverified), 0, 0, byte(opShutdown), 0, 0, byte(opTick), 7, 0))
	// A member that hears only what it cannot verify, then a clock that
	// disagrees, stands aside; a heartbeat brings it back.
	f.Add([]byte{lease | reference | faithful, 2, 1, 9, byte(opStart), 0, byte(opUnverified), 0, 0,
		byte(opTick), 5, 30, byte(opUnverified), 0, 1, byte(opTick), 5, 200,
		byte(opReceive), 0, current, z, 1, 5, 0, 0, byte(opTick), 5, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		first := runMachine(t, data)
		if t.Failed() || t.Skipped() {
			return
		}
		if again := runMachine(t, data); again != first {
			t.Fatalf("the same inputs gave different outputs:\n%s\nthen\n%s", first, again)
		}
	})
}

// machineRun is the state FuzzMachine tracks across the steps of one run.
type machineRun struct {
	t     *testing.T
	m     *bellwether.Machine
	cfg   bellwether.MachineConfig
	s     bellwether.Settings
	now   time.Time
	max   time.Time       // the latest now so far
	heard map[string]bool // ids heard in valid events
	log   []string        // the steps and outputs, for messages and determinism

	seq          uint64   // the last broadcast's Seq
	unacked      []uint64 // broadcasts not yet acknowledged by the fuzzer
	lastEpoch    uint64   // the epoch of the last current broadcast
	askedAt      time.Time
	asked        bool
	shownLeader  string
	shownEpoch   uint64
	shownValue   string
	shownLeading bool
	started      bool
	closed       bool

	received bellwether.Event // the event of the Receive step running

	// A model of a leasing member's winning, for the rules of the lease:
	// won says it won an election and has not since given the office up
	// (held or only claimed); a claim not held lapses at claimEnd.
	won          bool
	claimEnd     time.Time
	listenFrom   time.Time       // since when it has listened (Start, Deaf(false), a late Tick)
	deaf         bool            // Deaf(true) without Deaf(false) since
	electionSeqs map[uint64]bool // its requests and accepts since it last won or gave up
	electAcked   bool            // one of those was acknowledged while it elected
}

// snapshot is what the Machine shows between steps.
type snapshot struct {
	leader   string
	isLeader bool
	epoch    uint64
	value    string
	electing bool
	next     time.Time
	leaseEnd time.Time
	leaseOK  bool
	conflict bool
	doubtful bool
	closed   bool
}

func (r *machineRun) snap() snapshot {
	l, _ := r.m.Leader()
	end, ok := r.m.LeaseEnd()
	return snapshot{l, r.m.IsLeader(), r.m.Epoch(), r.m.Value(), r.m.Electing(), r.m.Next(), end, ok, r.m.Conflict(), r.m.Doubtful(), r.m.Closed()}
}

func (r *machineRun) fail(format string, args ...any) {
	r.t.Helper()
	tail := r.log[max(0, len(r.log)-12):]
	r.t.Fatalf("%s\nconfig: lease=%v mode=%v preempt=%v observer=%v value=%q settings=%+v\nlast steps:\n  %s",
		fmt.Sprintf(format, args...), r.cfg.Lease, r.cfg.Mode, r.cfg.Preempt, r.cfg.Observer, r.cfg.Value, r.s, strings.Join(tail, "\n  "))
}

// runMachine runs the steps data decodes to and returns their log.
func runMachine(t *testing.T, data []byte) string {
	in := &fuzzInput{b: data}
	c := in.byte()
	cfg := bellwether.MachineConfig{
		Lease:    c&1 != 0,
		Mode:     bellwether.ModeQuiet,
		Preempt:  c&4 != 0,
		Observer: c&8 != 0,
		Settings: fuzzSettings[c>>6],
	}
	if c&2 != 0 {
		cfg.Mode = bellwether.ModeReference
	}
	faithful := c&16 != 0 // a driver that ticks before any input when a deadline has passed
	resignOnHandover := c&32 != 0
	cfg.ID = []string{"m", "a", "b", "z", "\U0001F600", "\uffff"}[int(in.byte())%6]
	cfg.Value = []string{"", "v", "10.0.0.7:8080", strings.Repeat("x", bellwether.MaxValueLength)}[in.byte()%4]
	cfg.Seed = uint64(in.byte())
	m, err := bellwether.NewMachine(cfg)
	if err != nil {
		t.Fatalf("NewMachine(%+v): %v", cfg, err)
	}
	r := &machineRun{t: t, m: m, cfg: cfg, s: m.Settings(), now: t0, max: t0, heard: map[string]bool{}, electionSeqs: map[uint64]bool{}}
	for steps := 0; !in.done() && steps < 400; steps++ {
		op := machineOp(in.byte() % byte(opCount))
		r.advance(in)
		if faithful && op != opTick {
			if next := m.Next(); !next.IsZero() && !next.After(r.now) {
				r.step(opTick, "driver's timer", func() bellwether.Output { return m.Tick(r.now) })
			}
		}
		switch op {
		case opStart:
			r.step(op, "", func() bellwether.Output { return m.Start(r.now) })
		case opReceive:
			e := r.event(in)
			r.heard[e.ClientID] = true
			r.received = e
			out := r.step(op, e.String(), func() bellwether.Output { return m.Receive(r.now, e) })
			if hasKind(out, bellwether.EffectHandover) && (resignOnHandover || !m.IsLeader()) {
				// The driver resigns. A member asked to hand over has won
				// (it may not hold the lease yet): Resign withdraws.
				res := r.step(opResign, "on handover", func() bellwether.Output { return m.Resign(r.now) })
				if !t.Failed() && !slices.ContainsFunc(res.Effects, func(e bellwether.Effect) bool {
					return e.Kind == bellwether.EffectBroadcast && e.Event.Action == bellwether.ActionWithdraw
				}) {
					r.fail("a member asked to hand over did not withdraw on Resign: it had not won")
				}
			}
		case opReceiveInvalid:
			r.receiveInvalid(in)
		case opTick:
			r.step(op, "", func() bellwether.Output { return m.Tick(r.now) })
		case opAcked:
			seq := r.ackSeq(in)
			r.step(op, fmt.Sprint(seq), func() bellwether.Output { return m.Acked(r.now, seq) })
		case opDeaf:
			deaf := in.byte()&1 != 0
			r.step(op, fmt.Sprint(deaf), func() bellwether.Output { return m.Deaf(r.now, deaf) })
		case opResign:
			r.step(op, "", func() bellwether.Output { return m.Resign(r.now) })
		case opUnverified:
			clock := in.byte()&1 != 0
			r.step(op, fmt.Sprint(clock), func() bellwether.Output { return m.Unverified(r.now, clock) })
		case opShutdown:
			clean := in.byte()&1 != 0
			r.step(op, fmt.Sprint(clean), func() bellwether.Output { return m.Shutdown(r.now, clean) })
		}
		if t.Failed() || t.Skipped() {
			break
		}
	}
	return strings.Join(r.log, "\n")
}

// advance moves the clock as the input says: not at all, to the next
// deadline, a little or a lot forward, backwards, or to extremes.
func (r *machineRun) advance(in *fuzzInput) {
	b := in.byte()
	switch b % 8 {
	case 3:
		if next := r.m.Next(); !next.IsZero() {
			r.now = next
		} else {
			r.now = r.now.Add(time.Millisecond)
		}
	case 4:
		r.now = r.now.Add(time.Duration(in.byte()) * time.Millisecond)
	case 5:
		r.now = r.now.Add(time.Duration(in.byte()) * 100 * time.Millisecond)
	case 6:
		r.now = r.now.Add(-time.Duration(in.byte()) * 10 * time.Millisecond)
	case 7:
		next := r.m.Next()
		if next.IsZero() {
			next = r.now
		}
		switch in.byte() % 8 {
		case 0:
			r.now = r.now.Add(1000 * time.Hour)
		case 1:
			r.now = r.now.AddDate(-100, 0, 0) // before 1970: wall-clock epochs are 0
		case 2:
			r.now = next.Add(-1)
		case 3:
			r.now = next.Add(r.s.HeartbeatInterval/2 + 1) // late enough to count as frozen
		case 4:
			r.now = r.now.Add(r.s.ElectionTimeout)
		case 5:
			r.now = r.now.Add(r.s.HeartbeatTimeout)
		case 6:
			r.now = r.now.Add(r.m.LeaseDuration())
		case 7:
			r.now = r.now.Add(time.Duration(in.uint64() % uint64(48*time.Hour)))
		}
	}
	if r.now.After(r.max) {
		r.max = r.now
	}
}

// event decodes a valid event: an action, an id from fuzzIDs or the
// input, an epoch, a value and a takeover.
func (r *machineRun) event(in *fuzzInput) bellwether.Event {
	actions := []bellwether.Action{bellwether.ActionRequest, bellwether.ActionCurrent, bellwether.ActionAccept, bellwether.ActionWithdraw}
	e := bellwether.NewEvent(actions[in.byte()%4], r.id(in))
	switch b := in.byte(); b % 8 {
	case 1:
		e.Epoch = uint64(in.byte()) + 1
	case 2:
		e.Epoch = r.lastEpoch + uint64(in.byte()%3) // around this member's own
	case 3:
		e.Epoch = uint64(max(0, r.now.UnixMicro())) + uint64(in.byte())
	case 4:
		e.Epoch = bellwether.MaxEpoch - uint64(in.byte()%2)
	case 5:
		e.Epoch = in.uint64() % (bellwether.MaxEpoch + 1)
	}
	e.Epoch = min(e.Epoch, bellwether.MaxEpoch) // a valid event: receiveInvalid makes the others
	switch in.byte() % 4 {
	case 1:
		e.Value = "w"
	case 2:
		e.Value = r.cfg.Value
	case 3:
		e.Value = strings.ToValidUTF8(in.bytes(int(in.byte()%8)), "?")
	}
	switch in.byte() % 4 {
	case 1:
		e.Takeover = r.cfg.ID
	case 2:
		e.Takeover = r.id(in)
	}
	if e.ClientID == "" {
		e.ClientID = "q"
	}
	return e
}

// id decodes an id: one of fuzzIDs, this member's own, or up to 15 bytes
// of the input, UTF-8 or not.
func (r *machineRun) id(in *fuzzInput) string {
	b := in.byte()
	switch {
	case b < 0xc0:
		return fuzzIDs[int(b)%len(fuzzIDs)]
	case b < 0xe0:
		return r.cfg.ID
	}
	return in.bytes(int(b & 0xf))
}

// ackSeq decodes a sequence number to acknowledge: mostly the oldest
// broadcast not yet acknowledged, as a bus acknowledges in order, and
// otherwise 0, the latest, an older one, a future one or any.
func (r *machineRun) ackSeq(in *fuzzInput) uint64 {
	switch b := in.byte(); b % 8 {
	case 0, 1, 2, 3:
		if len(r.unacked) > 0 {
			s := r.unacked[0]
			r.unacked = r.unacked[1:]
			return s
		}
		return r.seq
	case 4:
		return 0
	case 5:
		return r.seq - min(r.seq, uint64(in.byte()))
	case 6:
		return r.seq + 1 + uint64(in.byte()%2)
	}
	return in.uint64()
}

// receiveInvalid hands the Machine an event that Validate rejects, which
// its Receive documents as ignored: no effect, no change.
func (r *machineRun) receiveInvalid(in *fuzzInput) {
	e := r.event(in)
	switch in.byte() % 6 {
	case 0:
		e.Type = []string{"", "Leader", "presence"}[in.byte()%3]
	case 1:
		e.Action = bellwether.Action([]string{"", "Request", "elect", "current "}[in.byte()%4])
	case 2:
		e.ClientID = ""
	case 3:
		e.Epoch = bellwether.MaxEpoch + 1 + uint64(in.byte())
	case 4:
		e.Value = strings.Repeat("v", bellwether.MaxValueLength+1)
	case 5:
		e.Takeover = strings.Repeat("t", bellwether.MaxIDLength+1)
	}
	if e.Validate() == nil {
		r.fail("the fuzzer made a valid event %s for opReceiveInvalid", e)
	}
	if next := r.m.Next(); !next.IsZero() && !next.After(r.now) {
		// An overdue deadline: the driver's timer fires first, so that the
		// Receive below has nothing of its own to do (no lapsed lease).
		r.step(opTick, "driver's timer", func() bellwether.Output { return r.m.Tick(r.now) })
		if r.t.Failed() || r.t.Skipped() {
			return
		}
	}
	before := r.snap()
	out := r.m.Receive(r.now, e)
	after := r.snap()
	r.log = append(r.log, fmt.Sprintf("%s(%s) at %s: %s -> next %s", opReceiveInvalid, e, r.now.Format(time.RFC3339Nano), effectsString(out), out.Next.Format(time.RFC3339Nano)))
	if len(out.Effects) > 0 || after != before || !out.Next.Equal(before.next) {
		// testdata/fuzz/FuzzMachine/invalid-event-followed found a member
		// that followed a current of another type.
		r.fail("Receive acted on the invalid event %s (%v): effects %s, state %+v -> %+v",
			e, e.Validate(), effectsString(out), before, after)
	}
}

func hasKind(out bellwether.Output, k bellwether.EffectKind) bool {
	for _, e := range out.Effects {
		if e.Kind == k {
			return true
		}
	}
	return false
}

func effectsString(out bellwether.Output) string {
	var b strings.Builder
	for i, e := range out.Effects {
		if i > 0 {
			b.WriteString(" ")
		}
		switch e.Kind {
		case bellwether.EffectBroadcast:
			fmt.Fprintf(&b, "send#%d:%s", e.Seq, e.Event)
		case bellwether.EffectLeading:
			fmt.Fprintf(&b, "leading:%v", e.Leading)
		case bellwether.EffectLeader:
			fmt.Fprintf(&b, "leader:%+q@%d/%q", e.Leader, e.Epoch, e.Value)
		case bellwether.EffectWarning:
			fmt.Fprintf(&b, "warn:%s", e.Warning)
		case bellwether.EffectHandover:
			fmt.Fprintf(&b, "handover:%+q", e.Leader)
		default:
			fmt.Fprintf(&b, "kind%d", e.Kind)
		}
	}
	return b.String()
}

// checkWin follows a leasing member's winning and giving up through one
// step and checks, when it wins, the rules of the lease: it wins only when
// an election times out (in a Tick), not while deaf or standing aside for
// its id, not before it has listened for LeaseDuration, and only after the
// bus acknowledged one of its broadcasts of the election.
func (r *machineRun) checkWin(op machineOp, arg string, before snapshot, out bellwether.Output) {
	r.t.Helper()
	now, id := r.now, r.cfg.ID
	lapsing := r.won && (before.leaseOK && !now.Before(before.leaseEnd) || !before.leaseOK && !now.Before(r.claimEnd))
	switch op {
	case opTick:
		// Overdue by more than half a heartbeat interval: it listens
		// afresh. (Unless a lapsing lease changes the deadlines first;
		// then the model keeps the older, laxer time.)
		if !before.next.IsZero() && now.Sub(before.next) > r.s.HeartbeatInterval/2 && !lapsing {
			r.listenFrom = now
		}
	case opDeaf:
		deaf := arg == "true"
		if deaf {
			r.won = false
		} else {
			r.listenFrom = now
		}
		r.deaf = deaf
	case opResign:
		r.won = false
	case opReceive:
		if e := r.received; e.ClientID == id || e.Action == bellwether.ActionCurrent && bellwether.CompareIDs(e.ClientID, id) < 0 {
			r.won = false // it stands aside, or defers to a smaller leader
		}
	}
	if lapsing && op != opShutdown {
		r.won = false
	}
	for _, e := range out.Effects {
		switch {
		case e.Kind == bellwether.EffectLeading && !e.Leading,
			e.Kind == bellwether.EffectLeader && e.Leader != "" && e.Leader != id:
			r.won = false
		case e.Kind == bellwether.EffectBroadcast && (e.Event.Action == bellwether.ActionRequest || e.Event.Action == bellwether.ActionAccept) && e.Event.Takeover == "":
			r.electionSeqs[e.Seq] = true
		case e.Kind == bellwether.EffectBroadcast && e.Event.Action == bellwether.ActionCurrent && !r.won:
			// It won.
			switch {
			case op != opTick:
				r.fail("won in a %s step, not when an election timed out", op)
			case r.deaf || before.conflict || before.doubtful:
				r.fail("won while deaf (%v), standing aside for its id (%v) or hearing only what it cannot verify (%v)", r.deaf, before.conflict, before.doubtful)
			case now.Before(r.listenFrom.Add(r.m.LeaseDuration())):
				r.fail("won at %v, having listened only since %v, less than LeaseDuration %v", now, r.listenFrom, r.m.LeaseDuration())
			case !r.electAcked:
				r.fail("won an election none of whose broadcasts was acknowledged")
			}
			r.won, r.claimEnd = true, now.Add(r.m.LeaseDuration())
			r.electAcked = false
			clear(r.electionSeqs)
		}
	}
	if op == opAcked && before.electing {
		var seq uint64
		fmt.Sscan(arg, &seq)
		if r.electionSeqs[seq] {
			r.electAcked = true
		}
	}
}

// step runs one Machine step at r.now and checks its output and the state
// it leaves against the state before.
func (r *machineRun) step(op machineOp, arg string, f func() bellwether.Output) bellwether.Output {
	r.t.Helper()
	m, now := r.m, r.now
	before := r.snap()
	out := f()
	after := r.snap()
	r.log = append(r.log, fmt.Sprintf("%s(%s) at %s: %s -> next %s", op, arg, now.Format(time.RFC3339Nano), effectsString(out), out.Next.Format(time.RFC3339Nano)))
	id, lease := r.cfg.ID, r.cfg.Lease

	if !out.Next.Equal(after.next) && !(op == opShutdown && out.Next.IsZero()) {
		r.fail("Output.Next %v, but Next() is %v", out.Next, after.next)
	}
	if len(out.Effects) > 64 {
		r.fail("%d effects in one step", len(out.Effects))
	}
	if !r.started && op != opStart && op != opShutdown && len(out.Effects) > 0 {
		r.fail("effects before Start")
	}

	// The clock: a step arms no deadline before now, and a Tick leaves
	// none due.
	if !after.next.IsZero() && after.next.Before(now) && (before.next.IsZero() || !before.next.Before(now)) {
		r.fail("the next deadline %v is before now %v, and none was overdue before the step", after.next, now)
	}
	if op == opTick && !after.next.IsZero() && !after.next.After(now) {
		r.fail("after Tick(%v) the deadline %v is still due", now, after.next)
	}

	// Who leads.
	if after.leader != "" && after.leader != id && !r.heard[after.leader] {
		r.fail("the known leader %+q is neither this member nor an id it heard", after.leader)
	}
	// (A non-leasing observer may follow another member that uses its id.)
	if after.isLeader != (after.leader == id) && !(r.cfg.Observer && !lease && !after.isLeader) {
		r.fail("IsLeader %v, but Leader() is %+q (own id %+q)", after.isLeader, after.leader, id)
	}
	if after.doubtful && (!lease || after.isLeader || after.electing) {
		r.fail("doubtful (lease %v) while leading (%v) or electing (%v)", lease, after.isLeader, after.electing)
	}
	if r.cfg.Observer && (after.isLeader || after.electing) {
		r.fail("an observer leads (%v) or elects (%v)", after.isLeader, after.electing)
	}
	if after.electing {
		limit := r.max.Add(max(r.s.ElectionTimeout, m.LeaseDuration()))
		if after.next.IsZero() || after.next.After(limit) || after.closed {
			r.fail("electing with next deadline %v (limit %v), closed %v", after.next, limit, after.closed)
		}
	}
	if op == opStart && !r.started && !r.closed && !r.cfg.Observer && !after.electing {
		r.fail("Start did not start an election")
	}

	// The lease.
	if lease && !after.closed {
		if after.isLeader != after.leaseOK {
			r.fail("IsLeader %v, but LeaseEnd ok %v", after.isLeader, after.leaseOK)
		}
		if after.isLeader && !after.leaseEnd.After(now) {
			r.fail("leading at %v on a lease that ended at %v", now, after.leaseEnd)
		}
		if after.leaseOK && after.leaseEnd.After(r.max.Add(m.LeaseDuration())) {
			r.fail("the lease ends at %v, more than LeaseDuration after the latest time %v", after.leaseEnd, r.max)
		}
		if after.isLeader && (after.epoch == 0 || after.epoch > bellwether.MaxEpoch || after.value != r.cfg.Value) {
			r.fail("leading at epoch %d with value %q, want 1 to MaxEpoch and %q", after.epoch, after.value, r.cfg.Value)
		}
		if before.isLeader && after.isLeader && after.epoch < before.epoch {
			r.fail("the leader's epoch went down from %d to %d", before.epoch, after.epoch)
		}
	}
	// Without a lease only a leader's own value is known.
	if !lease && (after.leaseOK || after.epoch != 0 || after.value != "" && !(after.leader == id && after.value == r.cfg.Value) || after.conflict) {
		r.fail("without a lease: LeaseEnd ok %v, epoch %d, value %q, conflict %v", after.leaseOK, after.epoch, after.value, after.conflict)
	}
	if after.epoch > bellwether.MaxEpoch {
		r.fail("epoch %d above MaxEpoch", after.epoch)
	}

	// The effects, in order.
	plainRequests := 0
	handovers := 0
	for _, e := range out.Effects {
		switch e.Kind {
		case bellwether.EffectBroadcast:
			ev := e.Event
			if r.cfg.Observer {
				r.fail("an observer broadcast %s", ev)
			}
			if r.closed {
				r.fail("broadcast %s after Shutdown", ev)
			}
			if e.Seq <= r.seq {
				r.fail("broadcast numbered %d after %d", e.Seq, r.seq)
			}
			r.seq = e.Seq
			r.unacked = append(r.unacked, e.Seq)
			if err := ev.Validate(); err != nil || ev.ClientID != id {
				r.fail("broadcast %s: %v, id %+q", ev, err, ev.ClientID)
			}
			if !lease && (ev.Epoch != 0 || ev.Value != "" || ev.Takeover != "") {
				r.fail("a reference-format member broadcast %s", ev)
			}
			if ev.Takeover != "" {
				if ev.Action != bellwether.ActionRequest || !r.cfg.Preempt || bellwether.CompareIDs(id, ev.Takeover) >= 0 {
					r.fail("takeover request %s from a member with Preempt %v", ev, r.cfg.Preempt)
				}
				if r.asked && now.Sub(r.askedAt) < r.s.HeartbeatTimeout {
					r.fail("takeover asked at %v and again at %v, within HeartbeatTimeout", r.askedAt, now)
				}
				r.asked, r.askedAt = true, now
			} else if ev.Action == bellwether.ActionRequest {
				plainRequests++
			}
			if lease && ev.Action == bellwether.ActionCurrent {
				if ev.Epoch == 0 || ev.Epoch > bellwether.MaxEpoch || ev.Value != r.cfg.Value {
					r.fail("a leasing leader's heartbeat %s, want an epoch and value %q", ev, r.cfg.Value)
				}
				if ev.Epoch < r.lastEpoch {
					r.fail("heartbeat at epoch %d after one at %d: epochs go down", ev.Epoch, r.lastEpoch)
				}
				r.lastEpoch = ev.Epoch
			}
		case bellwether.EffectLeading:
			if e.Leading == r.shownLeading {
				r.fail("leading:%v reported twice in a row", e.Leading)
			}
			r.shownLeading = e.Leading
		case bellwether.EffectLeader:
			r.shownLeader, r.shownEpoch, r.shownValue = e.Leader, e.Epoch, e.Value
		case bellwether.EffectWarning:
			if e.Warning.String() == "unknown warning" {
				r.fail("unknown warning %d", e.Warning)
			}
		case bellwether.EffectHandover:
			handovers++
			if !lease || bellwether.CompareIDs(e.Leader, id) >= 0 || !r.heard[e.Leader] {
				r.fail("handover to %+q reported (lease %v)", e.Leader, lease)
			}
			if before.isLeader != after.isLeader {
				r.fail("handover to %+q reported in a step that changed IsLeader from %v", e.Leader, before.isLeader)
			}
		default:
			r.fail("effect of unknown kind %d", e.Kind)
		}
	}
	// One election at a time: outside a Tick (in which an overdue
	// election may end and the next begin) a step starts at most one.
	if plainRequests > 1 && op != opTick || handovers > 1 {
		r.fail("%d election requests and %d handovers in one step", plainRequests, handovers)
	}
	// What the effects reported is what the Machine shows.
	if r.shownLeading != after.isLeader {
		r.fail("the effects say leading %v, IsLeader says %v", r.shownLeading, after.isLeader)
	}
	if r.shownLeader != after.leader || lease && (r.shownEpoch != after.epoch || r.shownValue != after.value) {
		r.fail("the effects say leader %+q at %d/%q, the Machine shows %+q at %d/%q",
			r.shownLeader, r.shownEpoch, r.shownValue, after.leader, after.epoch, after.value)
	}

	if r.closed && (len(out.Effects) > 0 || !after.next.IsZero()) {
		// testdata/fuzz/FuzzMachine/step-after-shutdown found a step that
		// ended a lapsed lease after Shutdown.
		r.fail("a step after Shutdown had effects or set a deadline")
	}
	if op == opStart && lease && !r.started && !r.closed {
		r.listenFrom = now
	}
	if lease && (r.started || op == opStart) && !r.closed {
		r.checkWin(op, arg, before, out)
	}
	if op == opStart {
		r.started = true
	}
	if op == opShutdown {
		r.closed = true
	}
	if r.closed && (!after.closed || after.electing || !after.next.IsZero()) {
		r.fail("after Shutdown: Closed %v, electing %v, next deadline %v", after.closed, after.electing, after.next)
	}
	return out
}
