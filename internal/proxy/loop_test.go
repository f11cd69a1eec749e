package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// fakeProxier records the syncs it is given.
type fakeProxier struct {
	mu    sync.Mutex
	syncs []bool // Full of each sync
	fail  int    // fail this many syncs first
}

func (f *fakeProxier) Sync(_ context.Context, st *desired.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, st.Full)
	if f.fail > 0 {
		f.fail--
		return errors.New("injected failure")
	}
	return nil
}

func (f *fakeProxier) Cleanup(context.Context) error { return nil }

func (f *fakeProxier) RuleCounts() map[string]int { return map[string]int{"nat": 7} }

func (f *fakeProxier) get() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool{}, f.syncs...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// metricValue is a gauge's value or a histogram's sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		return m.GetGauge().GetValue()
	}
	return -1
}

func startSyncer(t *testing.T, p Proxier, syncPeriod, minSyncPeriod time.Duration) (*syncer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := newSyncer(p, func() *desired.State { return &desired.State{} }, &runner.Fake{}, slog.New(slog.DiscardHandler),
		newMetrics(reg, "fake"), syncPeriod, minSyncPeriod)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); s.loop(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, reg
}

func TestSyncerFullFirstThenPartialOnChange(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{}
	s, reg := startSyncer(t, p, time.Hour, time.Millisecond)
	waitFor(t, "the first sync", func() bool { return len(p.get()) == 1 })
	s.changed("ns/slice", time.Now().Add(-time.Second))
	waitFor(t, "a second sync", func() bool { return len(p.get()) == 2 })
	if got := p.get(); !got[0] || got[1] {
		t.Errorf("syncs were full=%v, want a full one then a partial one", got)
	}
	waitFor(t, "the network programming latency", func() bool {
		return metricValue(t, reg, "kubeproxy_network_programming_duration_seconds") == 1
	})
	if v := metricValue(t, reg, "kubeproxy_sync_proxy_rules_fake_total"); v != 7 {
		t.Errorf("rules gauge = %v, want 7", v)
	}
}

func TestSyncerBatchesChangesWithinMinSyncPeriod(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{}
	s, _ := startSyncer(t, p, time.Hour, 300*time.Millisecond)
	waitFor(t, "the first sync", func() bool { return len(p.get()) == 1 })
	for range 20 {
		s.changed("", time.Time{})
	}
	waitFor(t, "a second sync", func() bool { return len(p.get()) == 2 })
	start := time.Now()
	s.changed("", time.Time{})
	waitFor(t, "a third sync", func() bool { return len(p.get()) == 3 })
	if n := len(p.get()); n != 3 {
		t.Errorf("%d syncs for 21 changes in two bursts, want 3 in all", n)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("two syncs ran closer than --min-sync-period")
	}
}

func TestSyncerRetriesFullAfterAFailure(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{}
	s, _ := startSyncer(t, p, time.Hour, time.Millisecond)
	waitFor(t, "the first sync", func() bool { return len(p.get()) == 1 })
	p.mu.Lock()
	p.fail = 1
	p.mu.Unlock()
	s.changed("", time.Time{})
	waitFor(t, "a retry", func() bool { return len(p.get()) == 3 })
	if got := p.get(); got[1] || !got[2] {
		t.Errorf("syncs were full=%v, want the retry after the failed partial sync to be full", got)
	}
}

func TestSyncerFullSyncEverySyncPeriod(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{}
	startSyncer(t, p, 50*time.Millisecond, time.Millisecond)
	waitFor(t, "three syncs", func() bool { return len(p.get()) >= 3 })
	for i, full := range p.get()[:3] {
		if !full {
			t.Errorf("periodic sync %d was partial", i)
		}
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{fail: 1 << 30}
	s, _ := startSyncer(t, p, time.Hour, time.Hour)
	waitFor(t, "a failed sync", func() bool { return len(p.get()) == 1 })

	rec := httptest.NewRecorder()
	healthHandler(s, time.Hour).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz = %d before the timeout, want 200", rec.Code)
	}
	rec = httptest.NewRecorder()
	healthHandler(s, time.Nanosecond).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"lastUpdated":""`) {
		t.Errorf("healthz = %d %s with a change pending past the timeout, want 503 and no last update", rec.Code, rec.Body)
	}

	ok := &fakeProxier{}
	s2, _ := startSyncer(t, ok, time.Hour, time.Millisecond)
	waitFor(t, "a sync", func() bool { return len(ok.get()) == 1 })
	waitFor(t, "healthy", func() bool {
		rec := httptest.NewRecorder()
		healthHandler(s2, time.Nanosecond).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code == 200 && !strings.Contains(rec.Body.String(), `"lastUpdated":""`)
	})
}

func TestModes(t *testing.T) {
	t.Parallel()
	if _, err := newProxier(ModeIPTables, modeConfig{runner: &runner.Fake{}}); err != nil {
		t.Errorf("iptables: %v", err)
	}
	if _, err := newProxier(ModeUserspace, modeConfig{runner: &runner.Fake{}}); err != nil {
		t.Errorf("userspace: %v", err)
	}
	if _, err := newProxier("ipvs", modeConfig{}); err == nil || !strings.Contains(err.Error(), "unknown --proxy-mode") {
		t.Errorf("ipvs: %v", err)
	}
}
