package prometheus_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/metrics"
	bwprom "github.com/bellwether-go/bellwether/metrics/prometheus"
	"github.com/bellwether-go/bellwether/transport/mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fast = bellwether.Settings{
	ElectionTimeout:   100 * time.Millisecond,
	HeartbeatInterval: 200 * time.Millisecond,
	HeartbeatTimeout:  time.Second,
}

// newTransport returns a Transport on a hub of its own, closed when the
// test ends.
func newTransport(t *testing.T) bellwether.Transport {
	tr := mem.NewHub().NewTransport()
	t.Cleanup(func() { tr.Close() })
	return tr
}

func join(t *testing.T, tr bellwether.Transport, id string, observer bool) *bellwether.Elector {
	t.Helper()
	e, err := bellwether.Join(t.Context(), tr, bellwether.Config{ID: id, Group: "g", Settings: fast, Observer: observer})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCollectorLeaderAndFollower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub()
		tr := hub.NewTransport()
		defer tr.Close()
		a := join(t, tr, "a", false)
		b := join(t, tr, "b", false)

		reg := prometheus.NewRegistry()
		if err := bwprom.Register(reg, a); err != nil {
			t.Fatal(err)
		}
		if err := bwprom.Register(reg, b); err != nil {
			t.Fatal(err)
		}
		if err := bwprom.Register(reg, a); err == nil {
			t.Error("registering the same member twice succeeded")
		}

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := a.AwaitLeadership(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * fast.HeartbeatInterval) // b hears some heartbeats
		synctest.Wait()

		want := `
# HELP bellwether_is_leader 1 while this member is the leader of its group, else 0.
# TYPE bellwether_is_leader gauge
bellwether_is_leader{group="g",id="a"} 1
bellwether_is_leader{group="g",id="b"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bellwether_is_leader"); err != nil {
			t.Error(err)
		}
		sa, sb := a.Stats(), b.Stats()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				key := mf.GetName()
				for _, l := range m.GetLabel() {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				switch {
				case m.Counter != nil:
					got[key] = m.Counter.GetValue()
				case m.Gauge != nil:
					got[key] = m.Gauge.GetValue()
				case m.Histogram != nil:
					got[key] = float64(m.Histogram.GetSampleCount())
				}
			}
		}
		check := func(key string, want uint64) {
			t.Helper()
			v, ok := got[key]
			if !ok {
				t.Errorf("no series %s", key)
				return
			}
			if v != float64(want) {
				t.Errorf("%s = %v, want %d", key, v, want)
			}
		}
		check("bellwether_events_sent_total,action=current,group=g,id=a", sa.Sent[bellwether.ActionCurrent])
		check("bellwether_events_received_total,action=current,group=g,id=b", sb.Received[bellwether.ActionCurrent])
		check("bellwether_events_sent_total,action=withdraw,group=g,id=b", 0)
		check("bellwether_events_rejected_total,group=g,id=a,reason=syntax", 0)
		check("bellwether_events_rejected_total,group=g,id=a,reason=own_id", 0)
		check("bellwether_elections_total,group=g,id=a", sa.Elections)
		check("bellwether_leader_changes_total,group=g,id=b", sb.LeaderChanges)
		check("bellwether_duplicate_leaders_total,group=g,id=a", 0)
		check("bellwether_send_errors_total,group=g,id=a", 0)
		check("bellwether_election_duration_seconds,group=g,id=a", sa.ElectionDurations.Count)
		check("bellwether_epoch,group=g,id=a", sa.Epoch)
		check("bellwether_epoch,group=g,id=b", sb.Epoch)
		if sa.Epoch == 0 || sb.Epoch != sa.Epoch {
			t.Errorf("epochs: leader %d, follower %d; want the leader's, known to both", sa.Epoch, sb.Epoch)
		}
		if sa.Sent[bellwether.ActionCurrent] == 0 || sb.Received[bellwether.ActionCurrent] == 0 || sa.ElectionDurations.Count == 0 {
			t.Errorf("the test did not exercise the counters: %+v %+v", sa, sb)
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", problems, err)
		}

		if err := a.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		want = strings.Replace(want, `id="a"} 1`, `id="a"} 0`, 1)
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bellwether_is_leader"); err != nil {
			t.Error(err)
		}
	})
}

func TestHistogramBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t)
		e := join(t, tr, "solo", false)
		defer e.Close(t.Context())
		if err := e.AwaitLeadership(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := bwprom.NewCollector(e)
		if n := testutil.CollectAndCount(c, "bellwether_election_duration_seconds"); n != 1 {
			t.Fatalf("%d histogram series, want 1", n)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "bellwether_election_duration_seconds" {
				continue
			}
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 {
				t.Errorf("sample count %d, want 1", h.GetSampleCount())
			}
			if len(h.GetBucket()) != len(metrics.ElectionBuckets()) {
				t.Errorf("%d buckets, want %d", len(h.GetBucket()), len(metrics.ElectionBuckets()))
			}
			// One election of about ElectionTimeout: every bucket at or
			// above it holds it.
			for _, b := range h.GetBucket() {
				want := uint64(0)
				if b.GetUpperBound() >= h.GetSampleSum() {
					want = 1
				}
				if b.GetCumulativeCount() != want {
					t.Errorf("bucket le=%v holds %d, want %d (sum %v)", b.GetUpperBound(), b.GetCumulativeCount(), want, h.GetSampleSum())
				}
			}
			return
		}
		t.Fatal("no histogram gathered")
	})
}

// TestEpochGauge: bellwether_epoch is 0 while no leader is known, then the
// leader's epoch, exactly, on the leader and on an observer.
func TestEpochGauge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t)
		o := join(t, tr, "o", true)
		defer o.Close(t.Context())
		epoch := func(e *bellwether.Elector) float64 {
			t.Helper()
			return testutil.ToFloat64(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
				for m := range collect(bwprom.NewCollector(e)) {
					if strings.Contains(m.Desc().String(), `"bellwether_epoch"`) {
						ch <- m
					}
				}
			}))
		}
		if got := epoch(o); got != 0 {
			t.Errorf("no leader known: bellwether_epoch %v, want 0", got)
		}
		l := join(t, tr, "l", false)
		defer l.Close(t.Context())
		if err := l.AwaitLeadership(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * fast.HeartbeatInterval) // o hears a heartbeat
		synctest.Wait()
		want := l.Status().Epoch
		if want == 0 {
			t.Fatal("the leader has no epoch")
		}
		if got := epoch(l); got != float64(want) {
			t.Errorf("leader: bellwether_epoch %v, want %d", got, want)
		}
		if got := epoch(o); got != float64(want) {
			t.Errorf("observer: bellwether_epoch %v, want the leader's %d", got, want)
		}
	})
}

// collect returns the metrics c collects, on a closed channel.
func collect(c prometheus.Collector) chan prometheus.Metric {
	ch := make(chan prometheus.Metric, 64)
	c.Collect(ch)
	close(ch)
	return ch
}

func TestRegisterNil(t *testing.T) {
	if err := bwprom.Register(nil, nil); err == nil {
		t.Error("Register(nil, nil) succeeded")
	}
	if err := bwprom.Register(prometheus.NewRegistry(), nil); err == nil {
		t.Error("Register(reg, nil) succeeded")
	}
}

// TestRejectedReasons: every rejection reason, a keyed member's included,
// is a series from the first scrape, and a keyed member's rejections are
// counted under their reason.
func TestRejectedReasons(t *testing.T) {
	all := []string{
		bellwether.ReasonSyntax, bellwether.ReasonType, bellwether.ReasonAction, bellwether.ReasonClientID,
		bellwether.ReasonTooLarge, bellwether.ReasonEpoch, bellwether.ReasonValue, bellwether.ReasonTakeover,
		bellwether.ReasonOwnID,
		bellwether.ReasonUnsigned, bellwether.ReasonUnknownKey, bellwether.ReasonBadMAC, bellwether.ReasonGroup,
		bellwether.ReasonReplay, bellwether.ReasonClock,
	}
	synctest.Test(t, func(t *testing.T) {
		ring, err := bellwether.NewKeyring([]byte(strings.Repeat("k", bellwether.MinKeySize)))
		if err != nil {
			t.Fatal(err)
		}
		tr := newTransport(t)
		keyed, err := bellwether.Join(t.Context(), tr, bellwether.Config{ID: "a", Group: "g", Settings: fast, Keys: ring})
		if err != nil {
			t.Fatal(err)
		}
		defer keyed.Close(t.Context())
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(bwprom.NewCollector(keyed))
		rejected := func() map[string]float64 {
			t.Helper()
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, mf := range mfs {
				if mf.GetName() != "bellwether_events_rejected_total" {
					continue
				}
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "reason" {
							got[l.GetValue()] = m.GetCounter().GetValue()
						}
					}
				}
			}
			return got
		}
		first := rejected()
		for _, r := range all {
			if v, ok := first[r]; !ok || v != 0 {
				t.Errorf("first scrape: reason %q: %v, %v; want a series at 0", r, v, ok)
			}
		}
		if len(first) != len(all) {
			t.Errorf("first scrape: %d reasons, want %d: %v", len(first), len(all), first)
		}

		// An unkeyed member of the group, with an id that sorts first so
		// that it speaks (a quiet member is silent when it hears a smaller
		// candidate): every message of its is unsigned for the keyed one.
		plain := join(t, tr, "0", false)
		time.Sleep(3 * fast.HeartbeatTimeout)
		synctest.Wait()
		got := rejected()
		want := keyed.Stats().Rejected[bellwether.ReasonUnsigned]
		if want == 0 || got[bellwether.ReasonUnsigned] != float64(want) {
			t.Errorf("reason unsigned: %v, Stats says %d; want the same, above 0", got[bellwether.ReasonUnsigned], want)
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", problems, err)
		}
		if err := plain.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFloodedMetric: events from one sender beyond FloodLimit in one
// heartbeat interval are counted in bellwether_events_flooded_total, as in
// Stats.Flooded.
func TestFloodedMetric(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := mem.NewHub()
		e := join(t, hub.NewTransport(), "a", false)
		defer e.Close(t.Context())
		tap, err := hub.NewTransport().Join(t.Context(), "g")
		if err != nil {
			t.Fatal(err)
		}
		defer tap.Close()
		msg := bellwether.NewEvent(bellwether.ActionAccept, "x").AppendJSON(nil)
		for i := 0; i < bellwether.FloodLimit+10; i++ {
			if err := tap.Send(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(bwprom.NewCollector(e))
		const want = `
# HELP bellwether_events_flooded_total Valid events received from one sender beyond bellwether.FloodLimit in one heartbeat interval.
# TYPE bellwether_events_flooded_total counter
bellwether_events_flooded_total{group="g",id="a"} 10
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bellwether_events_flooded_total"); err != nil {
			t.Error(err)
		}
		if n := e.Stats().Flooded; n != 10 {
			t.Errorf("Stats.Flooded = %d, want 10", n)
		}
	})
}
