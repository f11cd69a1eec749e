package proxy

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// syncer runs a Proxier: a full sync at start and every syncPeriod, partial syncs when
// something changed, never two syncs closer than minSyncPeriod, and a full retry after a
// failure.
type syncer struct {
	proxier       Proxier
	compute       func() *desired.State
	run           runner.Runner
	log           *slog.Logger
	metrics       *metrics
	healthChecks  *healthServers // nil: none served
	syncPeriod    time.Duration
	minSyncPeriod time.Duration

	trigger chan struct{}

	mu sync.Mutex
	// pendingSince is when the oldest change not yet applied arrived; zero when none.
	pendingSince time.Time
	// programming holds, per changed EndpointSlice, when it changed, until a sync applies it.
	programming map[string]time.Time
	lastSync    time.Time

	// prev is the state of the last successful sync (loop goroutine only).
	prev *desired.State
}

func newSyncer(p Proxier, compute func() *desired.State, run runner.Runner, log *slog.Logger, m *metrics, syncPeriod, minSyncPeriod time.Duration) *syncer {
	return &syncer{
		proxier: p, compute: compute, run: run, log: log, metrics: m,
		syncPeriod: syncPeriod, minSyncPeriod: minSyncPeriod,
		trigger:      make(chan struct{}, 1),
		pendingSince: time.Now(), // the first sync is owed from the start
		programming:  map[string]time.Time{},
	}
}

// changed queues a sync. slice, when not empty, names a changed EndpointSlice and at is
// when it changed (for the network-programming latency).
func (s *syncer) changed(slice string, at time.Time) {
	now := time.Now()
	s.mu.Lock()
	if s.pendingSince.IsZero() {
		s.pendingSince = now
	}
	if slice != "" {
		if _, ok := s.programming[slice]; !ok {
			s.programming[slice] = at
		}
	}
	s.mu.Unlock()
	s.metrics.lastQueued.Set(float64(now.Unix()))
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// loop syncs until ctx is done.
func (s *syncer) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastStart, lastFull time.Time
	needFull := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.trigger:
		case <-timer.C:
		}
		if wait := s.minSyncPeriod - time.Since(lastStart); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		// Whatever queued meanwhile is covered by this sync.
		select {
		case <-s.trigger:
		default:
		}
		if time.Since(lastFull) >= s.syncPeriod {
			needFull = true
		}
		lastStart = time.Now()
		if err := s.syncOnce(ctx, needFull); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("Syncing proxy rules failed; retrying with a full sync", "err", err)
			needFull = true
			timer.Reset(s.minSyncPeriod + time.Second)
			continue
		}
		if needFull {
			// The period counts from the end of a full sync: with a ruleset that takes
			// longer to write than the period, partial syncs still get their turn.
			lastFull = time.Now()
		}
		needFull = false
		timer.Reset(time.Until(lastFull.Add(s.syncPeriod)))
	}
}

func (s *syncer) syncOnce(ctx context.Context, full bool) error {
	s.mu.Lock()
	pendingSince, programming := s.pendingSince, s.programming
	s.pendingSince, s.programming = time.Time{}, map[string]time.Time{}
	s.mu.Unlock()

	st := s.compute()
	st.Full = full
	start := time.Now()
	err := s.proxier.Sync(ctx, st)
	took := time.Since(start)
	if err != nil {
		s.metrics.syncErrors.Inc()
		s.mu.Lock()
		if s.pendingSince.IsZero() || pendingSince.Before(s.pendingSince) {
			s.pendingSince = pendingSince
		}
		for k, t := range programming {
			if cur, ok := s.programming[k]; !ok || t.Before(cur) {
				s.programming[k] = t
			}
		}
		s.mu.Unlock()
		return err
	}
	flushConntrack(ctx, s.run, s.log, staleConntrack(s.prev, st))
	if s.healthChecks != nil {
		s.healthChecks.update(healthChecks(st))
	}
	s.prev = st
	done := time.Now()
	s.mu.Lock()
	s.lastSync = done
	s.mu.Unlock()

	s.metrics.syncDuration.Observe(took.Seconds())
	if full {
		s.metrics.fullSyncDuration.Observe(took.Seconds())
	} else {
		s.metrics.partialSyncDuration.Observe(took.Seconds())
	}
	s.metrics.lastSync.Set(float64(done.Unix()))
	for _, t := range programming {
		s.metrics.networkProgramming.Observe(done.Sub(t).Seconds())
	}
	if rc, ok := s.proxier.(RuleCounter); ok {
		for table, n := range rc.RuleCounts() {
			s.metrics.rules.WithLabelValues(table).Set(float64(n))
		}
	}
	s.log.Debug("Synced proxy rules", "full", full, "servicePorts", len(st.Services), "took", took)
	return nil
}

// health reports the last successful sync and whether a change has waited longer than
// timeout to be applied.
func (s *syncer) health(timeout time.Duration) (lastSync time.Time, healthy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSync, s.pendingSince.IsZero() || time.Since(s.pendingSince) < timeout
}
