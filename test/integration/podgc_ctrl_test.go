package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	"capstan/internal/controller/podgc"
)

func TestIntegrationPodGCRemovesOrphanedAndExcessTerminatedPods(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	// A collector of our own, with a short period and quarantine and a threshold of 2.
	f := informers.NewSharedInformerFactory(s.Client, 0)
	gc := podgc.New(podgc.Options{Client: s.Client, Informers: f, Threshold: 2, Period: 50 * time.Millisecond, Quarantine: 200 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	f.Start(runCtx.Done())
	go func() { _ = gc.Run(runCtx) }()

	if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "alive"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, node string, phase corev1.PodPhase) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "img"}}}}
		p, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if phase != "" {
			p.Status.Phase = phase
			if _, err := s.Client.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("orphan", "ghost", "")
	mk("kept", "alive", "")
	mk("done-a", "alive", corev1.PodSucceeded)
	mk("done-b", "alive", corev1.PodSucceeded)
	mk("done-c", "alive", corev1.PodFailed)

	lcWait(t, "the orphaned pod to be force-deleted", func() (bool, error) {
		_, err := s.Client.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	lcWait(t, "terminated pods to shrink to the threshold", func() (bool, error) {
		list, err := s.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		done := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				done++
			}
		}
		return done == 2, nil
	})
	if _, err := s.Client.CoreV1().Pods("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("a running pod on a live node was collected: %v", err)
	}
}
