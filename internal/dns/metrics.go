package dns

import (
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the DNS server, on the registry the caller gives.
type metrics struct {
	requests        *prometheus.CounterVec   // proto, type
	responses       *prometheus.CounterVec   // source, rcode
	duration        *prometheus.HistogramVec // source
	cacheHits       prometheus.Counter
	cacheMisses     prometheus.Counter
	forwardErrors   prometheus.Counter
	forwardDuration prometheus.Histogram
}

// Sources of answers, the "source" label.
const (
	sourceCluster = "cluster" // the cluster zone or a cluster reverse name
	sourceCache   = "cache"   // a forwarded name answered from the cache
	sourceForward = "forward" // a forwarded name asked upstream
	sourceError   = "error"   // refused, malformed, not ready
)

func newMetrics(reg prometheus.Registerer, cacheLen func() int) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "requests_total",
			Help: "DNS queries received, by transport and query type.",
		}, []string{"proto", "type"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "responses_total",
			Help: "DNS responses sent, by where the answer came from and response code.",
		}, []string{"source", "rcode"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "request_duration_seconds",
			Help:    "Time from receiving a query to writing its response, by where the answer came from.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}, []string{"source"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "cache_hits_total",
			Help: "Forwarded questions answered from the cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "cache_misses_total",
			Help: "Forwarded questions the cache could not answer.",
		}),
		forwardErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "forward_errors_total",
			Help: "Upstream queries that failed (timeout, connection error).",
		}),
		forwardDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "capstan", Subsystem: "dns", Name: "forward_duration_seconds",
			Help:    "Time an upstream resolver took to answer.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.responses, m.duration, m.cacheHits, m.cacheMisses, m.forwardErrors, m.forwardDuration,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "capstan", Subsystem: "dns", Name: "cache_entries",
				Help: "Answers held in the forwarding cache.",
			}, func() float64 { return float64(cacheLen()) }))
	}
	return m
}

// typeLabel keeps the "type" label's values few.
func typeLabel(qtype uint16) string {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT, dns.TypeSOA, dns.TypeNS, dns.TypeMX, dns.TypeANY:
		return dns.TypeToString[qtype]
	}
	return "other"
}

func rcodeLabel(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return "other"
}
