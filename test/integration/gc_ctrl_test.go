package integration

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// lcStartWith starts a server running only the named controllers.
func lcStartWith(t *testing.T, controllers ...string) *capstantesting.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	return capstantesting.StartServerWith(t, func(o *server.Options) { o.Controllers = controllers })
}

func ownedBy(owner metav1.Object, kind, apiVersion string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(), BlockOwnerDeletion: &block}
}

func lcConfigMap(t *testing.T, c kubernetes.Interface, ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, Finalizers: finalizers, OwnerReferences: owners}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func lcGone(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	lcWait(t, "configmap "+ns+"/"+name+" to be deleted", func() (bool, error) {
		_, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

func TestIntegrationGarbageCollector(t *testing.T) {
	s := lcStartWith(t, "garbage-collector-controller")
	ctx := t.Context()
	capstantesting.CreateDefaultServiceAccount(t, s.Client, "default")
	cms := s.Client.CoreV1().ConfigMaps("default")
	background := metav1.DeletePropagationBackground
	foreground := metav1.DeletePropagationForeground
	orphan := metav1.DeletePropagationOrphan

	t.Run("background deletion removes the dependents of a deleted owner", func(t *testing.T) {
		owner := lcConfigMap(t, s.Client, "default", "bg-owner", nil)
		lcConfigMap(t, s.Client, "default", "bg-dep-1", nil, ownedBy(owner, "ConfigMap", "v1", false))
		lcConfigMap(t, s.Client, "default", "bg-dep-2", nil, ownedBy(owner, "ConfigMap", "v1", true))
		other := lcConfigMap(t, s.Client, "default", "bg-other-owner", nil)
		lcConfigMap(t, s.Client, "default", "bg-shared", nil, ownedBy(owner, "ConfigMap", "v1", false), ownedBy(other, "ConfigMap", "v1", false))
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
			t.Fatal(err)
		}
		lcGone(t, s.Client, "default", "bg-dep-1")
		lcGone(t, s.Client, "default", "bg-dep-2")
		lcWait(t, "the shared dependent to keep only its live owner", func() (bool, error) {
			cm, err := cms.Get(ctx, "bg-shared", metav1.GetOptions{})
			return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == other.UID, err
		})
	})

	t.Run("a pod owned by a hand-made ReplicaSet goes with it", func(t *testing.T) {
		zero := int32(0)
		rs, err := s.Client.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "hand-rs"},
			Spec: appsv1.ReplicaSetSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hand"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "hand"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		ref := ownedBy(rs, "ReplicaSet", "apps/v1", true)
		ref.Controller = &yes
		if _, err := s.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "hand-pod", Labels: map[string]string{"app": "hand"}, OwnerReferences: []metav1.OwnerReference{ref}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Client.AppsV1().ReplicaSets("default").Delete(ctx, rs.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		lcWait(t, "the pod to be collected", func() (bool, error) {
			_, err := s.Client.CoreV1().Pods("default").Get(ctx, "hand-pod", metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})

	t.Run("foreground deletion removes dependents first and waits for blocking ones", func(t *testing.T) {
		owner := lcConfigMap(t, s.Client, "default", "fg-owner", nil)
		lcConfigMap(t, s.Client, "default", "fg-blocking", []string{"example.com/hold"}, ownedBy(owner, "ConfigMap", "v1", true))
		lcConfigMap(t, s.Client, "default", "fg-free", nil, ownedBy(owner, "ConfigMap", "v1", false))
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
			t.Fatal(err)
		}
		lcGone(t, s.Client, "default", "fg-free")
		lcWait(t, "the blocking dependent to be deleting", func() (bool, error) {
			cm, err := cms.Get(ctx, "fg-blocking", metav1.GetOptions{})
			return err == nil && cm.DeletionTimestamp != nil, err
		})
		got, err := cms.Get(ctx, owner.Name, metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerDeleteDependents {
			t.Fatalf("owner while a blocking dependent remains: %v %+v, want it waiting with the foregroundDeletion finalizer", err, got.ObjectMeta)
		}
		blocking, err := cms.Get(ctx, "fg-blocking", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		blocking.Finalizers = nil
		if _, err := cms.Update(ctx, blocking, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		lcGone(t, s.Client, "default", "fg-blocking")
		lcGone(t, s.Client, "default", owner.Name)
	})

	t.Run("orphan deletion leaves dependents without the owner reference", func(t *testing.T) {
		owner := lcConfigMap(t, s.Client, "default", "or-owner", nil)
		other := lcConfigMap(t, s.Client, "default", "or-other", nil)
		lcConfigMap(t, s.Client, "default", "or-dep", nil, ownedBy(owner, "ConfigMap", "v1", true), ownedBy(other, "ConfigMap", "v1", false))
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
			t.Fatal(err)
		}
		lcGone(t, s.Client, "default", owner.Name)
		dep, err := cms.Get(ctx, "or-dep", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("orphaned dependent: %v", err)
		}
		if len(dep.OwnerReferences) != 1 || dep.OwnerReferences[0].UID != other.UID {
			t.Errorf("orphaned dependent's owners %v, want only %s", dep.OwnerReferences, other.Name)
		}
	})

	t.Run("an owner reference whose uid names no object is dangling", func(t *testing.T) {
		impostor := lcConfigMap(t, s.Client, "default", "same-name", nil)
		lcConfigMap(t, s.Client, "default", "uid-dep", nil, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "same-name", UID: "0a0a0a0a-dead-beef-0000-000000000000"})
		lcGone(t, s.Client, "default", "uid-dep")
		if _, err := cms.Get(ctx, impostor.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("the object holding the name was touched: %v", err)
		}
	})

	t.Run("an owner in another namespace is absent, and said so", func(t *testing.T) {
		if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		owner := lcConfigMap(t, s.Client, "elsewhere", "far-owner", nil)
		lcConfigMap(t, s.Client, "default", "far-dep", nil, ownedBy(owner, "ConfigMap", "v1", false))
		lcGone(t, s.Client, "default", "far-dep")
		if _, err := s.Client.CoreV1().ConfigMaps("elsewhere").Get(ctx, owner.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("the owner in the other namespace was touched: %v", err)
		}
		lcWait(t, "an OwnerRefInvalidNamespace event", func() (bool, error) {
			evs, err := s.Client.CoreV1().Events("default").List(ctx, metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("reason", "OwnerRefInvalidNamespace").String()})
			return err == nil && len(evs.Items) > 0, err
		})
	})
}
