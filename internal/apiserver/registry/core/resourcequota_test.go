package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testQuota(mutate ...func(*corev1.ResourceQuota)) *corev1.ResourceQuota {
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "compute", Namespace: "team", CreationTimestamp: testCreated},
		Spec:       corev1.ResourceQuotaSpec{Hard: resList("requests.cpu", "4", "limits.memory", "8Gi", "pods", "20")},
	}
	for _, m := range mutate {
		m(rq)
	}
	return rq
}

func TestResourceQuotaValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.ResourceQuota)
		want   []string
	}{
		{"standard and qualified resources are valid", func(q *corev1.ResourceQuota) {
			q.Spec.Hard["count/deployments.apps"] = resList("x", "3")["x"]
			q.Spec.Hard["requests.example.com/gpu"] = resList("x", "2")["x"]
		}, nil},
		{"an unknown unqualified resource is invalid", func(q *corev1.ResourceQuota) { q.Spec.Hard["gpus"] = resList("x", "1")["x"] },
			// Upstream reports both the general and the quota-specific name rule.
			[]string{"Invalid value spec.hard[gpus]", "Invalid value spec.hard[gpus]"}},
		{"storage itself is not a quota resource", func(q *corev1.ResourceQuota) { q.Spec.Hard["storage"] = resList("x", "1Gi")["x"] },
			[]string{"Invalid value spec.hard[storage]"}},
		{"a hard limit may not be negative", func(q *corev1.ResourceQuota) { q.Spec.Hard["requests.cpu"] = resList("x", "-1")["x"] },
			[]string{"Invalid value spec.hard[requests.cpu]"}},
		{"an object count must be whole", func(q *corev1.ResourceQuota) { q.Spec.Hard["pods"] = resList("x", "1500m")["x"] },
			[]string{"Invalid value spec.hard[pods]"}},
		{"a scope must be known", func(q *corev1.ResourceQuota) { q.Spec.Scopes = []corev1.ResourceQuotaScope{"Weekend"} },
			[]string{"Invalid value spec.scopes"}},
		{"BestEffort applies only to pods", func(q *corev1.ResourceQuota) {
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		}, []string{"Invalid value spec.scopes", "Invalid value spec.scopes"}},
		{"Terminating and NotTerminating conflict", func(q *corev1.ResourceQuota) {
			q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}
		}, []string{"Invalid value spec.scopes"}},
		{"a priority class selector needs values for In", func(q *corev1.ResourceQuota) {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn},
			}}
		}, []string{"Required value spec.scopeSelector.matchExpressions.values"}},
		{"a best-effort selector must use Exists", func(q *corev1.ResourceQuota) {
			q.Spec.Hard = resList("pods", "1")
			q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpIn, Values: []string{"x"}},
			}}
		}, []string{"Invalid value spec.scopeSelector.matchExpressions.operator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, resourceQuotaStrategy{}, testQuota(tt.mutate)), tt.want...)
		})
	}
}

func TestResourceQuotaUpdateAndStatus(t *testing.T) {
	t.Parallel()
	t.Run("hard limits may change but scopes may not", func(t *testing.T) {
		t.Parallel()
		old := testQuota(func(q *corev1.ResourceQuota) { q.Spec.Hard = resList("pods", "5") })
		q := old.DeepCopy()
		q.Spec.Hard["pods"] = resList("x", "10")["x"]
		expectErrs(t, updateErrs(t, resourceQuotaStrategy{}, q, old))
		q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}
		expectErrs(t, updateErrs(t, resourceQuotaStrategy{}, q, old), "Invalid value spec.scopes")
	})
	t.Run("creating clears status and a spec update keeps the stored one", func(t *testing.T) {
		t.Parallel()
		q := testQuota(func(q *corev1.ResourceQuota) { q.Status.Used = resList("pods", "3") })
		createErrs(t, resourceQuotaStrategy{}, q)
		if q.Status.Used != nil {
			t.Errorf("status = %+v", q.Status)
		}
		old := q.DeepCopy()
		old.Status.Used = resList("pods", "3")
		updateErrs(t, resourceQuotaStrategy{}, q, old)
		if got := q.Status.Used["pods"]; got.String() != "3" {
			t.Errorf("used pods = %s", got.String())
		}
	})
	t.Run("a status update keeps the spec and checks used amounts", func(t *testing.T) {
		t.Parallel()
		old := testQuota()
		q := old.DeepCopy()
		q.Spec.Hard = nil
		q.Status.Hard = old.Spec.Hard.DeepCopy()
		q.Status.Used = resList("pods", "-1")
		expectErrs(t, statusUpdateErrs(t, resourceQuotaStrategy{}, q, old), "Invalid value status.used[pods]")
		if len(q.Spec.Hard) != 3 {
			t.Errorf("spec = %+v", q.Spec)
		}
	})
}

func TestResourceQuotaTableSplitsRequestsAndLimits(t *testing.T) {
	t.Parallel()
	table := resourceQuotasResource().Table
	if got := columnNames(table); !slices.Equal(got, []string{"Name", "Request", "Limit", "Age"}) {
		t.Fatalf("columns = %v", got)
	}
	q := testQuota()
	q.Status.Hard = q.Spec.Hard.DeepCopy()
	q.Status.Used = resList("requests.cpu", "500m", "pods", "2")
	expectRow(t, table, q, testNow, "compute", "pods: 2/20, requests.cpu: 500m/4", "limits.memory: 0/8Gi", "90m")
	expectRow(t, table, testQuota(), testNow, "compute", "", "", "90m")
}
