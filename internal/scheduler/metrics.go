package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are upstream's main scheduler metrics, on the registry the caller gives.
type metrics struct {
	attempts          *prometheus.CounterVec
	attemptDuration   *prometheus.HistogramVec
	algorithmDuration prometheus.Histogram
	podSLIDuration    *prometheus.HistogramVec
	podAttempts       prometheus.Histogram
	preemptAttempts   prometheus.Counter
	preemptVictims    prometheus.Histogram
	incoming          *prometheus.CounterVec
	bindDuration      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Scheduler) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"result", "profile"}),
		algorithmDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "scheduling_algorithm_duration_seconds",
			Help:    "Scheduling algorithm latency in seconds",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15),
		}),
		podSLIDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "pod_scheduling_sli_duration_seconds",
			Help:    "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
		}, []string{"attempts"}),
		podAttempts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "pod_scheduling_attempts",
			Help:    "Number of attempts to successfully schedule a pod.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 5),
		}),
		preemptAttempts: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "scheduler", Name: "preemption_attempts_total",
			Help: "Total preemption attempts in the cluster till now",
		}),
		preemptVictims: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "preemption_victims",
			Help:    "Number of selected preemption victims",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
		incoming: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "scheduler", Name: "queue_incoming_pods_total",
			Help: "Number of pods added to scheduling queues by event and queue type.",
		}, []string{"queue", "event"}),
		bindDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "binding_duration_seconds",
			Help:    "Latency of the pods/binding call in seconds",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
	}
	pending := prometheus.NewGaugeFunc
	queueSize := func(i int) func() float64 {
		return func() float64 {
			a, b, u, g := s.queue.Sizes()
			return float64([4]int{a, b, u, g}[i])
		}
	}
	collectors := []prometheus.Collector{m.attempts, m.attemptDuration, m.algorithmDuration, m.podSLIDuration,
		m.podAttempts, m.preemptAttempts, m.preemptVictims, m.incoming, m.bindDuration}
	for i, q := range []string{"active", "backoff", "unschedulable", "gated"} {
		collectors = append(collectors, pending(prometheus.GaugeOpts{
			Subsystem: "scheduler", Name: "pending_pods",
			Help:        "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
			ConstLabels: prometheus.Labels{"queue": q},
		}, queueSize(i)))
	}
	for _, t := range []string{"nodes", "pods", "assumed_pods"} {
		collectors = append(collectors, pending(prometheus.GaugeOpts{
			Subsystem: "scheduler", Name: "cache_size",
			Help:        "Number of nodes, pods, and assumed (bound) pods in the scheduler cache.",
			ConstLabels: prometheus.Labels{"type": t},
		}, func() float64 {
			switch t {
			case "nodes":
				return float64(s.cache.NodeCount())
			case "pods":
				b, a := s.cache.PodCount()
				return float64(a + b)
			}
			_, a := s.cache.PodCount()
			return float64(a)
		}))
	}
	for _, c := range collectors {
		_ = reg.Register(c) // a second scheduler on the same registry keeps the first's metrics
	}
	return m
}
