package proxy

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// syncer runs a Proxier: a full sync at start and every syncPeriod, partial syncs when
// something changed, and a full retry after a failure. Syncs are rate-limited as upstream's
// kube-proxy does: one per minSyncPeriod on average, with bursts of syncBurst, so the first
// change after a quiet spell is applied at once and a storm of changes is batched.
type syncer struct {
	proxier       Proxier
	compute       func() *desired.State
	run           runner.Runner
	log           *slog.Logger
	metrics       *metrics
	healthChecks  *healthServers // nil: none served
	syncPeriod    time.Duration
	minSyncPeriod time.Duration
	bucket        syncBucket

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
		bucket:       syncBucket{tokens: syncBurst},
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
	var lastFull time.Time
	needFull := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.trigger:
		case <-timer.C:
		}
		if wait := s.bucket.take(time.Now(), s.minSyncPeriod); wait > 0 {
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
		wrote, err := s.syncOnce(ctx, needFull)
		if !wrote && err == nil {
			s.bucket.refund() // nothing written to netfilter: the token is not spent
		}
		if err != nil {
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

// syncBurst is how many syncs may run back to back after a quiet spell (upstream's
// iptables and nftables proxiers allow two).
const syncBurst = 2

// syncBucket is a token bucket of syncs: it holds up to syncBurst tokens and gains one every
// minSyncPeriod.
type syncBucket struct {
	tokens float64
	last   time.Time
}

// take spends a token for a sync starting at now and returns how long to wait first: zero
// when a token was there, else the time until one will be (which it then spends).
func (b *syncBucket) take(now time.Time, period time.Duration) time.Duration {
	if period <= 0 {
		return 0
	}
	if !b.last.IsZero() {
		b.tokens = min(syncBurst, b.tokens+float64(now.Sub(b.last))/float64(period))
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens * float64(period))
}

// refund gives back the token of a sync that wrote nothing.
func (b *syncBucket) refund() {
	b.tokens = min(syncBurst, b.tokens+1)
}

// syncOnce applies the desired state. wrote is false when the sync wrote nothing to
// netfilter: a partial sync that found nothing changed since the last one (an
// EndpointSlice written with no ready endpoints, say), or a mode that applied the change
// in process (see NetfilterWriter).
func (s *syncer) syncOnce(ctx context.Context, full bool) (wrote bool, err error) {
	s.mu.Lock()
	pendingSince, programming := s.pendingSince, s.programming
	s.pendingSince, s.programming = time.Time{}, map[string]time.Time{}
	s.mu.Unlock()

	st := s.compute()
	st.Full = full
	if !full && s.prev != nil && st.Masquerade == s.prev.Masquerade && reflect.DeepEqual(st.Services, s.prev.Services) {
		s.synced(time.Now(), programming)
		return false, nil
	}
	start := time.Now()
	err = s.proxier.Sync(ctx, st)
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
		return false, err
	}
	flushConntrack(ctx, s.run, s.log, staleConntrack(s.prev, st))
	if s.healthChecks != nil {
		s.healthChecks.update(healthChecks(st))
	}
	s.prev = st
	done := time.Now()
	s.synced(done, programming)
	s.metrics.syncDuration.Observe(took.Seconds())
	if full {
		s.metrics.fullSyncDuration.Observe(took.Seconds())
	} else {
		s.metrics.partialSyncDuration.Observe(took.Seconds())
	}
	if rc, ok := s.proxier.(RuleCounter); ok {
		for table, n := range rc.RuleCounts() {
			s.metrics.rules.WithLabelValues(table).Set(float64(n))
		}
	}
	s.log.Debug("Synced proxy rules", "full", full, "servicePorts", len(st.Services), "took", took)
	if nw, ok := s.proxier.(NetfilterWriter); ok {
		return nw.WroteNetfilter(), nil
	}
	return true, nil
}

// synced records that the rules matched the desired state at done, with the changes in
// programming applied.
func (s *syncer) synced(done time.Time, programming map[string]time.Time) {
	s.mu.Lock()
	s.lastSync = done
	s.mu.Unlock()
	s.metrics.lastSync.Set(float64(done.Unix()))
	for _, t := range programming {
		s.metrics.networkProgramming.Observe(done.Sub(t).Seconds())
	}
}

// health reports the last successful sync and whether a change has waited longer than
// timeout to be applied.
func (s *syncer) health(timeout time.Duration) (lastSync time.Time, healthy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSync, s.pendingSince.IsZero() || time.Since(s.pendingSince) < timeout
}
