package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

// Metrics is the engine's Prometheus registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the engine's metrics. Any argument may be nil.
func NewMetrics(s store.Store, leading func() bool, flags *snapshot.Cache) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "progressive_http_requests_total", Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "progressive_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.Registry.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s != nil {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "progressive_store_revision", Help: "The store revision: bumped by every change that affects routing or flag evaluation.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rev, err := s.Revision(ctx)
			if err != nil {
				return -1
			}
			return float64(rev)
		}))
	}
	if flags != nil {
		m.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "progressive_snapshot_revision", Help: "The store revision of the flag snapshot this replica evaluates from.",
			}, func() float64 { return float64(flags.Current().Revision) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "progressive_snapshot_lag_seconds", Help: "Time since this replica last confirmed its flag snapshot current against the store.",
			}, func() float64 { return flags.Lag().Seconds() }),
		)
	}
	if leading != nil {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "progressive_leader", Help: "1 when this replica holds the controller lease.",
		}, func() float64 {
			if leading() {
				return 1
			}
			return 0
		}))
	}
	return m
}

func (m *Metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
