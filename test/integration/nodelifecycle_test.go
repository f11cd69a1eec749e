package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"capstan/internal/controllermanager"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// ndLease creates or renews a node's heartbeat Lease.
func ndLease(ctx context.Context, s *capstantesting.Server, node string) error {
	leases := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func ndHasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

func TestIntegrationNodeLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.ControllerSettings = func(cs *controllermanager.Settings) {
			cs.NodeMonitorGracePeriod = 2 * time.Second
			cs.NodeMonitorPeriod = 100 * time.Millisecond
		}
	})
	ctx := t.Context()
	ndNode(t, s, "alive", nil)
	ndNode(t, s, "dead", nil)
	for _, n := range []string{"alive", "dead"} {
		if err := ndLease(ctx, s, n); err != nil {
			t.Fatal(err)
		}
	}
	// The live node's kubelet keeps renewing its lease.
	renewCtx, stopRenewing := context.WithCancel(ctx)
	defer stopRenewing()
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-tick.C:
				_ = ndLease(renewCtx, s, "alive")
			}
		}
	}()
	quick := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](1)}
	ndPod(t, s, "default", "quick", "dead", "10.42.1.5", true, nil, func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{quick} })
	ndPod(t, s, "default", "patient", "dead", "10.42.1.6", true, nil)
	ndPod(t, s, "default", "fine", "alive", "10.42.0.5", true, nil)

	ndEventually(t, 15*time.Second, func(ctx context.Context) error {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "dead", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var ready *corev1.NodeCondition
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				ready = &n.Status.Conditions[i]
			}
		}
		if ready == nil || ready.Status != corev1.ConditionUnknown || ready.Reason != "NodeStatusUnknown" || ready.Message != "Kubelet stopped posting node status." {
			return fmt.Errorf("dead node's Ready condition: %+v", ready)
		}
		if !ndHasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) || !ndHasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) {
			return fmt.Errorf("dead node's taints: %v", n.Spec.Taints)
		}
		return nil
	})
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		pod, err := s.Client.CoreV1().Pods("default").Get(ctx, "quick", metav1.GetOptions{})
		if err == nil && pod.DeletionTimestamp == nil {
			return fmt.Errorf("pod tolerating the taint for 1s is not being deleted")
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		evs, err := s.Client.CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("reason", "TaintManagerEviction").String()})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "quick" && e.Message == "Marking for deletion Pod default/quick" {
				return nil
			}
		}
		return fmt.Errorf("no TaintManagerEviction event for the evicted pod (have %d)", len(evs.Items))
	})
	for _, name := range []string{"patient", "fine"} {
		pod, err := s.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || pod.DeletionTimestamp != nil {
			t.Errorf("pod %s: %v, deletionTimestamp %v; want it kept", name, err, pod.GetDeletionTimestamp())
		}
	}
	patient, _ := s.Client.CoreV1().Pods("default").Get(ctx, "patient", metav1.GetOptions{})
	for _, c := range patient.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionFalse {
			t.Errorf("pod on the dead node is still Ready")
		}
	}
	if n, _ := s.Client.CoreV1().Nodes().Get(ctx, "alive", metav1.GetOptions{}); len(n.Spec.Taints) != 0 {
		t.Errorf("live node got taints %v", n.Spec.Taints)
	}

	// The dead node's kubelet comes back: the taints go.
	n, err := s.Client.CoreV1().Nodes().Get(ctx, "dead", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ndLease(ctx, s, "dead"); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "dead", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(n.Spec.Taints) != 0 {
			return fmt.Errorf("recovered node keeps taints %v", n.Spec.Taints)
		}
		return nil
	})
}
