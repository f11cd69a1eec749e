package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"capstan/internal/kubelet/podspec"
	"capstan/internal/kubelet/podsync"
)

// Kind of a probe.
type Kind string

// The probes of a container.
const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Options configures a Manager.
type Options struct {
	// Runtime runs exec probes. Required.
	Runtime ExecSyncer
	// OnChange is called (outside any lock) when a container's results change.
	OnChange func(types.UID)
	// Recorder reports events (Unhealthy) for a pod.
	Recorder func(uid types.UID, eventType, reason, message string)
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Manager runs the probes of running containers.
type Manager struct {
	opts Options
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	workers map[key]*worker
	results map[types.UID]podsync.ProbeResults
	ips     map[types.UID]string
	wg      sync.WaitGroup
}

type key struct {
	uid         types.UID
	containerID string
	kind        Kind
}

// NewManager returns a manager; Stop ends its probes.
func NewManager(opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OnChange == nil {
		opts.OnChange = func(types.UID) {}
	}
	if opts.Recorder == nil {
		opts.Recorder = func(types.UID, string, string, string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{opts: opts, ctx: ctx, stop: cancel, workers: map[key]*worker{}, results: map[types.UID]podsync.ProbeResults{}}
}

// Stop stops every probe and waits for them.
func (m *Manager) Stop() {
	m.stop()
	m.wg.Wait()
}

// Results returns a copy of the pod's probe results by container ID.
func (m *Manager) Results(uid types.UID) podsync.ProbeResults {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := podsync.ProbeResults{}
	for id, r := range m.results[uid] {
		out[id] = r
	}
	return out
}

// Sync makes the probes run for exactly the pod's running container instances (name ->
// container ID) that have probes, and drops the results of instances that are gone.
func (m *Manager) Sync(pod *corev1.Pod, running map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[string]bool{}
	for name, id := range running {
		c := podspec.Container(pod, name)
		if c == nil {
			continue
		}
		live[id] = true
		probes := map[Kind]*corev1.Probe{Liveness: c.LivenessProbe, Readiness: c.ReadinessProbe, Startup: c.StartupProbe}
		if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
			continue
		}
		if m.results[pod.UID] == nil {
			m.results[pod.UID] = podsync.ProbeResults{}
		}
		if _, ok := m.results[pod.UID][id]; !ok {
			// Without a readiness probe a container is ready once started.
			m.results[pod.UID][id] = podsync.Probes{Started: c.StartupProbe == nil, Ready: c.ReadinessProbe == nil}
		}
		for kind, p := range probes {
			if p == nil {
				continue
			}
			k := key{pod.UID, id, kind}
			if _, ok := m.workers[k]; ok {
				continue
			}
			ctx, cancel := context.WithCancel(m.ctx)
			w := &worker{m: m, key: k, probe: p, container: c.DeepCopy(), pod: pod.DeepCopy(), cancel: cancel}
			m.workers[k] = w
			m.wg.Add(1)
			go w.run(ctx)
		}
	}
	for k, w := range m.workers {
		if k.uid == pod.UID && !live[k.containerID] {
			w.cancel()
			delete(m.workers, k)
		}
	}
	for id := range m.results[pod.UID] {
		if !live[id] {
			delete(m.results[pod.UID], id)
		}
	}
}

// Forget stops the pod's probes and drops its results.
func (m *Manager) Forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if k.uid == uid {
			w.cancel()
			delete(m.workers, k)
		}
	}
	delete(m.results, uid)
	delete(m.ips, uid)
}

func (m *Manager) update(k key, f func(*podsync.Probes)) {
	m.mu.Lock()
	if _, ok := m.workers[k]; !ok {
		m.mu.Unlock()
		return // stopped meanwhile
	}
	r := m.results[k.uid][k.containerID]
	before := r
	f(&r)
	m.results[k.uid][k.containerID] = r
	m.mu.Unlock()
	if r != before {
		m.opts.OnChange(k.uid)
	}
}

func (m *Manager) started(k key) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[k.uid][k.containerID].Started
}

type worker struct {
	m         *Manager
	key       key
	probe     *corev1.Probe
	container *corev1.Container
	pod       *corev1.Pod
	cancel    context.CancelFunc
}

func (w *worker) run(ctx context.Context) {
	defer w.m.wg.Done()
	clk := w.m.opts.Clock
	p := w.probe
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	successes, failures := 0, 0
	// Readiness starts false, liveness true; startup "not yet".
	select {
	case <-ctx.Done():
		return
	case <-clk.After(time.Duration(p.InitialDelaySeconds) * time.Second):
	}
	for {
		skip := w.key.kind != Startup && !w.m.started(w.key)
		if w.key.kind == Startup && w.m.started(w.key) {
			return // the startup probe is done for this instance
		}
		if !skip {
			res, out := w.once(ctx)
			if ctx.Err() != nil {
				return
			}
			switch res {
			case Success:
				successes, failures = successes+1, 0
			case Failure:
				successes, failures = 0, failures+1
				w.m.opts.Recorder(w.key.uid, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", w.key.kind, out))
			}
			w.apply(successes, failures)
		}
		select {
		case <-ctx.Done():
			return
		case <-clk.After(period):
		}
	}
}

// apply turns the consecutive counts into the instance's result once a threshold is met.
func (w *worker) apply(successes, failures int) {
	p := w.probe
	successThreshold := int(max(p.SuccessThreshold, 1))
	failureThreshold := int(max(p.FailureThreshold, 1))
	switch {
	case successes >= successThreshold:
		w.m.update(w.key, func(r *podsync.Probes) {
			switch w.key.kind {
			case Readiness:
				r.Ready = true
			case Startup:
				r.Started = true
			case Liveness:
				r.LivenessFailed = false
			}
		})
	case failures >= failureThreshold:
		w.m.update(w.key, func(r *podsync.Probes) {
			switch w.key.kind {
			case Readiness:
				r.Ready = false
			case Startup:
				r.StartupFailed = true
			case Liveness:
				r.LivenessFailed = true
			}
		})
	}
}

func (w *worker) once(ctx context.Context) (Result, string) {
	timeout := time.Duration(max(w.probe.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := w.probe.ProbeHandler
	podIP := ""
	if len(w.pod.Status.PodIPs) > 0 {
		podIP = w.pod.Status.PodIPs[0].IP
	}
	if ip := w.m.podIP(w.key.uid); ip != "" {
		podIP = ip
	}
	var res Result
	var out string
	var err error
	switch {
	case h.Exec != nil:
		res, out, err = Exec(ctx, w.m.opts.Runtime, w.key.containerID, h.Exec.Command)
	case h.HTTPGet != nil:
		res, out, err = HTTPGet(ctx, h.HTTPGet, podIP, w.container, nil)
	case h.TCPSocket != nil:
		port, perr := ResolvePort(h.TCPSocket.Port, w.container)
		if perr != nil {
			return Failure, perr.Error()
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		res, out, err = TCP(ctx, host, port)
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		res, out, err = GRPC(ctx, podIP, int(h.GRPC.Port), service)
	default:
		return Unknown, "no handler"
	}
	if err != nil {
		w.m.opts.Logger.Debug("probe error", "kind", w.key.kind, "container", w.container.Name, "err", err)
		return Unknown, err.Error()
	}
	return res, out
}

// SetPodIP tells the manager a pod's current IP, which network probes target.
func (m *Manager) SetPodIP(uid types.UID, ip string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ips == nil {
		m.ips = map[types.UID]string{}
	}
	m.ips[uid] = ip
}

func (m *Manager) podIP(uid types.UID) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ips[uid]
}
