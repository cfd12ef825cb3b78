package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/bellwether-go/bellwether"
	bwprom "github.com/bellwether-go/bellwether/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// leaderJSON is the body of GET /leader.
type leaderJSON struct {
	Group    string  `json:"group"`
	ID       string  `json:"id"`
	Leader   *string `json:"leader"` // null when no leader is known
	Value    string  `json:"value"`  // the leader's value, "" when none
	Epoch    uint64  `json:"epoch"`  // the leader's epoch, 0 when unknown
	IsLeader bool    `json:"isLeader"`
	Since    string  `json:"since"` // RFC 3339, when Leader last changed
}

// newStatusHandler returns the status server's handler for e:
//
//	GET /leader   {"group":…,"id":…,"leader":…|null,"value":…,"epoch":…,"isLeader":…,"since":…}
//	GET /healthz  200 "ok" while e's bus works, 503 and the reason when not
//	GET /metrics  Prometheus text format, from a registry of its own
//
// bus is the bus URL, whose secrets /healthz's reason never shows.
func newStatusHandler(e *bellwether.Elector, bus string) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(bwprom.NewCollector(e))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /leader", func(w http.ResponseWriter, r *http.Request) {
		st := e.Status()
		body := leaderJSON{Group: st.Group, ID: st.ID, IsLeader: st.IsLeader, Since: st.Since.UTC().Format(time.RFC3339Nano)}
		if st.Leader != "" {
			body.Leader, body.Value, body.Epoch = &st.Leader, st.Value, st.Epoch
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := e.Health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %s\n", oneLine(scrubError(err, bus)))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
