package sim

import (
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// maxRows is the largest number of member rows WriteSVG draws.
const maxRows = 50

// WriteSVG writes the timeline of the report's first repetition as a
// standalone SVG document: one row per member showing when it is down
// (grey), when it leads (green) and whom it follows (a thin bar coloured by
// the leader it knows, with the id in a tooltip), faults as dashed red
// lines, and a bottom row with the number of members leading (red for
// none, green for one, orange for more). With more than 50 members it draws
// only the members that ever led, were hit by a fault or are among the
// first ids, up to 50 rows, and says how many it left out.
func (r *Report) WriteSVG(w io.Writer) error {
	return r.WriteSVGWindow(w, 0, 0)
}

// WriteSVGWindow is WriteSVG restricted to simulated times [from, to); a
// zero to means the end of the run.
func (r *Report) WriteSVGWindow(w io.Writer, from, to time.Duration) error {
	tl := r.timeline
	if tl == nil {
		return errors.New("sim: the report has no timeline")
	}
	t0, t1 := int64(from), int64(to)
	if t1 <= 0 || t1 > tl.end {
		t1 = tl.end
	}
	if t1 <= t0 {
		return fmt.Errorf("sim: empty SVG window [%v, %v)", from, to)
	}
	rows, omitted := tl.rows()
	const (
		left, right, top, rowH, width = 90.0, 20.0, 80.0, 16.0, 1200.0
	)
	plotW := width - left - right
	x := func(t int64) float64 {
		t = max(t0, min(t, t1))
		return left + plotW*float64(t-t0)/float64(t1-t0)
	}
	height := top + rowH*float64(len(rows)+2) + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	title := r.Name
	if title == "" {
		title = "bellwether simulation"
	}
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", html.EscapeString(title))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(
		fmt.Sprintf("%s: %d members (%s), seed %d, repetition 0", title, r.Members, r.Modes, r.Seed)))
	// Time axis.
	step := niceStep(t1 - t0)
	for t := (t0 + step - 1) / step * step; t <= t1; t += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#e4e4e4"/>`, x(t), top-4, x(t), top+rowH*float64(len(rows)+1))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(t), top-8, fmtAxis(t, step))
	}
	// Rows.
	rowOf := make(map[int32]int, len(rows))
	for k, m := range rows {
		rowOf[m] = k
		y := top + rowH*float64(k)
		if k%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.0f" height="%.0f" fill="#f7f7f7"/>`, left, y, plotW, rowH)
		}
		label := tl.ids[m]
		if tl.observers[m] {
			label += " (obs)"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+rowH-4, html.EscapeString(label))
	}
	type state struct {
		alive, leading bool
		leader         int32
		since          int64
	}
	st := make([]state, len(rows))
	for k := range st {
		st[k] = state{leader: -1}
	}
	flush := func(k int, t int64) {
		s := &st[k]
		y := top + rowH*float64(k)
		if s.since >= t1 || t <= t0 || t <= s.since {
			s.since = t
			return
		}
		x0, x1 := x(s.since), x(t)
		span := fmt.Sprintf("%s–%s", fmtAxis(max(s.since, t0), 1), fmtAxis(min(t, t1), 1))
		switch {
		case !s.alive:
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.0f" fill="#c8c8c8"><title>%s down %s</title></rect>`+"\n",
				x0, y+2, math.Max(x1-x0, 0.5), rowH-4, tl.ids[rows[k]], span)
		case s.leading:
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.0f" fill="#2e9b47"><title>%s leads %s</title></rect>`+"\n",
				x0, y+2, math.Max(x1-x0, 0.5), rowH-4, tl.ids[rows[k]], span)
		case s.leader >= 0:
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="4" fill="%s"><title>%s follows %s %s</title></rect>`+"\n",
				x0, y+rowH/2-2, math.Max(x1-x0, 0.5), color(s.leader), tl.ids[rows[k]], tl.ids[s.leader], span)
		}
		s.since = t
	}
	for k := range rows {
		st[k].since = 0 // members not yet started are drawn as down
	}
	for _, ev := range tl.events {
		k, ok := rowOf[ev.m]
		if !ok {
			continue
		}
		flush(k, ev.t)
		s := &st[k]
		switch ev.kind {
		case tlAlive:
			s.alive, s.leading, s.leader = true, false, -1
		case tlDead:
			s.alive, s.leading, s.leader = false, false, -1
		case tlLeading:
			s.leading = ev.v != 0
		case tlLeader:
			s.leader = ev.v
		}
	}
	for k := range rows {
		flush(k, tl.end)
	}
	// Leader count row.
	y := top + rowH*float64(len(rows)) + 4
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" font-weight="bold">leaders</text>`+"\n", left-6, y+rowH-4)
	for i, c := range tl.counts {
		end := tl.end
		if i+1 < len(tl.counts) {
			end = tl.counts[i+1].t
		}
		if end <= t0 || c.t >= t1 || end <= c.t {
			continue
		}
		fill := "#2e9b47"
		switch {
		case c.n == 0:
			fill = "#d9534f"
		case c.n > 1:
			fill = "#f0ad4e"
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.0f" fill="%s"><title>%d leading %s–%s</title></rect>`+"\n",
			x(c.t), y+2, math.Max(x(end)-x(c.t), 0.5), rowH-4, fill, c.n, fmtAxis(max(c.t, t0), 1), fmtAxis(min(end, t1), 1))
	}
	if omitted > 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" fill="#555">%d other members not shown (they never led and no fault hit them)</text>`+"\n",
			left, y+rowH+14, omitted)
	}
	// Faults, with labels in up to three lanes where they fit.
	var laneEnd [3]float64
	for i := range laneEnd {
		laneEnd[i] = -1e9
	}
	for _, m := range tl.marks {
		if m.t < t0 || m.t > t1 {
			continue
		}
		xm := x(m.t)
		fmt.Fprintf(&b, `<line x1="%.2f" y1="%.0f" x2="%.2f" y2="%.1f" stroke="#c0392b" stroke-dasharray="4,3"><title>%s at %s</title></line>`+"\n",
			xm, top-2, xm, y+rowH, html.EscapeString(m.label), fmtAxis(m.t, 1))
		for lane := range laneEnd {
			if xm > laneEnd[lane] {
				tw := 5.5 * float64(len(m.label))
				tx, anchor := xm+2, "start"
				if tx+tw > width {
					tx, anchor = xm-2, "end"
				}
				fmt.Fprintf(&b, `<text x="%.2f" y="%.0f" fill="#c0392b" font-size="10" text-anchor="%s">%s</text>`+"\n", tx, top-20-11*float64(lane), anchor, html.EscapeString(m.label))
				laneEnd[lane] = xm + 8 + tw
				break
			}
		}
	}
	// Legend.
	ly := height - 14
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="14" height="10" fill="#2e9b47"/><text x="%.0f" y="%.0f">leading</text>`, left, ly-9, left+18, ly)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="14" height="4" fill="%s"/><text x="%.0f" y="%.0f">follows (colour of the leader)</text>`, left+80, ly-6, color(0), left+98, ly)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="14" height="10" fill="#c8c8c8"/><text x="%.0f" y="%.0f">down</text>`, left+290, ly-9, left+308, ly)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#c0392b" stroke-dasharray="4,3"/><text x="%.0f" y="%.0f">fault</text>`+"\n", left+360, ly-10, left+360, ly, left+366, ly)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// rows picks the members to draw, in index order, and how many are left
// out: all of them up to maxRows; beyond, those that ever led, then those
// hit by faults (they went down or came up after the start), then the
// smallest ids, up to maxRows.
func (tl *timeline) rows() ([]int32, int) {
	n := len(tl.ids)
	if n <= maxRows {
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		return rows, 0
	}
	pick := make(map[int32]bool)
	add := func(m int32) {
		if len(pick) < maxRows {
			pick[m] = true
		}
	}
	for _, ev := range tl.events {
		if ev.kind == tlLeading && ev.v != 0 {
			add(ev.m)
		}
	}
	for _, ev := range tl.events {
		if ev.kind == tlDead || ev.kind == tlAlive && ev.t > 0 {
			add(ev.m)
		}
	}
	for i := 0; len(pick) < maxRows && i < n; i++ {
		add(int32(i))
	}
	rows := make([]int32, 0, len(pick))
	for m := range pick {
		rows = append(rows, m)
	}
	slices.Sort(rows)
	return rows, n - len(rows)
}

// color returns a colour for leader l, spread around the hue circle,
// avoiding the red of faults.
func color(l int32) string {
	h := 30 + math.Mod(180+float64(l)*137.508, 300) // no reds
	return fmt.Sprintf("hsl(%.0f,60%%,48%%)", h)
}

// niceStep returns a tick spacing, in round units of time, giving at most
// about twelve ticks over span ns.
func niceStep(span int64) int64 {
	raw := span / 12
	for _, d := range []time.Duration{
		time.Microsecond, 2 * time.Microsecond, 5 * time.Microsecond, 10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
		100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if int64(d) >= raw {
			return int64(d)
		}
	}
	return max(1, raw)
}

func fmtAxis(t, step int64) string {
	d := time.Duration(t)
	switch {
	case step >= int64(time.Second):
		return d.Truncate(time.Second).String()
	case step >= int64(time.Millisecond):
		return d.Truncate(time.Millisecond).String()
	}
	return d.String()
}
