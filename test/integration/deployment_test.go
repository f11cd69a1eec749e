package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func wlDeployment(name string, n int32) *appsv1.Deployment {
	sel := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: wlSpec("img:1")},
		},
	}
}

// wlReplicaSets lists the ReplicaSets controlled by deployment d.
func wlReplicaSets(ctx context.Context, c kubernetes.Interface, d *appsv1.Deployment) ([]appsv1.ReplicaSet, error) {
	list, err := c.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return nil, err
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	return out, nil
}

// wlDriveRollout plays the kubelet until the deployment's rollout completes: each round it
// checks invariant, then marks one not-ready pod ready.
func wlDriveRollout(t *testing.T, c kubernetes.Interface, d *appsv1.Deployment, invariant func() error) *appsv1.Deployment {
	t.Helper()
	ctx := t.Context()
	var cur *appsv1.Deployment
	wlEventually(t, "the rollout of "+d.Name+" to complete", func() error {
		if invariant != nil {
			if err := invariant(); err != nil {
				t.Fatalf("invariant broken: %v", err)
			}
		}
		ps, err := wlPods(ctx, c, d.Namespace, d.Spec.Selector.MatchLabels)
		if err != nil {
			return err
		}
		for i := range ps {
			if !isReadyPod(&ps[i]) {
				if err := wlMarkReady(ctx, c, &ps[i], time.Time{}); err != nil {
					return err
				}
				break
			}
		}
		cur, err = c.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		st, n := cur.Status, *cur.Spec.Replicas
		if cur.Generation > st.ObservedGeneration || st.UpdatedReplicas != n || st.Replicas != n || st.AvailableReplicas != n {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	return cur
}

func wlCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func TestIntegrationDeploymentRollingUpdateAndKubectlRollout(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	d, err := c.AppsV1().Deployments("default").Create(ctx, wlDeployment("web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel := d.Spec.Selector.MatchLabels
	// The defaults for 3 replicas: maxSurge 25% rounds up to 1, maxUnavailable 25% down to 0.
	surge, unavailable := int32(1), int32(0)

	pods := wlWaitPods(t, c, "default", sel, 3)
	rss, err := wlReplicaSets(ctx, c, d)
	if err != nil || len(rss) != 1 {
		t.Fatalf("replica sets %v, err %v", len(rss), err)
	}
	first := rss[0]
	hash := first.Labels["pod-template-hash"]
	if hash == "" || first.Name != "web-"+hash || first.Spec.Selector.MatchLabels["pod-template-hash"] != hash || pods[0].Labels["pod-template-hash"] != hash {
		t.Errorf("replica set %s labels %v selector %v; pod labels %v", first.Name, first.Labels, first.Spec.Selector, pods[0].Labels)
	}
	if a := first.Annotations; a["deployment.kubernetes.io/revision"] != "1" || a["deployment.kubernetes.io/desired-replicas"] != "3" || a["deployment.kubernetes.io/max-replicas"] != "4" {
		t.Errorf("replica set annotations %v", a)
	}

	t.Run("ready pods make the deployment available and rollout status succeed", func(t *testing.T) {
		cur := wlDriveRollout(t, c, d, nil)
		if cond := wlCondition(cur, appsv1.DeploymentAvailable); cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "MinimumReplicasAvailable" {
			t.Errorf("Available condition %+v", cond)
		}
		wlEventually(t, "Progressing NewReplicaSetAvailable", func() error {
			cur, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cond := wlCondition(cur, appsv1.DeploymentProgressing)
			if cond == nil || cond.Reason != "NewReplicaSetAvailable" || cond.Message != fmt.Sprintf("ReplicaSet %q has successfully progressed.", first.Name) {
				return fmt.Errorf("Progressing %+v", cond)
			}
			return nil
		})
		out, stderr, err := s.Kubectl("", "rollout", "status", "deployment/web", "--timeout=20s")
		if err != nil || !strings.Contains(out, `deployment "web" successfully rolled out`) {
			t.Errorf("rollout status: %v\n%s%s", err, out, stderr)
		}
	})

	// Within the bounds at every step: replica sets never ask for more than
	// replicas+maxSurge pods, and never fewer than replicas-maxUnavailable are ready.
	bounds := func() error {
		rss, err := wlReplicaSets(ctx, c, d)
		if err != nil {
			return err
		}
		var want int32
		for _, rs := range rss {
			want += *rs.Spec.Replicas
		}
		if want > 3+surge {
			return fmt.Errorf("replica sets want %d pods, more than %d", want, 3+surge)
		}
		ps, err := wlPods(ctx, c, "default", sel)
		if err != nil {
			return err
		}
		ready := 0
		for i := range ps {
			if isReadyPod(&ps[i]) {
				ready++
			}
		}
		if ready < int(3-unavailable) {
			return fmt.Errorf("%d ready pods, fewer than %d", ready, 3-unavailable)
		}
		return nil
	}

	t.Run("a new image rolls to a new replica set within maxSurge and maxUnavailable", func(t *testing.T) {
		if _, stderr, err := s.Kubectl("", "set", "image", "deployment/web", "c=img:2"); err != nil {
			t.Fatalf("set image: %v %s", err, stderr)
		}
		cur := wlDriveRollout(t, c, d, bounds)
		rss, _ := wlReplicaSets(ctx, c, d)
		if len(rss) != 2 {
			t.Fatalf("%d replica sets, want 2", len(rss))
		}
		for _, rs := range rss {
			switch rs.Spec.Template.Spec.Containers[0].Image {
			case "img:2":
				if *rs.Spec.Replicas != 3 || rs.Annotations["deployment.kubernetes.io/revision"] != "2" {
					t.Errorf("new replica set %s: %d replicas, annotations %v", rs.Name, *rs.Spec.Replicas, rs.Annotations)
				}
			default:
				if *rs.Spec.Replicas != 0 {
					t.Errorf("old replica set %s keeps %d replicas", rs.Name, *rs.Spec.Replicas)
				}
			}
		}
		if cur.Status.UnavailableReplicas != 0 || cur.Status.ReadyReplicas != 3 {
			t.Errorf("status %+v", cur.Status)
		}
		out, _, err := s.Kubectl("", "rollout", "status", "deployment/web", "--timeout=20s")
		if err != nil || !strings.Contains(out, "successfully rolled out") {
			t.Errorf("rollout status: %v %s", err, out)
		}
	})

	t.Run("rollout history lists both revisions and undo goes back to the first template", func(t *testing.T) {
		out, stderr, err := s.Kubectl("", "rollout", "history", "deployment/web")
		if err != nil {
			t.Fatalf("history: %v %s", err, stderr)
		}
		if !strings.Contains(out, "REVISION") || !strings.Contains(out, "1 ") || !strings.Contains(out, "2 ") {
			t.Errorf("history:\n%s", out)
		}
		out, stderr, err = s.Kubectl("", "rollout", "history", "deployment/web", "--revision=1")
		if err != nil || !strings.Contains(out, "img:1") {
			t.Errorf("history --revision=1: %v %s\n%s", err, stderr, out)
		}
		if out, stderr, err := s.Kubectl("", "rollout", "undo", "deployment/web"); err != nil || !strings.Contains(out, "rolled back") {
			t.Fatalf("undo: %v %s %s", err, out, stderr)
		}
		cur := wlDriveRollout(t, c, d, bounds)
		if img := cur.Spec.Template.Spec.Containers[0].Image; img != "img:1" {
			t.Errorf("image after undo %s", img)
		}
		back, err := c.AppsV1().ReplicaSets("default").Get(ctx, first.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a := back.Annotations; a["deployment.kubernetes.io/revision"] != "3" || a["deployment.kubernetes.io/revision-history"] != "1" || *back.Spec.Replicas != 3 {
			t.Errorf("the first replica set after undo: %d replicas, annotations %v", *back.Spec.Replicas, a)
		}
		if rss, _ := wlReplicaSets(ctx, c, d); len(rss) != 2 {
			t.Errorf("%d replica sets after undo, want 2 (undo reuses the old one)", len(rss))
		}
	})

	t.Run("rollout restart makes a new replica set", func(t *testing.T) {
		if _, stderr, err := s.Kubectl("", "rollout", "restart", "deployment/web"); err != nil {
			t.Fatalf("restart: %v %s", err, stderr)
		}
		wlDriveRollout(t, c, d, bounds)
		rss, _ := wlReplicaSets(ctx, c, d)
		restarted := 0
		for _, rs := range rss {
			if rs.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != "" && *rs.Spec.Replicas == 3 {
				restarted++
			}
		}
		if restarted != 1 || len(rss) != 3 {
			t.Errorf("%d replica sets, %d restarted ones with the replicas", len(rss), restarted)
		}
	})

	t.Run("a paused deployment does not roll out until resumed", func(t *testing.T) {
		if _, stderr, err := s.Kubectl("", "rollout", "pause", "deployment/web"); err != nil {
			t.Fatalf("pause: %v %s", err, stderr)
		}
		wlEventually(t, "Progressing DeploymentPaused", func() error {
			cur, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cond := wlCondition(cur, appsv1.DeploymentProgressing); cond == nil || cond.Status != corev1.ConditionUnknown || cond.Reason != "DeploymentPaused" {
				return fmt.Errorf("Progressing %+v", cond)
			}
			return nil
		})
		if _, stderr, err := s.Kubectl("", "set", "image", "deployment/web", "c=img:3"); err != nil {
			t.Fatalf("set image: %v %s", err, stderr)
		}
		wlEventually(t, "the paused spec observed", func() error {
			cur, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.Status.ObservedGeneration != cur.Generation {
				return fmt.Errorf("generation %d observed %d", cur.Generation, cur.Status.ObservedGeneration)
			}
			return nil
		})
		rss, _ := wlReplicaSets(ctx, c, d)
		for _, rs := range rss {
			if rs.Spec.Template.Spec.Containers[0].Image == "img:3" {
				t.Fatalf("paused deployment created %s", rs.Name)
			}
		}
		if _, _, err := s.Kubectl("", "rollout", "undo", "deployment/web"); err == nil {
			t.Error("undo of a paused deployment succeeded")
		}
		if _, stderr, err := s.Kubectl("", "rollout", "resume", "deployment/web"); err != nil {
			t.Fatalf("resume: %v %s", err, stderr)
		}
		cur := wlDriveRollout(t, c, d, bounds)
		if img := cur.Spec.Template.Spec.Containers[0].Image; img != "img:3" {
			t.Errorf("image %s", img)
		}
	})

	t.Run("scaling changes the pods and a deleted pod is replaced", func(t *testing.T) {
		if _, stderr, err := s.Kubectl("", "scale", "deployment/web", "--replicas=5"); err != nil {
			t.Fatalf("scale: %v %s", err, stderr)
		}
		ps := wlWaitPods(t, c, "default", sel, 5)
		if err := c.CoreV1().Pods("default").Delete(ctx, ps[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "a replacement pod", func() error {
			now, err := wlPods(ctx, c, "default", sel)
			if err != nil {
				return err
			}
			for _, p := range now {
				if p.Name == ps[0].Name {
					return fmt.Errorf("still there")
				}
			}
			if len(now) != 5 {
				return fmt.Errorf("%d pods", len(now))
			}
			return nil
		})
		if _, _, err := s.Kubectl("", "scale", "deployment/web", "--replicas=2"); err != nil {
			t.Fatal(err)
		}
		wlWaitPods(t, c, "default", sel, 2)
	})
}

func TestIntegrationDeploymentStrategiesAndConditions(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client

	t.Run("Recreate removes every old pod before creating new ones", func(t *testing.T) {
		d := wlDeployment("recreate", 2)
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wlWaitPods(t, c, "default", d.Spec.Selector.MatchLabels, 2)
		wlDriveRollout(t, c, d, nil)
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"img:2"}]}}}}`)
		if _, err := c.AppsV1().Deployments("default").Patch(ctx, d.Name, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		wlDriveRollout(t, c, d, func() error {
			ps, err := wlPods(ctx, c, "default", d.Spec.Selector.MatchLabels)
			if err != nil {
				return err
			}
			images := map[string]bool{}
			for _, p := range ps {
				images[p.Spec.Containers[0].Image] = true
			}
			if len(images) > 1 {
				return fmt.Errorf("old and new pods together: %v", images)
			}
			return nil
		})
	})

	t.Run("a rollout that makes no progress exceeds its deadline", func(t *testing.T) {
		d := wlDeployment("stuck", 1)
		d.Spec.ProgressDeadlineSeconds = ptr.To[int32](1)
		d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "ProgressDeadlineExceeded", func() error {
			cur, err := c.AppsV1().Deployments("default").Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cond := wlCondition(cur, appsv1.DeploymentProgressing)
			if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != "ProgressDeadlineExceeded" || !strings.Contains(cond.Message, "has timed out progressing") {
				return fmt.Errorf("Progressing %+v", cond)
			}
			if avail := wlCondition(cur, appsv1.DeploymentAvailable); avail == nil || avail.Status != corev1.ConditionFalse || avail.Reason != "MinimumReplicasUnavailable" {
				return fmt.Errorf("Available %+v", avail)
			}
			return nil
		})
		_, stderr, err := s.Kubectl("", "rollout", "status", "deployment/stuck", "--timeout=10s")
		if err == nil || !strings.Contains(stderr, "exceeded its progress deadline") {
			t.Errorf("rollout status: %v %s", err, stderr)
		}
	})

	t.Run("old replica sets beyond revisionHistoryLimit are deleted", func(t *testing.T) {
		d := wlDeployment("history", 1)
		d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
		d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wlDriveRollout(t, c, d, nil)
		for _, img := range []string{"img:2", "img:3", "img:4"} {
			patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, img))
			if _, err := c.AppsV1().Deployments("default").Patch(ctx, d.Name, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			wlDriveRollout(t, c, d, nil)
		}
		wlEventually(t, "two replica sets left", func() error {
			rss, err := wlReplicaSets(ctx, c, d)
			if err != nil {
				return err
			}
			if len(rss) != 2 {
				return fmt.Errorf("%d replica sets", len(rss))
			}
			for _, rs := range rss {
				if rev := rs.Annotations["deployment.kubernetes.io/revision"]; rev != "3" && rev != "4" {
					return fmt.Errorf("kept revision %s", rev)
				}
			}
			return nil
		})
	})

	t.Run("refused pod creations surface as ReplicaFailure until they succeed", func(t *testing.T) {
		d := wlDeployment("refused", 2)
		d.Spec.Template.Spec.PriorityClassName = "not-yet"
		d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "ReplicaFailure on the deployment", func() error {
			cur, err := c.AppsV1().Deployments("default").Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cond := wlCondition(cur, appsv1.DeploymentReplicaFailure)
			if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "FailedCreate" || !strings.Contains(cond.Message, "no PriorityClass with name not-yet was found") {
				return fmt.Errorf("ReplicaFailure %+v", cond)
			}
			return nil
		})
		rss, err := wlReplicaSets(ctx, c, d)
		if err != nil || len(rss) != 1 {
			t.Fatalf("replica sets %d, err %v", len(rss), err)
		}
		evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + rss[0].Name + ",reason=FailedCreate"})
		if err != nil || len(evs.Items) == 0 || !strings.HasPrefix(evs.Items[0].Message, "Error creating: ") {
			t.Errorf("FailedCreate events %v, err %v", evs, err)
		}
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "not-yet"}, Value: 10}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cur := wlDriveRollout(t, c, d, nil)
		wlEventually(t, "ReplicaFailure cleared", func() error {
			cur, err = c.AppsV1().Deployments("default").Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cond := wlCondition(cur, appsv1.DeploymentReplicaFailure); cond != nil {
				return fmt.Errorf("ReplicaFailure %+v", cond)
			}
			return nil
		})
	})

	t.Run("scaling in the middle of a rollout scales both replica sets proportionally", func(t *testing.T) {
		d := wlDeployment("prop", 10)
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{
			MaxSurge: ptr.To(intstr.FromInt32(3)), MaxUnavailable: ptr.To(intstr.FromInt32(2)),
		}
		d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wlDriveRollout(t, c, d, nil)
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"img:2"}]}}}}`)
		if _, err := c.AppsV1().Deployments("default").Patch(ctx, d.Name, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		// Without new pods ready the rollout stops at old 8 (10-2 unavailable) + new 5
		// (13 in all).
		sizes := func(wantOld, wantNew int32) func() error {
			return func() error {
				rss, err := wlReplicaSets(ctx, c, d)
				if err != nil {
					return err
				}
				var old, new int32
				for _, rs := range rss {
					if rs.Spec.Template.Spec.Containers[0].Image == "img:2" {
						new = *rs.Spec.Replicas
					} else {
						old = *rs.Spec.Replicas
					}
				}
				if old != wantOld || new != wantNew {
					return fmt.Errorf("old %d new %d", old, new)
				}
				return nil
			}
		}
		wlEventually(t, "the rollout stuck at old 8 new 5", sizes(8, 5))
		if _, err := c.AppsV1().Deployments("default").Patch(ctx, d.Name, "application/merge-patch+json", []byte(`{"spec":{"replicas":20}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		// 20+3 = 23 pods allowed, 10 more, shared 8:5 → old 8+6=14, new 5+4=9.
		wlEventually(t, "proportional sizes old 14 new 9", sizes(14, 9))
	})
}
