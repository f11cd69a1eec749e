package bench

import (
	"testing"
	"time"
)

// startSamples is how many starts each sub-benchmark times.
const startSamples = 5

// BenchmarkServerStart times `capstan server --disable-agent` from exec to its "Capstan
// server is ready" log line, and to the first 200 from /readyz, with a fresh data directory
// (CA and certificates issued, etcd bootstrapped, system objects created) and with an existing
// one (restart). Target: < 1 s.
func BenchmarkServerStart(b *testing.B) {
	b.Run("fresh", func(b *testing.B) {
		benchStarts(b, func() string { return b.TempDir() })
	})
	b.Run("existing", func(b *testing.B) {
		dir := b.TempDir()
		first := startServer(b, startOptions{dataDir: dir})
		first.stop()
		benchStarts(b, func() string { return dir })
	})
}

func benchStarts(b *testing.B, dataDir func() string) {
	var ready, readyz []time.Duration
	for range b.N {
		for range startSamples {
			p := startServer(b, startOptions{dataDir: dataDir(), pollReadyz: true})
			ready = append(ready, p.ready)
			readyz = append(readyz, p.readyz)
			p.stop()
		}
	}
	hideNsPerOp(b)
	b.ReportMetric(percentileMs(ready, 50), "ready-p50-ms")
	b.ReportMetric(percentileMs(ready, 100), "ready-max-ms")
	b.ReportMetric(percentileMs(readyz, 50), "readyz-p50-ms")
	b.ReportMetric(percentileMs(readyz, 100), "readyz-max-ms")
}
