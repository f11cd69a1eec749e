package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func stsStatefulSet(name string, replicas int32) *appsv1.StatefulSet {
	lbls := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

// stsPods returns the set's pods by name.
func stsPods(ctx context.Context, c kubernetes.Interface, name string) (map[string]corev1.Pod, error) {
	ps, err := dssListPods(ctx, c, "default", map[string]string{"app": name})
	if err != nil {
		return nil, err
	}
	out := map[string]corev1.Pod{}
	for _, p := range ps {
		out[p.Name] = p
	}
	return out, nil
}

// stsKubelet binds the set's pods to node n1 and otherwise acts as dssKubelet, but marks
// only the lowest-numbered unready pod ready per call, so ordering stays observable.
func stsKubelet(ctx context.Context, c kubernetes.Interface, ps map[string]corev1.Pod) error {
	var pending []corev1.Pod
	for _, name := range sortedKeys(ps) {
		p := ps[name]
		switch {
		case p.DeletionTimestamp != nil:
			err := c.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		case p.Spec.NodeName == "":
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
			if err := c.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return err
			}
		case !dssReady(&p):
			pending = append(pending, p)
		}
	}
	if len(pending) > 0 {
		if err := dssMarkReady(ctx, c, &pending[0]); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func stsOrdinal(name string) int {
	i := strings.LastIndex(name, "-")
	var n int
	fmt.Sscanf(name[i+1:], "%d", &n)
	return n
}

// stsSettle runs the fake kubelet until the set has exactly the pods want, all ready, at
// revision image, and its status agrees; check runs on every snapshot first.
func stsSettle(t *testing.T, c kubernetes.Interface, name string, want []string, image string, check func(map[string]corev1.Pod) error) *appsv1.StatefulSet {
	t.Helper()
	ctx := t.Context()
	var set *appsv1.StatefulSet
	dssPoll(t, fmt.Sprintf("%s to be %v at %s", name, want, image), func() error {
		ps, err := stsPods(ctx, c, name)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(ps); err != nil {
				t.Fatal(err)
			}
		}
		if err := stsKubelet(ctx, c, ps); err != nil {
			return err
		}
		if got := sortedKeys(ps); !slices.Equal(got, want) {
			return fmt.Errorf("pods %v", got)
		}
		for _, p := range ps {
			if !dssReady(&p) || p.DeletionTimestamp != nil || (image != "" && p.Spec.Containers[0].Image != image) {
				return fmt.Errorf("pod %s: ready %v, image %s", p.Name, dssReady(&p), p.Spec.Containers[0].Image)
			}
		}
		set, err = c.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n := int32(len(want))
		if st := set.Status; st.ObservedGeneration != set.Generation || st.Replicas != n || st.ReadyReplicas != n || st.AvailableReplicas != n {
			return fmt.Errorf("status %+v (generation %d)", st, set.Generation)
		}
		return nil
	})
	return set
}

// stsOrderedCreation: a pod exists only when every lower ordinal is Running and Ready.
func stsOrderedCreation(ps map[string]corev1.Pod) error {
	for name := range ps {
		for lower := range stsOrdinal(name) {
			prev, ok := ps[fmt.Sprintf("%s-%d", name[:strings.LastIndex(name, "-")], lower)]
			if !ok || !dssReady(&prev) {
				return fmt.Errorf("%s exists while ordinal %d is not ready (%v)", name, lower, ok)
			}
		}
	}
	return nil
}

func stsUpdateSet(t *testing.T, c kubernetes.Interface, name string, mutate func(*appsv1.StatefulSet)) {
	t.Helper()
	set, err := c.AppsV1().StatefulSets("default").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mutate(set)
	if _, err := c.AppsV1().StatefulSets("default").Update(t.Context(), set, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func stsOwnerUIDs(t *testing.T, c kubernetes.Interface, claim string) []types.UID {
	t.Helper()
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(t.Context(), claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var uids []types.UID
	for _, r := range pvc.OwnerReferences {
		uids = append(uids, r.UID)
	}
	return uids
}

func TestIntegrationStatefulSet(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	dssNode(t, c, "n1", nil)
	if _, err := c.AppsV1().StatefulSets("default").Create(ctx, stsStatefulSet("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// web-0 comes first, with its claim, and nothing else until it is ready.
	dssPoll(t, "web-0 and a status that counts it", func() error {
		set, err := c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if set.Status.Replicas != 1 {
			return fmt.Errorf("status.replicas %d", set.Status.Replicas)
		}
		return nil
	})
	ps, err := stsPods(ctx, c, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(ps); !slices.Equal(got, []string{"web-0"}) {
		t.Fatalf("pods before web-0 is ready: %v", got)
	}
	web0 := ps["web-0"]
	if web0.Spec.Hostname != "web-0" || web0.Spec.Subdomain != "web" || web0.Labels[appsv1.StatefulSetPodNameLabel] != "web-0" ||
		web0.Labels[appsv1.PodIndexLabel] != "0" || !strings.HasPrefix(web0.Labels[appsv1.ControllerRevisionHashLabelKey], "web-") {
		t.Errorf("web-0 identity: hostname %q subdomain %q labels %v", web0.Spec.Hostname, web0.Spec.Subdomain, web0.Labels)
	}
	if len(web0.Spec.Volumes) == 0 || web0.Spec.Volumes[0].PersistentVolumeClaim == nil || web0.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www-web-0" {
		t.Errorf("web-0 volumes %+v, want www from claim www-web-0", web0.Spec.Volumes)
	}
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-web-0", metav1.GetOptions{}); err != nil {
		t.Errorf("claim www-web-0: %v", err)
	}

	all := []string{"web-0", "web-1", "web-2"}
	set := stsSettle(t, c, "web", all, "web:v1", stsOrderedCreation)
	for _, claim := range []string{"www-web-1", "www-web-2"} {
		if _, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, claim, metav1.GetOptions{}); err != nil {
			t.Errorf("claim %s: %v", claim, err)
		}
	}
	v1Revision := set.Status.CurrentRevision
	if v1Revision == "" || set.Status.UpdateRevision != v1Revision || set.Status.CurrentReplicas != 3 || set.Status.UpdatedReplicas != 3 {
		t.Errorf("status after creation: %+v", set.Status)
	}

	// Scale down: web-2 goes before web-1; the claims stay (Retain).
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	reverse := func(ps map[string]corev1.Pod) error {
		web1, has1 := ps["web-1"]
		if _, has2 := ps["web-2"]; has2 && (!has1 || web1.DeletionTimestamp != nil) {
			return fmt.Errorf("web-1 went before web-2")
		}
		return nil
	}
	stsSettle(t, c, "web", []string{"web-0"}, "web:v1", reverse)
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-web-2", metav1.GetOptions{}); err != nil {
		t.Errorf("claim www-web-2 after scale-down: %v (want it retained)", err)
	}
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](3) })
	stsSettle(t, c, "web", all, "web:v1", stsOrderedCreation)

	// A rolling update with partition 1 replaces web-2, then web-1, and keeps web-0.
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "web:v2"
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
	})
	highestFirst := func(ps map[string]corev1.Pod) error {
		web1, web2 := ps["web-1"], ps["web-2"]
		if len(web1.Spec.Containers) > 0 && web1.Spec.Containers[0].Image == "web:v2" && (len(web2.Spec.Containers) == 0 || web2.Spec.Containers[0].Image != "web:v2" || !dssReady(&web2)) {
			return fmt.Errorf("web-1 updated before web-2 was updated and ready")
		}
		if web0 := ps["web-0"]; len(web0.Spec.Containers) > 0 && web0.Spec.Containers[0].Image != "web:v1" {
			return fmt.Errorf("web-0, below the partition, was updated")
		}
		return nil
	}
	dssPoll(t, "web-1 and web-2 at v2, web-0 at v1", func() error {
		ps, err := stsPods(ctx, c, "web")
		if err != nil {
			return err
		}
		if err := highestFirst(ps); err != nil {
			t.Fatal(err)
		}
		if err := stsKubelet(ctx, c, ps); err != nil {
			return err
		}
		set, err := c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st := set.Status; st.UpdatedReplicas != 2 || st.ReadyReplicas != 3 || st.CurrentRevision != v1Revision || st.UpdateRevision == v1Revision {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	out, stderr, err := s.Kubectl("", "rollout", "status", "statefulset/web", "--timeout=20s")
	if err != nil || !strings.Contains(out, "partitioned roll out complete: 2 new pods have been updated") {
		t.Errorf("rollout status with partition: %v\n%s%s", err, out, stderr)
	}

	// Partition 0 finishes the rollout; the update revision becomes current.
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	set = stsSettle(t, c, "web", all, "web:v2", nil)
	dssPoll(t, "the rollout to complete", func() error {
		set, err = c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st := set.Status; st.CurrentRevision != st.UpdateRevision || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	out, stderr, err = s.Kubectl("", "rollout", "status", "statefulset/web", "--timeout=20s")
	// kubectl reports a RollingUpdate (always defaulted with a partition) this way.
	if err != nil || !strings.Contains(out, "partitioned roll out complete: 3 new pods have been updated") {
		t.Errorf("rollout status: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = s.Kubectl("", "rollout", "history", "statefulset/web")
	if err != nil || !strings.Contains(out, "\n1 ") || !strings.Contains(out, "\n2 ") {
		t.Errorf("rollout history: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = s.Kubectl("", "rollout", "undo", "statefulset/web")
	if err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("rollout undo: %v\n%s%s", err, out, stderr)
	}
	set = stsSettle(t, c, "web", all, "web:v1", nil)
	if set.Status.UpdateRevision != v1Revision {
		t.Errorf("update revision after undo %s, want the first one %s reused", set.Status.UpdateRevision, v1Revision)
	}

	// whenScaled/whenDeleted Delete: kept ordinals' claims are controlled by the set, a
	// scaled-away ordinal's claim by its pod.
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) {
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		}
	})
	dssPoll(t, "claims owned by the set", func() error {
		for _, claim := range []string{"www-web-0", "www-web-1", "www-web-2"} {
			if got := stsOwnerUIDs(t, c, claim); !slices.Equal(got, []types.UID{set.UID}) {
				return fmt.Errorf("%s owners %v", claim, got)
			}
		}
		return nil
	})
	web2UID := ps["web-2"].UID
	stsUpdateSet(t, c, "web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](2) })
	dssPoll(t, "www-web-2 owned by its pod", func() error {
		ps, err := stsPods(ctx, c, "web")
		if err != nil {
			return err
		}
		if p, ok := ps["web-2"]; ok {
			web2UID = p.UID
		}
		got := stsOwnerUIDs(t, c, "www-web-2")
		if !slices.Equal(got, []types.UID{web2UID}) {
			return fmt.Errorf("www-web-2 owners %v, want the pod %s", got, web2UID)
		}
		return nil
	})
	// Once web-2 is gone the garbage collector deletes its claim.
	stsSettle(t, c, "web", []string{"web-0", "web-1"}, "web:v1", nil)
	dssPoll(t, "www-web-2 deleted with its pod", func() error {
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-web-2", metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && pvc.DeletionTimestamp != nil) {
			return nil
		}
		return fmt.Errorf("www-web-2 still there (%v)", err)
	})
}

func TestIntegrationStatefulSetParallelAndOnDelete(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	dssNode(t, c, "n1", nil)
	set := stsStatefulSet("par", 3)
	set.Spec.VolumeClaimTemplates = nil
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	if _, err := c.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// All three pods come at once, none of them ready, numbered from 5.
	dssPoll(t, "three pods without waiting for readiness", func() error {
		ps, err := stsPods(ctx, c, "par")
		if err != nil {
			return err
		}
		if got := sortedKeys(ps); !slices.Equal(got, []string{"par-5", "par-6", "par-7"}) {
			return fmt.Errorf("pods %v", got)
		}
		return nil
	})
	names := []string{"par-5", "par-6", "par-7"}
	stsSettle(t, c, "par", names, "web:v1", nil)

	// OnDelete: a new template replaces nothing until a pod is deleted.
	stsUpdateSet(t, c, "par", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "web:v2" })
	dssPoll(t, "the new revision observed", func() error {
		got, err := c.AppsV1().StatefulSets("default").Get(ctx, "par", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st := got.Status; st.ObservedGeneration != got.Generation || st.UpdateRevision == st.CurrentRevision || st.UpdatedReplicas != 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if err := c.CoreV1().Pods("default").Delete(ctx, "par-6", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	dssPoll(t, "par-6 recreated at the new revision, the others kept", func() error {
		ps, err := stsPods(ctx, c, "par")
		if err != nil {
			return err
		}
		if err := stsKubelet(ctx, c, ps); err != nil {
			return err
		}
		p6, p5 := ps["par-6"], ps["par-5"]
		if len(p6.Spec.Containers) == 0 || p6.Spec.Containers[0].Image != "web:v2" || p5.Spec.Containers[0].Image != "web:v1" {
			return fmt.Errorf("pods %v", sortedKeys(ps))
		}
		return nil
	})

	// Parallel scale-down takes both pods at once, without waiting for either.
	stsUpdateSet(t, c, "par", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	dssPoll(t, "par-6 and par-7 both terminating", func() error {
		ps, err := stsPods(ctx, c, "par")
		if err != nil {
			return err
		}
		for _, name := range []string{"par-6", "par-7"} {
			if p, ok := ps[name]; ok && p.DeletionTimestamp == nil {
				return fmt.Errorf("%s not terminating", name)
			}
		}
		return nil
	})
}
