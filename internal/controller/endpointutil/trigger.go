package endpointutil

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimes computes the last-change-trigger-time of a service's endpoints: the
// earliest time at which something that changed since the previous sync (a pod's
// readiness, the service's creation) happened. It remembers, per service, the trigger
// time of each pod it saw. Safe for concurrent use.
type TriggerTimes struct {
	mu   sync.Mutex
	seen map[string]*serviceTimes
}

type serviceTimes struct {
	service time.Time
	pods    map[string]time.Time
}

// NewTriggerTimes returns an empty tracker.
func NewTriggerTimes() *TriggerTimes { return &TriggerTimes{seen: map[string]*serviceTimes{}} }

// Compute returns the trigger time for the service's endpoints given its pods now; zero
// when nothing changed since the last call.
func (t *TriggerTimes) Compute(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := t.seen[key]
	next := &serviceTimes{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var min time.Time
	consider := func(at time.Time) {
		if !at.IsZero() && (min.IsZero() || at.Before(min)) {
			min = at
		}
	}
	if prev == nil || !prev.service.Equal(next.service) {
		consider(next.service)
	}
	for _, p := range pods {
		at := podTriggerTime(p)
		next.pods[p.Name] = at
		if prev == nil || !prev.pods[p.Name].Equal(at) {
			consider(at)
		}
	}
	t.seen[key] = next
	return min
}

// Forget drops a deleted service's state.
func (t *TriggerTimes) Forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.seen, key)
}

// podTriggerTime is when the pod last changed in a way endpoints care about: its Ready
// condition's last transition, else its creation.
func podTriggerTime(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	return p.CreationTimestamp.Time
}
