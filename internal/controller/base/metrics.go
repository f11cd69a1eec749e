package base

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

// Metrics are the per-controller metrics every Loop records, labelled by controller: queue
// depth, adds, retries, and sync latency and errors.
type Metrics struct {
	depth           *prometheus.GaugeVec
	addsC, retriesC *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	syncErrors      *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg (never a global registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		depth:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_depth", Help: "Current depth of the workqueue."}, []string{"name"}),
		addsC:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_adds_total", Help: "Total number of adds handled by the workqueue."}, []string{"name"}),
		retriesC: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_retries_total", Help: "Total number of retries handled by the workqueue."}, []string{"name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "controller_sync_duration_seconds", Help: "Time a sync of one key takes.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"controller"}),
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_sync_errors_total", Help: "Syncs that failed and were retried."}, []string{"controller"}),
	}
	reg.MustRegister(m.depth, m.addsC, m.retriesC, m.latency, m.syncErrors)
	return m
}

func (m *Metrics) observe(name string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.latency.WithLabelValues(name).Observe(d.Seconds())
	if err != nil {
		if _, again := err.(*requeueAfter); !again {
			m.syncErrors.WithLabelValues(name).Inc()
		}
	}
}

func (m *Metrics) provider() workqueue.MetricsProvider {
	if m == nil {
		return nil
	}
	return queueMetrics{m}
}

// queueMetrics feeds the workqueue's own instrumentation into Metrics.
type queueMetrics struct{ m *Metrics }

func (q queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return q.m.depth.WithLabelValues(name)
}
func (q queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return q.m.addsC.WithLabelValues(name)
}
func (q queueMetrics) NewLatencyMetric(string) workqueue.HistogramMetric { return noopHistogram{} }
func (q queueMetrics) NewWorkDurationMetric(string) workqueue.HistogramMetric {
	return noopHistogram{}
}
func (q queueMetrics) NewUnfinishedWorkSecondsMetric(string) workqueue.SettableGaugeMetric {
	return noopGauge{}
}
func (q queueMetrics) NewLongestRunningProcessorSecondsMetric(string) workqueue.SettableGaugeMetric {
	return noopGauge{}
}
func (q queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return q.m.retriesC.WithLabelValues(name)
}

type noopHistogram struct{}

func (noopHistogram) Observe(float64) {}

type noopGauge struct{}

func (noopGauge) Set(float64) {}
