package replicaset

import (
	"errors"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Unix(1000, 0)

func testRS(replicas int32) *appsv1.ReplicaSet {
	sel := map[string]string{"app": "web"}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "rs-uid", Generation: 2},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas), MinReadySeconds: 10,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}}},
		},
	}
}

func testPod(name string, lbls map[string]string, readySince time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbls}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if !readySince.IsZero() {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(readySince)}}
	}
	return p
}

func TestCalculateStatus(t *testing.T) {
	t.Parallel()
	full := map[string]string{"app": "web", "tier": "front"}
	partial := map[string]string{"app": "web"}
	active := []*corev1.Pod{
		testPod("old-ready", full, now.Add(-time.Minute)),
		testPod("new-ready", full, now.Add(-5*time.Second)),
		testPod("not-ready", partial, time.Time{}),
	}
	t.Run("counts replicas, fully labelled, ready and available pods", func(t *testing.T) {
		st := calculateStatus(testRS(3), active, 2, true, nil, now)
		if st.Replicas != 3 || st.FullyLabeledReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 || ptr.Deref(st.TerminatingReplicas, -1) != 2 {
			t.Errorf("status %+v", st)
		}
		if len(st.Conditions) != 0 {
			t.Errorf("conditions %+v", st.Conditions)
		}
	})
	t.Run("a ReplicationController reports no terminating replicas", func(t *testing.T) {
		if st := calculateStatus(testRS(3), active, 2, false, nil, now); st.TerminatingReplicas != nil {
			t.Errorf("terminatingReplicas %v", *st.TerminatingReplicas)
		}
	})
	t.Run("a failed creation sets ReplicaFailure FailedCreate", func(t *testing.T) {
		st := calculateStatus(testRS(5), active, 0, true, errors.New("quota exceeded"), now)
		if len(st.Conditions) != 1 {
			t.Fatalf("conditions %+v", st.Conditions)
		}
		c := st.Conditions[0]
		if c.Type != appsv1.ReplicaSetReplicaFailure || c.Status != corev1.ConditionTrue || c.Reason != "FailedCreate" || c.Message != "quota exceeded" {
			t.Errorf("condition %+v", c)
		}
	})
	t.Run("a failed deletion sets ReplicaFailure FailedDelete", func(t *testing.T) {
		st := calculateStatus(testRS(1), active, 0, true, errors.New("forbidden"), now)
		if len(st.Conditions) != 1 || st.Conditions[0].Reason != "FailedDelete" {
			t.Errorf("conditions %+v", st.Conditions)
		}
	})
	t.Run("a successful sync clears ReplicaFailure", func(t *testing.T) {
		rs := testRS(3)
		rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue}}
		if st := calculateStatus(rs, active, 0, true, nil, now); len(st.Conditions) != 0 {
			t.Errorf("conditions %+v", st.Conditions)
		}
	})
}

func TestAvailableWait(t *testing.T) {
	t.Parallel()
	ps := []*corev1.Pod{
		testPod("a", nil, now.Add(-8*time.Second)),
		testPod("b", nil, now.Add(-2*time.Second)),
		testPod("c", nil, time.Time{}),
	}
	if got := availableWait(ps, 10, now); got != 3*time.Second {
		t.Errorf("wait %v, want 3s (2s left for a, and a second of margin)", got)
	}
	if got := availableWait(ps, 0, now); got != 0 {
		t.Errorf("wait %v without minReadySeconds, want 0", got)
	}
}

func TestPodsToDeletePrefersCrowdedNodes(t *testing.T) {
	t.Parallel()
	on := func(name, node string) *corev1.Pod {
		p := testPod(name, nil, now.Add(-time.Minute))
		p.Spec.NodeName = node
		return p
	}
	a1, b1 := on("a1", "node-a"), on("b1", "node-b")
	sibling := on("sibling", "node-b") // a pod of another ReplicaSet of the same Deployment
	got := podsToDelete([]*corev1.Pod{a1, b1}, []*corev1.Pod{a1, b1, sibling}, 1)
	if len(got) != 1 || got[0].Name != "b1" {
		t.Errorf("deleting %v, want b1 (node-b has two related pods)", got)
	}
	all := podsToDelete([]*corev1.Pod{a1, b1}, nil, 5)
	if names := []string{all[0].Name, all[1].Name}; !slices.Equal(names, []string{"a1", "b1"}) {
		t.Errorf("deleting %v, want both", names)
	}
}
