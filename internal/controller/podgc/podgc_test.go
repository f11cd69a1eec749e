package podgc

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, age int, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
		CreationTimestamp: metav1.NewTime(t0.Add(-time.Duration(age) * time.Minute))}}
	p.Status.Phase = corev1.PodRunning
	for _, o := range opts {
		o(p)
	}
	return p
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func on(node string) podOpt           { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
func evicted(p *corev1.Pod)           { p.Status.Reason = "Evicted" }
func deleting(p *corev1.Pod) {
	ts := metav1.NewTime(t0)
	p.DeletionTimestamp = &ts
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestExcessTerminatedDeletesEvictedThenOldestBeyondTheThreshold(t *testing.T) {
	t.Parallel()
	pods := []*corev1.Pod{
		pod("running-old", 100),
		pod("done-new", 1, phase(corev1.PodSucceeded)),
		pod("failed-old", 50, phase(corev1.PodFailed)),
		pod("done-mid", 10, phase(corev1.PodSucceeded)),
		pod("evicted-new", 0, phase(corev1.PodFailed), evicted),
	}
	for _, tc := range []struct {
		name      string
		threshold int
		want      []string
	}{
		{"a zero threshold keeps everything", 0, nil},
		{"under the threshold nothing goes", 5, nil},
		{"at the threshold nothing goes", 4, nil},
		{"one over deletes the evicted pod first", 3, []string{"evicted-new"}},
		{"further over deletes the oldest next", 1, []string{"evicted-new", "failed-old", "done-mid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := names(excessTerminated(pods, tc.threshold)); !slices.Equal(got, tc.want) {
				t.Errorf("deleted %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectors(t *testing.T) {
	t.Parallel()
	notReadyOOS := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "oos"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: outOfServiceTaint, Effect: corev1.TaintEffectNoExecute}}}}
	readyOOS := notReadyOOS.DeepCopy()
	readyOOS.Name = "ready-oos"
	readyOOS.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	pods := []*corev1.Pod{
		pod("a", 1, on("n1")), pod("b", 1, on("gone")), pod("c", 1, on("gone2")), pod("d", 1, on("gone")),
		pod("unbound-deleting", 1, deleting), pod("unbound", 1),
		pod("oos-deleting", 1, on("oos"), deleting), pod("oos-running", 1, on("oos")),
		pod("ready-oos-deleting", 1, on("ready-oos"), deleting),
	}
	known := map[string]bool{"n1": true, "oos": true, "ready-oos": true}
	if got := missingNodes(pods, known); !slices.Equal(got, []string{"gone", "gone2"}) {
		t.Errorf("missing nodes %v", got)
	}
	if got := names(onNodes(pods, map[string]bool{"gone": true})); !slices.Equal(got, []string{"b", "d"}) {
		t.Errorf("pods on deleted nodes %v", got)
	}
	if got := names(unscheduledTerminating(pods)); !slices.Equal(got, []string{"unbound-deleting"}) {
		t.Errorf("unscheduled terminating %v", got)
	}
	nodes := map[string]*corev1.Node{"oos": notReadyOOS, "ready-oos": readyOOS}
	if got := names(terminatingOutOfService(pods, nodes)); !slices.Equal(got, []string{"oos-deleting"}) {
		t.Errorf("terminating out of service %v", got)
	}
}

func TestOrphansGoOnlyAfterTheQuarantineAndAreMarkedFailed(t *testing.T) {
	t.Parallel()
	objs := []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "alive"}},
		pod("orphan", 1, on("gone")), pod("kept", 1, on("alive")),
	}
	client := fake.NewClientset(objs...)
	clk := clocktesting.NewFakeClock(t0)
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(Options{Client: client, Informers: f, Clock: clk, Quarantine: 40 * time.Second})
	f.Start(t.Context().Done())
	f.WaitForCacheSync(t.Context().Done())
	var updated *corev1.Pod
	client.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := a.(k8stesting.UpdateAction); ok && a.GetSubresource() == "status" {
			updated = u.GetObject().(*corev1.Pod)
		}
		return false, nil, nil
	})
	_ = c.sync(t.Context(), key)
	if _, err := client.CoreV1().Pods("ns").Get(t.Context(), "orphan", metav1.GetOptions{}); err != nil {
		t.Fatalf("orphan deleted before its quarantine: %v", err)
	}
	clk.Step(41 * time.Second)
	_ = c.sync(t.Context(), key)
	if _, err := client.CoreV1().Pods("ns").Get(t.Context(), "orphan", metav1.GetOptions{}); err == nil {
		t.Fatal("orphan still there after the quarantine")
	}
	if _, err := client.CoreV1().Pods("ns").Get(t.Context(), "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("pod on a live node deleted: %v", err)
	}
	if updated == nil || updated.Status.Phase != corev1.PodFailed || len(updated.Status.Conditions) != 1 ||
		updated.Status.Conditions[0].Reason != "DeletionByPodGC" {
		t.Errorf("orphan not marked failed with DeletionByPodGC first: %+v", updated)
	}
}
