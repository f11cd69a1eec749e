package pods

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type podOpt func(*corev1.Pod)

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(100, 0))},
		Spec:       corev1.PodSpec{NodeName: "node"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func unassigned(p *corev1.Pod)        { p.Spec.NodeName = "" }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(sec int64) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(time.Unix(sec, 0)) }
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{DeletionCostAnnotation: v} }
}
func restartCount(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func readyAt(sec int64) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(time.Unix(sec, 0))}}
	}
}

func TestSortForDeletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod // in the expected order
		rank map[string]int
	}{
		{name: "unassigned pods go before assigned ones",
			pods: []*corev1.Pod{mkPod("a", unassigned), mkPod("b")}},
		{name: "pending before unknown before running",
			pods: []*corev1.Pod{mkPod("a", phase(corev1.PodPending)), mkPod("b", phase(corev1.PodUnknown)), mkPod("c")}},
		{name: "not ready before ready",
			pods: []*corev1.Pod{mkPod("a"), mkPod("b", readyAt(10))}},
		{name: "lower deletion cost first",
			pods: []*corev1.Pod{mkPod("a", readyAt(10), cost("-5")), mkPod("b", readyAt(10)), mkPod("c", readyAt(10), cost("7"))}},
		{name: "more pods on the same node first",
			pods: []*corev1.Pod{mkPod("a", readyAt(10)), mkPod("b", readyAt(10))}, rank: map[string]int{"a": 2, "b": 1}},
		{name: "ready for less time first",
			pods: []*corev1.Pod{mkPod("a", readyAt(50)), mkPod("b", readyAt(10))}},
		{name: "more restarts first",
			pods: []*corev1.Pod{mkPod("a", restartCount(3)), mkPod("b", restartCount(1))}},
		{name: "newer first",
			pods: []*corev1.Pod{mkPod("a", created(300)), mkPod("b", created(200))}},
		{name: "readiness outweighs age and restarts",
			pods: []*corev1.Pod{mkPod("a", created(1)), mkPod("b", readyAt(10), restartCount(9), created(300))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := make([]string, len(tc.pods))
			for i, p := range tc.pods {
				want[i] = p.Name
			}
			shuffled := slices.Clone(tc.pods)
			slices.Reverse(shuffled)
			var rank func(*corev1.Pod) int
			if tc.rank != nil {
				rank = func(p *corev1.Pod) int { return tc.rank[p.Name] }
			}
			SortForDeletion(shuffled, rank)
			var got []string
			for _, p := range shuffled {
				got = append(got, p.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("order %v, want %v", got, want)
			}
		})
	}
}

func TestPredicates(t *testing.T) {
	t.Parallel()
	now := time.Unix(100, 0)
	deleting := mkPod("d")
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	for _, tc := range []struct {
		name                 string
		pod                  *corev1.Pod
		minReady             int32
		active, ready, avail bool
		wait                 time.Duration
	}{
		{name: "a running pod that is not ready", pod: mkPod("a"), active: true},
		{name: "a ready pod with no minReadySeconds is available", pod: mkPod("a", readyAt(99)), active: true, ready: true, avail: true},
		{name: "a pod ready for less than minReadySeconds is not available yet", pod: mkPod("a", readyAt(95)), minReady: 10,
			active: true, ready: true, wait: 6 * time.Second},
		{name: "a pod ready for longer than minReadySeconds is available", pod: mkPod("a", readyAt(80)), minReady: 10,
			active: true, ready: true, avail: true},
		{name: "a succeeded pod is not active", pod: mkPod("a", phase(corev1.PodSucceeded))},
		{name: "a failed pod is not active", pod: mkPod("a", phase(corev1.PodFailed))},
		{name: "a deleting pod is not active", pod: deleting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if IsActive(tc.pod) != tc.active || IsReady(tc.pod) != tc.ready {
				t.Errorf("active %v ready %v, want %v %v", IsActive(tc.pod), IsReady(tc.pod), tc.active, tc.ready)
			}
			avail, wait := AvailableIn(tc.pod, tc.minReady, now)
			if avail != tc.avail || wait != tc.wait || IsAvailable(tc.pod, tc.minReady, now) != tc.avail {
				t.Errorf("available %v in %v, want %v in %v", avail, wait, tc.avail, tc.wait)
			}
		})
	}
}
