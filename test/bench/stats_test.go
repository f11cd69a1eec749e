package bench

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// percentile is the nearest-rank percentile (0 < p <= 100) of l, in milliseconds.
func (l *latencies) percentile(p float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return percentileMs(l.d, p)
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(s)-1))
	return ms(s[rank])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report adds the p50, p99 and max of l as metrics named prefix+"p50-ms" and so on.
func (l *latencies) report(b *testing.B, prefix string) {
	b.ReportMetric(l.percentile(50), prefix+"p50-ms")
	b.ReportMetric(l.percentile(99), prefix+"p99-ms")
	b.ReportMetric(l.percentile(100), prefix+"max-ms")
}

// hideNsPerOp drops the ns/op column: these benchmarks do a fixed amount of work per run,
// so their wall time is not a per-operation cost.
func hideNsPerOp(b *testing.B) { b.ReportMetric(0, "ns/op") }

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[99-i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentileMs(d, tc.p); got != tc.want {
			t.Errorf("p%v of 1..100 ms is %v ms, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentileMs(nil, 99); got != 0 {
		t.Errorf("p99 of nothing is %v, want 0", got)
	}
}
