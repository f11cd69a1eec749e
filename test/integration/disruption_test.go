package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	capstantesting "capstan/internal/testing"
)

// ndWaitBudget waits until the budget's status reads healthy/desired/expected/allowed.
func ndWaitBudget(t *testing.T, s *capstantesting.Server, name string, healthy, desired, expected, allowed int32) {
	t.Helper()
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		pdb, err := s.Client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		st := pdb.Status
		if st.ObservedGeneration != pdb.Generation || st.CurrentHealthy != healthy || st.DesiredHealthy != desired ||
			st.ExpectedPods != expected || st.DisruptionsAllowed != allowed {
			return fmt.Errorf("budget status %+v, want healthy %d desired %d expected %d allowed %d", st, healthy, desired, expected, allowed)
		}
		wantCond := metav1.ConditionFalse
		if allowed > 0 {
			wantCond = metav1.ConditionTrue
		}
		if len(st.Conditions) != 1 || st.Conditions[0].Type != "DisruptionAllowed" || st.Conditions[0].Status != wantCond {
			return fmt.Errorf("budget conditions %+v", st.Conditions)
		}
		return nil
	})
}

func TestIntegrationDisruptionBudgetEvictionAndDrain(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	ndNode(t, s, "drain-1", nil)
	ndNode(t, s, "drain-2", nil)
	web := map[string]string{"app": "web"}
	ndPod(t, s, "default", "web-1", "drain-1", "10.42.0.21", true, web)
	ndPod(t, s, "default", "loner", "drain-1", "10.42.0.22", true, map[string]string{"app": "loner"})
	minOne := intstr.FromInt32(1)
	if _, err := s.Client.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minOne, Selector: &metav1.LabelSelector{MatchLabels: web}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ndWaitBudget(t, s, "web", 1, 1, 1, 0)

	err := s.Client.PolicyV1().Evictions("default").Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}})
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Fatalf("evicting the only pod of a budget: %v, want 429", err)
	}
	if _, err := s.Client.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("the protected pod is gone: %v", err)
	}

	// A second healthy pod elsewhere makes room for one disruption: drain evicts the rest.
	ndPod(t, s, "default", "web-2", "drain-2", "10.42.1.21", true, web)
	ndWaitBudget(t, s, "web", 2, 1, 2, 1)
	stdout, stderr, err := s.Kubectl("", "drain", "drain-1", "--ignore-daemonsets", "--force", "--grace-period=0", "--timeout=60s")
	if err != nil {
		t.Fatalf("kubectl drain: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	for _, want := range []string{"node/drain-1 cordoned", "evicting pod default/web-1", "node/drain-1 drained"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("kubectl drain output lacks %q:\n%s%s", want, stdout, stderr)
		}
	}
	node, err := s.Client.CoreV1().Nodes().Get(ctx, "drain-1", metav1.GetOptions{})
	if err != nil || !node.Spec.Unschedulable {
		t.Errorf("drained node unschedulable=%v (%v)", node.Spec.Unschedulable, err)
	}
	pods, err := s.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=drain-1"})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods left on the drained node: %v (%v)", len(pods.Items), err)
	}
	ndWaitBudget(t, s, "web", 1, 1, 1, 0)
	if _, err := s.Client.CoreV1().Pods("default").Get(ctx, "web-2", metav1.GetOptions{}); err != nil {
		t.Errorf("the pod on the other node: %v", err)
	}
}
