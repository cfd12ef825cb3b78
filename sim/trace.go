package sim

import (
	"slices"
	"strconv"

	"github.com/bellwether-go/bellwether"
)

// Kinds of trace records.
const (
	trStart uint8 = iota + 1
	trRestart
	trJoin
	trCrash
	trWithdraw
	trResign
	trPartition
	trHeal
	trNoop
	trSend
	trRecv
	trLost
	trCut // dropped by a partition
	trDup
	trLeading
	trLeader
	trWarn
	trArmed  // invariant (b) starts to apply
	trStable // invariant (c) starts to apply
	trLoss   // a Loss fault
	trIsolate
	trReconnect
	trFreeze
	trThaw
	trFrozen  // a delivery to a frozen member, held until it thaws
	trAck     // the bus acknowledged a broadcast to its sender
	trAckLost // an acknowledgement the sender did not get
	trDeaf    // x 1: reported deaf, 0: hears again
)

// Message actions as small codes.
const (
	actRequest uint8 = iota + 1
	actCurrent
	actAccept
	actWithdraw
)

var actions = [...]bellwether.Action{actRequest: bellwether.ActionRequest, actCurrent: bellwether.ActionCurrent,
	actAccept: bellwether.ActionAccept, actWithdraw: bellwether.ActionWithdraw}

func actCode(a bellwether.Action) uint8 {
	switch a {
	case bellwether.ActionRequest:
		return actRequest
	case bellwether.ActionCurrent:
		return actCurrent
	case bellwether.ActionAccept:
		return actAccept
	case bellwether.ActionWithdraw:
		return actWithdraw
	}
	return 0
}

// rec is one trace record. Records are kept in a ring so that a violation
// can show what led to it, and formatted only when written.
type rec struct {
	t    int64
	a, b int32 // members; -1 for none
	kind uint8
	x    uint8 // action, warning, flag
	f    int32 // fault index for partitions
}

const ringSize = 64

// tracer keeps the last ringSize records, and separately the last ringSize
// records other than deliveries (which would crowd out the rest), and,
// when the scenario has a Trace writer, writes every record to it.
type tracer struct {
	ring    [ringSize]rec
	ringNo  [ringSize]uint64
	notable [ringSize]rec
	notNo   [ringSize]uint64
	n, nn   uint64
	out     []byte
	write   bool
	deliv   bool
}

func isDelivery(kind uint8) bool {
	return kind >= trRecv && kind <= trDup || kind == trFrozen || kind == trAck || kind == trAckLost
}

func (e *engine) rec(r rec) {
	tr := &e.tr
	tr.n++
	tr.ring[tr.n%ringSize], tr.ringNo[tr.n%ringSize] = r, tr.n
	if !isDelivery(r.kind) {
		tr.nn++
		tr.notable[tr.nn%ringSize], tr.notNo[tr.nn%ringSize] = r, tr.n
	}
	if tr.write && (tr.deliv || !isDelivery(r.kind)) {
		tr.out = e.appendRec(tr.out, r)
		tr.out = append(tr.out, '\n')
		if len(tr.out) >= 1<<16 {
			e.flush()
		}
	}
}

func (e *engine) flush() {
	if len(e.tr.out) > 0 && e.sc.Trace != nil {
		e.sc.Trace.Write(e.tr.out) //nolint:errcheck // tracing is best effort
	}
	e.tr.out = e.tr.out[:0]
}

// recent returns, formatted and oldest first, the last notable records
// (all but deliveries) and the last few records of any kind.
func (e *engine) recent(notable, any int) []string {
	tr := &e.tr
	byNo := make(map[uint64]rec)
	for i := uint64(0); i < min(tr.nn, uint64(notable), ringSize); i++ {
		k := (tr.nn - i) % ringSize
		byNo[tr.notNo[k]] = tr.notable[k]
	}
	for i := uint64(0); i < min(tr.n, uint64(any), ringSize); i++ {
		k := (tr.n - i) % ringSize
		byNo[tr.ringNo[k]] = tr.ring[k]
	}
	nos := make([]uint64, 0, len(byNo))
	for no := range byNo {
		nos = append(nos, no)
	}
	slices.Sort(nos)
	lines := make([]string, 0, len(nos))
	for _, no := range nos {
		lines = append(lines, string(e.appendRec(nil, byNo[no])))
	}
	return lines
}

// appendTime appends t nanoseconds as seconds with nine decimals.
func appendTime(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1e9, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(nil, t%1e9+1e9, 10)
	b = append(b, frac[1:]...)
	return append(b, 's')
}

func (e *engine) name(i int32) string {
	if i < 0 {
		return "none"
	}
	return e.mem[i].id
}

func (e *engine) appendRec(b []byte, r rec) []byte {
	b = appendTime(b, r.t)
	b = append(b, ' ')
	switch r.kind {
	case trStart, trRestart, trJoin, trCrash, trWithdraw, trResign, trIsolate, trReconnect, trFreeze, trThaw:
		b = append(b, [...]string{trStart: "start", trRestart: "restart", trJoin: "join", trCrash: "crash",
			trWithdraw: "withdraw", trResign: "resign", trIsolate: "isolate", trReconnect: "reconnect",
			trFreeze: "freeze", trThaw: "thaw"}[r.kind]...)
		b = append(b, ' ')
		b = append(b, e.name(r.a)...)
		if r.x != 0 {
			b = append(b, " (leader)"...)
		}
	case trPartition:
		b = append(b, "partition"...)
		for i, g := range e.faults[r.f].Groups {
			if i > 0 {
				b = append(b, " |"...)
			}
			b = append(b, ' ')
			b = append(b, formatSet(g)...)
		}
	case trHeal:
		b = append(b, "heal"...)
	case trLoss:
		b = append(b, "loss "...)
		b = strconv.AppendFloat(b, e.faults[r.f].Loss, 'g', -1, 64)
	case trNoop:
		b = append(b, "no-op fault: "...)
		b = append(b, e.faults[r.f].Fault.String()...)
	case trSend:
		b = append(b, e.name(r.a)...)
		b = append(b, " send "...)
		b = append(b, actions[r.x]...)
		if r.b&1 != 0 {
			b = append(b, " (heartbeat)"...)
		}
		if r.b&2 != 0 {
			b = append(b, " (cut off from the bus)"...)
		}
	case trRecv, trLost, trCut, trDup, trFrozen:
		b = append(b, e.name(r.a)...)
		b = append(b, [...]string{trRecv: " recv ", trLost: " lost ", trCut: " cut ", trDup: " dup ", trFrozen: " frozen, holds "}[r.kind]...)
		b = append(b, actions[r.x]...)
		b = append(b, " from "...)
		b = append(b, e.name(r.b)...)
	case trDeaf, trLeading: // r.x is 1 for deaf or leading, 0 for not
		b = append(b, e.name(r.a)...)
		b = append(b, [...][2]string{trDeaf: {" hears again", " reported deaf"},
			trLeading: {" not leading", " leading"}}[r.kind][min(r.x, 1)]...)
	case trAck, trAckLost:
		b = append(b, e.name(r.a)...)
		b = append(b, [...]string{trAck: " acked", trAckLost: " ack lost"}[r.kind]...)
	case trLeader:
		b = append(b, e.name(r.a)...)
		b = append(b, " leader "...)
		b = append(b, e.name(r.b)...)
	case trWarn:
		b = append(b, e.name(r.a)...)
		b = append(b, " warning: "...)
		b = append(b, bellwether.Warning(r.x).String()...)
	case trArmed:
		b = append(b, "quiet for B: invariant (b) applies"...)
	case trStable:
		b = append(b, "stable under "...)
		b = append(b, e.name(r.a)...)
		b = append(b, ": invariant (c) applies"...)
	}
	return b
}
