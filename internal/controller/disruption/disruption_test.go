package disruption

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func pdbWith(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 3},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
}

func TestDesiredHealthy(t *testing.T) {
	t.Parallel()
	int2, pct50, pct30 := intstr.FromInt32(2), intstr.FromString("50%"), intstr.FromString("30%")
	scale5 := func() (int32, error) { return 5, nil }
	tests := []struct {
		name           string
		pdb            *policyv1.PodDisruptionBudget
		want           budget
		needsOwnersErr bool
	}{
		{name: "an integer minAvailable counts the matching pods", pdb: pdbWith(&int2, nil), want: budget{expected: 3, desired: 2}},
		{name: "a percentage minAvailable rounds up over the owners' scale", pdb: pdbWith(&pct50, nil), want: budget{expected: 5, desired: 3}},
		{name: "maxUnavailable rounds the unavailable count up", pdb: pdbWith(nil, &pct30), want: budget{expected: 5, desired: 3}},
		{name: "an integer maxUnavailable", pdb: pdbWith(nil, &int2), want: budget{expected: 5, desired: 3}},
		{name: "neither: nothing desired", pdb: pdbWith(nil, nil), want: budget{expected: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := desiredHealthy(tt.pdb, 3, scale5)
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := desiredHealthy(pdbWith(&pct50, nil), 3, func() (int32, error) { return 0, errors.New("no owner") }); err == nil {
		t.Error("a percentage without owners' scale succeeded")
	}
}

func readyPod(name string, ready bool, owner *metav1.OwnerReference) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func TestDisruptedPodsExpire(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Minute)
	deleting := readyPod("deleting", true, nil)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	pdb := pdbWith(nil, nil)
	pdb.Status.DisruptedPods = map[string]metav1.Time{
		"recent": metav1.NewTime(t0), "old": metav1.NewTime(t0.Add(-2 * time.Minute)), "gone": metav1.NewTime(t0), "deleting": metav1.NewTime(t0),
	}
	got, recheck := disruptedPods(pdb, []*corev1.Pod{readyPod("recent", true, nil), readyPod("old", true, nil), deleting}, now)
	if _, ok := got["recent"]; len(got) != 1 || !ok || !recheck.Equal(t0.Add(DeletionTimeout)) {
		t.Errorf("kept %v, recheck %v; want only the recent entry, rechecked when it expires", got, recheck)
	}
	if n := healthy([]*corev1.Pod{readyPod("recent", true, nil), readyPod("a", true, nil), readyPod("b", false, nil), deleting}, got); n != 1 {
		t.Errorf("healthy = %d, want 1 (not evicting, not unready, not deleting)", n)
	}
}

func TestComputeStatus(t *testing.T) {
	t.Parallel()
	pdb := pdbWith(nil, nil)
	st := computeStatus(pdb, budget{expected: 3, desired: 2}, 3, nil)
	if st.DisruptionsAllowed != 1 || st.ObservedGeneration != 3 || st.Conditions[0].Status != metav1.ConditionTrue || st.Conditions[0].Reason != "SufficientPods" {
		t.Errorf("status %+v", st)
	}
	st = computeStatus(pdb, budget{expected: 3, desired: 3}, 2, nil)
	if st.DisruptionsAllowed != 0 || st.Conditions[0].Status != metav1.ConditionFalse || st.Conditions[0].Reason != "InsufficientPods" {
		t.Errorf("status %+v", st)
	}
	if st := computeStatus(pdb, budget{expected: 0, desired: 0}, 2, nil); st.DisruptionsAllowed != 0 {
		t.Errorf("no expected pods allowed %d disruptions", st.DisruptionsAllowed)
	}
}

func TestSyncUsesTheDeploymentScale(t *testing.T) {
	t.Parallel()
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "dep"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4)}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "rs",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: "dep", Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4)}}
	owner := &metav1.OwnerReference{Kind: "ReplicaSet", Name: "web-1", UID: types.UID("rs"), Controller: ptr.To(true)}
	pct := intstr.FromString("25%")
	pdb := pdbWith(nil, &pct)
	objs := []runtime.Object{dep, rs, pdb, readyPod("a", true, owner), readyPod("b", true, owner), readyPod("c", true, owner), readyPod("d", false, owner)}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Options{Client: client, Informers: factory, Recorder: record.NewFakeRecorder(10), Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o.(type) {
		case *appsv1.Deployment:
			err = factory.Apps().V1().Deployments().Informer().GetIndexer().Add(o)
		case *appsv1.ReplicaSet:
			err = factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *policyv1.PodDisruptionBudget:
			err = factory.Policy().V1().PodDisruptionBudgets().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			err = factory.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	got, _ := client.PolicyV1().PodDisruptionBudgets("ns").Get(t.Context(), "web", metav1.GetOptions{})
	st := got.Status
	if st.ExpectedPods != 4 || st.DesiredHealthy != 3 || st.CurrentHealthy != 3 || st.DisruptionsAllowed != 0 || st.ObservedGeneration != 3 {
		t.Errorf("status %+v: want expected 4 (the Deployment's), desired 3, healthy 3, none allowed", st)
	}
}

func TestStaleDisruptionTargetIsCleared(t *testing.T) {
	t.Parallel()
	marked := readyPod("marked", true, nil)
	marked.Status.Conditions = append(marked.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget,
		Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)})
	client := fake.NewClientset(marked)
	factory := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(t0.Add(time.Minute))
	c, err := New(Options{Client: client, Informers: factory, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(marked); err != nil {
		t.Fatal(err)
	}
	if err := c.syncStale(t.Context(), "ns/marked"); err == nil || err.Error() != "requeue after 1m0s" {
		t.Fatalf("a condition one minute old: %v, want a requeue when it turns stale", err)
	}
	clk.Step(time.Minute)
	if err := c.syncStale(t.Context(), "ns/marked"); err != nil {
		t.Fatal(err)
	}
	got, _ := client.CoreV1().Pods("ns").Get(t.Context(), "marked", metav1.GetOptions{})
	for _, cond := range got.Status.Conditions {
		if cond.Type == corev1.DisruptionTarget && cond.Status != corev1.ConditionFalse {
			t.Errorf("stale DisruptionTarget condition %+v, want False", cond)
		}
	}
}
