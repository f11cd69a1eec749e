package statefulset

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

func policy(deleted, scaled appsv1.PersistentVolumeClaimRetentionPolicyType) func(*appsv1.StatefulSet) {
	return func(s *appsv1.StatefulSet) {
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: deleted, WhenScaled: scaled}
	}
}

const (
	retain = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	del    = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
)

func memberPod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid}}
}

func uids(refs []metav1.OwnerReference) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, string(r.UID))
	}
	slices.Sort(out)
	return out
}

func TestClaimOwners(t *testing.T) {
	t.Parallel()
	set := func(m ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet { return newSet(m...) }
	kept, away := memberPod("web-1", "pod1-uid"), memberPod("web-5", "pod5-uid")
	setRef := *pods.NewControllerRef(newSet(), kind)
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "cm-uid"}
	otherController := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Thing", Name: "x", UID: "thing-uid", Controller: ptr.To(true)}
	stalePod := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web-5", UID: "old-pod-uid", Controller: ptr.To(true)}
	for _, tc := range []struct {
		name   string
		set    *appsv1.StatefulSet
		pod    *corev1.Pod
		have   []metav1.OwnerReference
		want   []string
		change bool
	}{
		{"Retain/Retain drops the set's reference", set(), kept, []metav1.OwnerReference{setRef, other}, []string{"cm-uid"}, true},
		{"Retain/Retain with no references is in order", set(), kept, nil, []string{}, false},
		{"whenDeleted Delete: the set controls the claim", set(policy(del, retain)), kept, []metav1.OwnerReference{other}, []string{"cm-uid", "set-uid"}, true},
		{"whenDeleted Delete, already so", set(policy(del, retain)), away, []metav1.OwnerReference{setRef}, []string{"set-uid"}, false},
		{"whenScaled Delete: a kept pod's claim has no pod reference", set(policy(retain, del)), kept, nil, []string{}, false},
		{"whenScaled Delete: a scaled-away pod controls its claim", set(policy(retain, del)), away, nil, []string{"pod5-uid"}, true},
		{"Delete/Delete: the set while kept", set(policy(del, del)), kept, nil, []string{"set-uid"}, true},
		{"Delete/Delete: the pod instead of the set once scaled away", set(policy(del, del)), away, []metav1.OwnerReference{setRef}, []string{"pod5-uid"}, true},
		{"another controller: nothing added", set(policy(del, del)), kept, []metav1.OwnerReference{otherController}, []string{"thing-uid"}, false},
		{"a stale pod reference is left to the garbage collector", set(policy(del, del)), away, []metav1.OwnerReference{stalePod}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "www-" + tc.pod.Name, OwnerReferences: tc.have}}
			got, change := claimOwners(claim, tc.set, tc.pod)
			if change != tc.change || (tc.want != nil && !slices.Equal(uids(got), tc.want)) {
				t.Errorf("owners %v change %v; want %v change %v", uids(got), change, tc.want, tc.change)
			}
			for _, r := range got {
				if r.UID != "cm-uid" && r.UID != "thing-uid" && !isController(r) {
					t.Errorf("reference %+v is not a controller reference", r)
				}
			}
		})
	}
}

func TestClaimIsStale(t *testing.T) {
	t.Parallel()
	fresh := memberPod("web-2", "")
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "Pod", Name: "web-2", UID: "gone-uid"},
	}}}
	if !claimIsStale(claim, fresh) {
		t.Error("a claim owned by an earlier web-2 is not stale for a new web-2")
	}
	if claimIsStale(&corev1.PersistentVolumeClaim{}, fresh) || claimIsStale(nil, fresh) {
		t.Error("an unowned or missing claim is stale")
	}
}
