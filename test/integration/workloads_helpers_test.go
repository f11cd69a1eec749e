package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Helpers of the workload controller tests (ReplicaSet, ReplicationController,
// Deployment). There is no kubelet: the tests play its part through pods/status.

// wlEventually polls cond every 20 ms until it returns nil or 60 s pass (generous: CI
// machines are often loaded).
func wlEventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wlPods lists the active (not deleting) pods of ns matching sel.
func wlPods(ctx context.Context, c kubernetes.Interface, ns string, sel map[string]string) ([]corev1.Pod, error) {
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// wlWaitPods waits until ns has n active pods matching sel and returns them.
func wlWaitPods(t *testing.T, c kubernetes.Interface, ns string, sel map[string]string, n int) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	wlEventually(t, fmt.Sprintf("%d pods %v", n, sel), func() error {
		var err error
		got, err = wlPods(t.Context(), c, ns, sel)
		if err != nil {
			return err
		}
		if len(got) != n {
			return fmt.Errorf("%d pods", len(got))
		}
		return nil
	})
	return got
}

// wlMarkReady makes a pod Running and Ready, as a kubelet would, the ready condition
// dated at (zero: now).
func wlMarkReady(ctx context.Context, c kubernetes.Interface, p *corev1.Pod, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	fresh, err := c.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	fresh.Status.Phase = corev1.PodRunning
	fresh.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)},
	}
	_, err = c.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	return err
}

// wlMarkAllReady marks every pod of ps Running and Ready.
func wlMarkAllReady(t *testing.T, c kubernetes.Interface, ps []corev1.Pod) {
	t.Helper()
	for i := range ps {
		if err := wlMarkReady(t.Context(), c, &ps[i], time.Time{}); err != nil {
			t.Fatalf("marking %s ready: %v", ps[i].Name, err)
		}
	}
}

// wlSpec is a pod spec running image. It names its service account: the API server's
// ServiceAccount admission fills serviceAccountName without its deprecated alias
// serviceAccount, so any later patch of a pod that left it empty is refused as a spec
// change (an API server bug, reported); the controllers' adopt and release patches would
// trip on it.
func wlSpec(image string) corev1.PodSpec {
	return corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "c", Image: image}}}
}
