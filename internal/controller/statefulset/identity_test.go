package statefulset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func newSet(mutate ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	lbls := map[string]string{"app": "web"}
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "set-uid", Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](3),
			ServiceName: "web-svc",
			Selector:    &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "c", Image: "web:1"}},
					Volumes:    []corev1.Volume{{Name: "www"}, {Name: "config"}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "www", Labels: map[string]string{"tier": "data"}}}},
			PodManagementPolicy:  appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)},
			},
		},
	}
	for _, m := range mutate {
		m(set)
	}
	return set
}

func TestParentAndOrdinal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, parent string
		ordinal      int
	}{
		{"web-0", "web", 0},
		{"my-web-12", "my-web", 12},
		{"web", "", -1},
		{"web-", "", -1},
		{"web-x1", "", -1},
		{"web-99999999999", "web", -1},
	} {
		if p, n := parentAndOrdinal(tc.name); p != tc.parent || n != tc.ordinal {
			t.Errorf("parentAndOrdinal(%q) = %q, %d; want %q, %d", tc.name, p, n, tc.parent, tc.ordinal)
		}
	}
}

func TestNewPodHasTheStableIdentityAndStorage(t *testing.T) {
	t.Parallel()
	set := newSet(func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 3} })
	p := newPod(set, set, 4, "web-abc")
	if p.Name != "web-4" || p.Namespace != "ns" || p.Spec.Hostname != "web-4" || p.Spec.Subdomain != "web-svc" {
		t.Errorf("pod %s/%s hostname %q subdomain %q", p.Namespace, p.Name, p.Spec.Hostname, p.Spec.Subdomain)
	}
	want := map[string]string{"app": "web", appsv1.StatefulSetPodNameLabel: "web-4", appsv1.PodIndexLabel: "4", appsv1.ControllerRevisionHashLabelKey: "web-abc"}
	for k, v := range want {
		if p.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], v)
		}
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != "set-uid" || ref.Kind != "StatefulSet" {
		t.Errorf("owner %+v", p.OwnerReferences)
	}
	if len(p.Spec.Volumes) != 2 || p.Spec.Volumes[0].Name != "www" || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www-web-4" || p.Spec.Volumes[1].Name != "config" {
		t.Errorf("volumes %+v: want www from claim www-web-4, then config", p.Spec.Volumes)
	}
	if !identityMatches(set, p) || !storageMatches(set, p) {
		t.Error("a new pod does not match its own identity or storage")
	}
	if set.Spec.Template.Labels[appsv1.StatefulSetPodNameLabel] != "" {
		t.Error("newPod changed the set's template")
	}

	p.Labels[appsv1.PodIndexLabel] = ""
	p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "other"
	if identityMatches(set, p) || storageMatches(set, p) {
		t.Error("a pod with a wrong index label or claim matches")
	}
	setIdentity(set, p)
	setStorage(set, p)
	if !identityMatches(set, p) || !storageMatches(set, p) || len(p.Spec.Volumes) != 2 {
		t.Errorf("fixing identity and storage: labels %v volumes %+v", p.Labels, p.Spec.Volumes)
	}
}

func TestClaimsFor(t *testing.T) {
	t.Parallel()
	claims := claimsFor(newSet(), 2)
	if len(claims) != 1 {
		t.Fatalf("claims %+v", claims)
	}
	c := claims[0]
	if c.Name != "www-web-2" || c.Namespace != "ns" || c.Labels["app"] != "web" || c.Labels["tier"] != "data" {
		t.Errorf("claim %s/%s labels %v", c.Namespace, c.Name, c.Labels)
	}
}
