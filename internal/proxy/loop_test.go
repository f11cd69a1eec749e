package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// startSyncer runs a syncer whose desired state is new at every compute.
func startSyncer(t *testing.T, p Proxier, syncPeriod, minSyncPeriod time.Duration) (*syncer, *prometheus.Registry) {
	t.Helper()
	var generation atomic.Int64
	return startSyncerWith(t, p, func() *desired.State {
		return &desired.State{Services: []desired.ServicePort{{Name: desired.ServicePortName{Name: fmt.Sprint(generation.Add(1))}}}}
	}, syncPeriod, minSyncPeriod)
}

func startSyncerWith(t *testing.T, p Proxier, compute func() *desired.State, syncPeriod, minSyncPeriod time.Duration) (*syncer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := newSyncer(p, compute, &runner.Fake{}, slog.New(slog.DiscardHandler),
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
	// The burst allows a second sync at once; the changes after it wait for a token.
	start := time.Now()
	for range 20 {
		s.changed("", time.Time{})
	}
	waitFor(t, "a second sync", func() bool { return len(p.get()) == 2 })
	for range 20 {
		s.changed("", time.Time{})
	}
	waitFor(t, "a third sync", func() bool { return len(p.get()) == 3 })
	if n := len(p.get()); n != 3 {
		t.Errorf("%d syncs for 40 changes in two bursts, want 3 in all", n)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("three syncs ran within one --min-sync-period")
	}
}

func TestSyncerSkipsAChangeThatChangesNoRule(t *testing.T) {
	t.Parallel()
	p := &fakeProxier{}
	same := &desired.State{Services: []desired.ServicePort{{Name: desired.ServicePortName{Name: "web"}}}}
	var changed atomic.Bool
	s, reg := startSyncerWith(t, p, func() *desired.State {
		if changed.Load() {
			return &desired.State{}
		}
		return &desired.State{Services: slices.Clone(same.Services)}
	}, time.Hour, time.Hour)
	waitFor(t, "the first sync", func() bool { return len(p.get()) == 1 })
	// Five changes that change no rule: none reaches the mode, none spends a token.
	for i := range 5 {
		s.changed(fmt.Sprint("ns/slice-", i), time.Now())
		waitFor(t, "the change to be seen", func() bool {
			return metricValue(t, reg, "kubeproxy_network_programming_duration_seconds") == float64(i+1)
		})
	}
	if n := len(p.get()); n != 1 {
		t.Fatalf("%d syncs after changes that change no rule, want 1", n)
	}
	// A real change still finds the second token of the burst, despite the hour-long period.
	changed.Store(true)
	s.changed("", time.Time{})
	waitFor(t, "a second sync", func() bool { return len(p.get()) == 2 })
}

// inProcessProxier is a mode that writes no netfilter rule for its syncs after the first.
type inProcessProxier struct{ fakeProxier }

func (p *inProcessProxier) WroteNetfilter() bool { return len(p.get()) == 1 }

func TestSyncerDoesNotCountSyncsThatWroteNoNetfilter(t *testing.T) {
	t.Parallel()
	p := &inProcessProxier{}
	s, _ := startSyncer(t, p, time.Hour, time.Hour)
	waitFor(t, "the first sync", func() bool { return len(p.get()) == 1 })
	// With an hour-long period only the burst's second token is left; syncs that wrote no
	// netfilter give it back, so all five run.
	for i := range 5 {
		s.changed("", time.Time{})
		waitFor(t, fmt.Sprint("sync ", i+2), func() bool { return len(p.get()) == i+2 })
	}
}

func TestSyncBucket(t *testing.T) {
	t.Parallel()
	const period = time.Second
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		period time.Duration
		at     []time.Duration // when each sync asks, from t0
		want   []time.Duration // how long each waits
	}{
		{"a burst of two runs at once, the third waits a period", period,
			[]time.Duration{0, 0, 0}, []time.Duration{0, 0, period}},
		{"after a quiet spell the first change runs at once", period,
			[]time.Duration{0, 0, 10 * time.Second}, []time.Duration{0, 0, 0}},
		{"the bucket refills at one token a period", period,
			[]time.Duration{0, 0, 500 * time.Millisecond, 1500 * time.Millisecond}, []time.Duration{0, 0, 500 * time.Millisecond, 500 * time.Millisecond}},
		{"the bucket holds no more than the burst", period,
			[]time.Duration{0, time.Hour, time.Hour, time.Hour}, []time.Duration{0, 0, 0, period}},
		{"no period, no wait", 0,
			[]time.Duration{0, 0, 0, 0}, []time.Duration{0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := syncBucket{tokens: syncBurst}
			for i, at := range tc.at {
				if got := b.take(t0.Add(at), tc.period); got != tc.want[i] {
					t.Errorf("sync %d at %v waits %v, want %v", i, at, got, tc.want[i])
				}
			}
		})
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

func TestNodeLabelsChangedIgnoresStatus(t *testing.T) {
	t.Parallel()
	node := func(zone string, ready corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"topology.kubernetes.io/zone": zone}},
			Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}},
		}
	}
	for _, tc := range []struct {
		name     string
		old, cur *corev1.Node
		want     bool
	}{
		{"a heartbeat", node("a", corev1.ConditionTrue), node("a", corev1.ConditionTrue), false},
		{"a status change", node("a", corev1.ConditionTrue), node("a", corev1.ConditionFalse), false},
		{"a new zone", node("a", corev1.ConditionTrue), node("b", corev1.ConditionTrue), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			nodeLabelsChanged(tc.old, tc.cur, func(any) { called = true })
			if called != tc.want {
				t.Errorf("sync queued = %v, want %v", called, tc.want)
			}
		})
	}
}
