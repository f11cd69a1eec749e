package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are upstream kube-proxy's main metrics.
type metrics struct {
	syncDuration, fullSyncDuration, partialSyncDuration prometheus.Histogram
	networkProgramming                                  prometheus.Histogram
	lastSync, lastQueued                                prometheus.Gauge
	serviceChanges, endpointChanges                     prometheus.Counter
	syncErrors                                          prometheus.Counter
	rules                                               *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, mode string) *metrics {
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: "kubeproxy", Name: name, Help: help, Buckets: buckets})
	}
	syncBuckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &metrics{
		syncDuration:        hist("sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", syncBuckets),
		fullSyncDuration:    hist("sync_full_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for full resyncs", syncBuckets),
		partialSyncDuration: hist("sync_partial_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds for partial resyncs", syncBuckets),
		networkProgramming: hist("network_programming_duration_seconds",
			"In Cluster Network Programming Latency in seconds: from an EndpointSlice change to the rules that apply it",
			append(prometheus.LinearBuckets(0.25, 0.25, 2), prometheus.ExponentialBuckets(1, 2, 12)...)),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "The last time proxy rules were successfully synced"}),
		lastQueued: prometheus.NewGauge(prometheus.GaugeOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_queued_timestamp_seconds",
			Help: "The last time a sync of proxy rules was queued"}),
		serviceChanges: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_service_changes_total",
			Help: "Cumulative proxy rules Service changes"}),
		endpointChanges: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_endpoint_changes_total",
			Help: "Cumulative proxy rules Endpoint changes"}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_errors_total",
			Help: "Cumulative failed syncs of proxy rules"}),
		rules: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "kubeproxy", Name: "sync_proxy_rules_" + mode + "_total",
			Help: "Total number of " + mode + " rules owned by kube-proxy"}, []string{"table"}),
	}
	for _, c := range []prometheus.Collector{m.syncDuration, m.fullSyncDuration, m.partialSyncDuration, m.networkProgramming,
		m.lastSync, m.lastQueued, m.serviceChanges, m.endpointChanges, m.syncErrors, m.rules} {
		_ = reg.Register(c) // a second proxy on the same registry keeps the first's metrics
	}
	return m
}
