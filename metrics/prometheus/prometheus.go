// Package prometheus exposes an Elector's statistics as Prometheus metrics.
//
// A program that embeds bellwether registers its Elector on a registry of
// its own:
//
//	reg := prometheus.NewRegistry() // client_golang's
//	if err := bwprom.Register(reg, elector); err != nil {
//		return err
//	}
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The collector reads [bellwether.Elector.Stats] at every scrape, so it
// costs nothing between scrapes and never falls behind. Every metric
// carries the constant labels group and id, which lets several Electors
// share one registry. Nothing here touches the global registry.
//
// The metrics are:
//
//	bellwether_is_leader                      gauge, 1 while the member leads
//	bellwether_epoch                          gauge, the known leader's epoch (its fencing token), 0 when none
//	bellwether_leader_changes_total           counter
//	bellwether_elections_total                counter
//	bellwether_events_sent_total{action}      counter
//	bellwether_events_received_total{action}  counter
//	bellwether_events_rejected_total{reason}  counter, every reason exported from the first scrape
//	bellwether_duplicate_leaders_total        counter
//	bellwether_send_errors_total              counter
//	bellwether_events_flooded_total           counter, events beyond FloodLimit from one sender
//	bellwether_election_duration_seconds      histogram
package prometheus

import (
	"errors"
	"slices"

	"github.com/bellwether-go/bellwether"
	"github.com/prometheus/client_golang/prometheus"
)

// Actions are the label values of the action label, always exported, so
// that every series exists from the first scrape.
var actions = []bellwether.Action{
	bellwether.ActionRequest,
	bellwether.ActionAccept,
	bellwether.ActionCurrent,
	bellwether.ActionWithdraw,
}

// reasons are the rejection reasons always exported; others the Elector
// reports are added as they appear.
var reasons = []string{
	bellwether.ReasonSyntax,
	bellwether.ReasonType,
	bellwether.ReasonAction,
	bellwether.ReasonClientID,
	bellwether.ReasonTooLarge,
	bellwether.ReasonEpoch,
	bellwether.ReasonValue,
	bellwether.ReasonTakeover,
	bellwether.ReasonOwnID,
	// a keyed member's (Config.Keys)
	bellwether.ReasonUnsigned,
	bellwether.ReasonUnknownKey,
	bellwether.ReasonBadMAC,
	bellwether.ReasonGroup,
	bellwether.ReasonReplay,
	bellwether.ReasonClock,
}

// Collector is a prometheus.Collector of one Elector's statistics. Make
// it with NewCollector.
type Collector struct {
	e *bellwether.Elector

	isLeader, epoch, leaderChanges, elections, duplicates, sendErrors, flooded *prometheus.Desc
	sent, received, rejected, durations                                        *prometheus.Desc
}

// NewCollector returns a Collector of e's statistics, labelled with e's
// group and id.
func NewCollector(e *bellwether.Elector) *Collector {
	if e == nil {
		panic("bellwether/metrics/prometheus: NewCollector: Elector is nil")
	}
	labels := prometheus.Labels{"group": e.Group(), "id": e.ID()}
	desc := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc("bellwether_"+name, help, variable, labels)
	}
	return &Collector{
		e:             e,
		isLeader:      desc("is_leader", "1 while this member is the leader of its group, else 0."),
		epoch:         desc("epoch", "Epoch of the leader this member knows (its own while it leads), the fencing token; 0 when no leader is known or the leader sends none."),
		leaderChanges: desc("leader_changes_total", "Changes of the leader this member knows of, including to and from none."),
		elections:     desc("elections_total", "Elections this member took part in."),
		duplicates:    desc("duplicate_leaders_total", "Times this member, leading, met another leader."),
		sendErrors:    desc("send_errors_total", "Broadcasts the bus refused."),
		flooded:       desc("events_flooded_total", "Valid events received from one sender beyond bellwether.FloodLimit in one heartbeat interval."),
		sent:          desc("events_sent_total", "Leader events this member broadcast, by action.", "action"),
		received:      desc("events_received_total", "Valid leader events this member heard, by action.", "action"),
		rejected:      desc("events_rejected_total", "Messages from the bus this member dropped, by reason.", "reason"),
		durations:     desc("election_duration_seconds", "Length of the elections this member took part in, from start to end."),
	}
}

// Register registers a Collector of e on reg. It fails if reg already
// holds a collector of a member with the same group and id.
func Register(reg prometheus.Registerer, e *bellwether.Elector) error {
	if reg == nil {
		return errors.New("bellwether/metrics/prometheus: Register: Registerer is nil")
	}
	if e == nil {
		return errors.New("bellwether/metrics/prometheus: Register: Elector is nil")
	}
	return reg.Register(NewCollector(e))
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.isLeader, c.epoch, c.leaderChanges, c.elections, c.duplicates,
		c.sendErrors, c.flooded, c.sent, c.received, c.rejected, c.durations} {
		ch <- d
	}
}

// Collect reads the Elector's statistics and sends them as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.Stats()
	gauge := 0.0
	if s.IsLeader {
		gauge = 1
	}
	ch <- prometheus.MustNewConstMetric(c.isLeader, prometheus.GaugeValue, gauge)
	// A float64 holds every epoch exactly: they are below 2^53.
	ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(s.Epoch))
	counter := func(d *prometheus.Desc, v uint64, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label...)
	}
	counter(c.leaderChanges, s.LeaderChanges)
	counter(c.elections, s.Elections)
	counter(c.duplicates, s.DuplicateLeaders)
	counter(c.sendErrors, s.SendErrors)
	counter(c.flooded, s.Flooded)
	for _, a := range actions {
		counter(c.sent, s.Sent[a], string(a))
		counter(c.received, s.Received[a], string(a))
	}
	for _, r := range reasons {
		counter(c.rejected, s.Rejected[r], r)
	}
	var extra []string
	for r := range s.Rejected {
		if !slices.Contains(reasons, r) {
			extra = append(extra, r)
		}
	}
	slices.Sort(extra)
	for _, r := range extra {
		counter(c.rejected, s.Rejected[r], r)
	}
	h := s.ElectionDurations
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		if i < len(h.Counts) {
			buckets[b] = h.Counts[i]
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.durations, h.Count, h.Sum, buckets)
}
