package statefulset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"capstan/internal/controller/pods"
)

// The persistentVolumeClaimRetentionPolicy is carried out through the PVCs'
// ownerReferences, and the garbage collector does the deleting:
//
//	whenDeleted Retain, whenScaled Retain: no reference to the set or the pod;
//	whenDeleted Delete: the set controls the claim (deleting the set deletes it);
//	whenScaled Delete: once the pod's ordinal is scaled away, the pod controls the claim
//	(deleting the pod deletes it) and the set no longer does.

func retention(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if r := set.Spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		if r.WhenDeleted != "" {
			p.WhenDeleted = r.WhenDeleted
		}
		if r.WhenScaled != "" {
			p.WhenScaled = r.WhenScaled
		}
	}
	return p
}

// refersTo: ref names obj (same kind and name, whatever the UID).
func refersTo(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

// staleRef: the claim refers to an earlier object of the same name as obj (a deleted set or
// pod); the garbage collector will act on it, the controller must not.
func staleRef(claim *corev1.PersistentVolumeClaim, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for i := range claim.OwnerReferences {
		if refersTo(&claim.OwnerReferences[i], obj, gvk) {
			return claim.OwnerReferences[i].UID != obj.GetUID()
		}
	}
	return false
}

// claimIsStale: the claim is left over from an earlier pod of the same name that was
// scaled away, and is about to be deleted; a new pod must not start on it.
func claimIsStale(claim *corev1.PersistentVolumeClaim, p *corev1.Pod) bool {
	return claim != nil && staleRef(claim, p, podKind)
}

// otherController: something other than the set or the pod controls the claim (or a stale
// set or pod reference marks it as someone else's); only a Retain/Retain policy ignores it.
func otherController(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) bool {
	for i := range claim.OwnerReferences {
		ref := &claim.OwnerReferences[i]
		switch {
		case refersTo(ref, set, kind):
			if ref.UID != set.UID {
				return true
			}
		case refersTo(ref, p, podKind):
			if ref.UID != p.UID {
				return true
			}
		case ref.Controller != nil && *ref.Controller:
			return true
		}
	}
	return false
}

// claimOwners returns the ownerReferences claim should have for pod p under the set's
// retention policy, and whether they differ from what it has. Claims with stale references
// are left alone; claims another controller owns lose only the set's and pod's references.
func claimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) ([]metav1.OwnerReference, bool) {
	if staleRef(claim, set, kind) || staleRef(claim, p, podKind) {
		return nil, false
	}
	policy := retention(set)
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	var want []metav1.OwnerReference
	for _, ref := range claim.OwnerReferences {
		if !refersTo(&ref, set, kind) && !refersTo(&ref, p, podKind) {
			want = append(want, ref)
		}
	}
	retainAll := policy.WhenDeleted != del && policy.WhenScaled != del
	if retainAll || !otherController(claim, set, p) {
		scaledAway := !inRange(set, p)
		if policy.WhenScaled == del && scaledAway && p.UID != "" {
			want = append(want, *pods.NewControllerRef(p, podKind))
		}
		if policy.WhenDeleted == del && !(policy.WhenScaled == del && scaledAway) {
			want = append(want, *pods.NewControllerRef(set, kind))
		}
	}
	return want, !sameRefs(want, claim.OwnerReferences)
}

// sameRefs compares references by owner UID and controller flag, in any order.
func sameRefs(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.UID == y.UID && isController(x) == isController(y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func isController(r metav1.OwnerReference) bool { return r.Controller != nil && *r.Controller }
