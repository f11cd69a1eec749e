package integration

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// TestIntegrationReplicaSet drives one ReplicaSet through creation, readiness, pod loss,
// adoption, release and scaling.
func TestIntegrationReplicaSet(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	sel := map[string]string{"app": "rs-web"}
	rs, err := c.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs-web"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: wlSpec("img:1")},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := wlWaitPods(t, c, "default", sel, 3)
	for _, p := range got {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s controller %+v, want the ReplicaSet with blockOwnerDeletion", p.Name, ref)
		}
		if p.GenerateName != "rs-web-" {
			t.Errorf("pod %s generateName %q", p.Name, p.GenerateName)
		}
	}
	rsStatus := func(want appsv1.ReplicaSetStatus) func() error {
		return func() error {
			cur, err := c.AppsV1().ReplicaSets("default").Get(ctx, "rs-web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			st := cur.Status
			if st.Replicas != want.Replicas || st.ReadyReplicas != want.ReadyReplicas || st.AvailableReplicas != want.AvailableReplicas ||
				st.FullyLabeledReplicas != want.FullyLabeledReplicas || st.ObservedGeneration != cur.Generation {
				return fmt.Errorf("status %+v", st)
			}
			return nil
		}
	}
	wlEventually(t, "3 replicas, none ready", rsStatus(appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3}))
	wlMarkAllReady(t, c, got)
	wlEventually(t, "3 ready and available replicas", rsStatus(appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}))

	t.Run("events record the creations", func(t *testing.T) {
		wlEventually(t, "SuccessfulCreate events", func() error {
			evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=rs-web,reason=SuccessfulCreate"})
			if err != nil {
				return err
			}
			if len(evs.Items) == 0 {
				return fmt.Errorf("none")
			}
			if src := evs.Items[0].Source.Component; src != "replicaset-controller" {
				return fmt.Errorf("source %q", src)
			}
			return nil
		})
	})

	t.Run("a deleted pod is replaced", func(t *testing.T) {
		if err := c.CoreV1().Pods("default").Delete(ctx, got[0].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "a replacement", func() error {
			ps, err := wlPods(ctx, c, "default", sel)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if p.Name == got[0].Name {
					return fmt.Errorf("%s still there", p.Name)
				}
			}
			if len(ps) != 3 {
				return fmt.Errorf("%d pods", len(ps))
			}
			return nil
		})
	})

	t.Run("a pod whose labels change is released and replaced", func(t *testing.T) {
		ps := wlWaitPods(t, c, "default", sel, 3)
		patch := `{"metadata":{"labels":{"app":"elsewhere"}}}`
		if _, err := c.CoreV1().Pods("default").Patch(ctx, ps[1].Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "the release", func() error {
			p, err := c.CoreV1().Pods("default").Get(ctx, ps[1].Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.OwnerReferences) != 0 {
				return fmt.Errorf("still owned: %v", p.OwnerReferences)
			}
			return nil
		})
		wlWaitPods(t, c, "default", sel, 3)
	})

	t.Run("an orphan with matching labels is adopted and the surplus deleted", func(t *testing.T) {
		ps := wlWaitPods(t, c, "default", sel, 3)
		wlMarkAllReady(t, c, ps)
		orphan, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "rs-orphan", Labels: sel},
			Spec:       wlSpec("img:1"),
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The orphan is adopted, and being the only pod not ready it is the one deleted.
		wlEventually(t, "the orphan adopted then deleted", func() error {
			// An unscheduled pod goes at once: the event tells who deleted it.
			evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=rs-web,reason=SuccessfulDelete"})
			if err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Message == "Deleted pod: "+orphan.Name {
					return nil
				}
			}
			return fmt.Errorf("no SuccessfulDelete event for %s", orphan.Name)
		})
		wlWaitPods(t, c, "default", sel, 3)
	})

	t.Run("scaling down deletes not-ready pods first", func(t *testing.T) {
		ps := wlWaitPods(t, c, "default", sel, 3)
		wlMarkAllReady(t, c, ps[:1])
		if _, err := c.AppsV1().ReplicaSets("default").Patch(ctx, "rs-web", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		left := wlWaitPods(t, c, "default", sel, 1)
		if !isReadyPod(&left[0]) {
			t.Errorf("kept %s, which is not ready", left[0].Name)
		}
		wlEventually(t, "status of one replica", rsStatus(appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}))
	})
}

// TestIntegrationReplicaSetMinReadySeconds: ready pods count as available only after
// minReadySeconds, with no further event to wake the controller.
func TestIntegrationReplicaSetMinReadySeconds(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	sel := map[string]string{"app": "rs-slow"}
	_, err := c.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs-slow"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2), MinReadySeconds: 2,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: wlSpec("img:1")},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wlMarkAllReady(t, c, wlWaitPods(t, c, "default", sel, 2))
	readyAt := time.Now()
	var st appsv1.ReplicaSetStatus
	wlEventually(t, "2 ready replicas", func() error {
		cur, err := c.AppsV1().ReplicaSets("default").Get(ctx, "rs-slow", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st = cur.Status; st.ReadyReplicas != 2 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if st.AvailableReplicas != 0 && time.Since(readyAt) < 2*time.Second {
		t.Errorf("%d available within minReadySeconds", st.AvailableReplicas)
	}
	wlEventually(t, "2 available replicas after minReadySeconds", func() error {
		cur, err := c.AppsV1().ReplicaSets("default").Get(ctx, "rs-slow", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Status.AvailableReplicas != 2 {
			return fmt.Errorf("status %+v", cur.Status)
		}
		return nil
	})
}

func isReadyPod(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestIntegrationReplicationController runs an RC through the same logic.
func TestIntegrationReplicationController(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	sel := map[string]string{"app": "rc-web"}
	rc, err := c.CoreV1().ReplicationControllers("default").Create(ctx, &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc-web"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](2), Selector: sel,
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: wlSpec("img:1")},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := wlWaitPods(t, c, "default", sel, 2)
	if ref := metav1.GetControllerOf(&ps[0]); ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != rc.UID {
		t.Errorf("controller %+v", ref)
	}
	wlMarkAllReady(t, c, ps)
	wlEventually(t, "RC status", func() error {
		cur, err := c.CoreV1().ReplicationControllers("default").Get(ctx, "rc-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st := cur.Status; st.Replicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 2 || st.FullyLabeledReplicas != 2 || st.ObservedGeneration != cur.Generation {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if _, _, err := s.Kubectl("", "scale", "rc/rc-web", "--replicas=4"); err != nil {
		t.Fatal(err)
	}
	wlWaitPods(t, c, "default", sel, 4)
}
