package policy

import (
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func pdb(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
}

func intOrStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

func TestPDBIdentity(t *testing.T) {
	t.Parallel()
	r := findResource(t, "poddisruptionbudgets")
	if r.GVK.String() != "policy/v1, Kind=PodDisruptionBudget" || !r.Namespaced || !r.Status || r.ShortNames[0] != "pdb" {
		t.Errorf("identity: %+v", r)
	}
}

func TestPDBValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "poddisruptionbudgets").Strategy
	cases := []struct {
		name string
		pdb  *policyv1.PodDisruptionBudget
		want []wantErr
	}{
		{name: "a number of available pods is valid", pdb: pdb(intOrStr("2"), nil)},
		{name: "a percentage of unavailable pods is valid", pdb: pdb(nil, intOrStr("25%"))},
		{name: "a budget with no bound is valid", pdb: pdb(nil, nil)},
		{name: "minAvailable and maxUnavailable are exclusive", pdb: pdb(intOrStr("1"), intOrStr("1")),
			want: []wantErr{{"spec", field.ErrorTypeInvalid}}},
		{name: "a negative number is rejected", pdb: pdb(intOrStr("-1"), nil),
			want: []wantErr{{"spec.minAvailable", field.ErrorTypeInvalid}}},
		{name: "a percentage over 100 is rejected", pdb: pdb(nil, intOrStr("101%")),
			want: []wantErr{{"spec.maxUnavailable", field.ErrorTypeInvalid}}},
		{name: "a string that is no percentage is rejected", pdb: pdb(intOrStr("half"), nil),
			want: []wantErr{{"spec.minAvailable", field.ErrorTypeInvalid}}},
		{name: "the selector must be valid", pdb: func() *policyv1.PodDisruptionBudget {
			p := pdb(intOrStr("1"), nil)
			p.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}}
			return p
		}(), want: []wantErr{{"spec.selector.matchExpressions[0].values", field.ErrorTypeRequired}}},
		{name: "an unknown unhealthy pod eviction policy is not supported", pdb: func() *policyv1.PodDisruptionBudget {
			p := pdb(intOrStr("1"), nil)
			p.Spec.UnhealthyPodEvictionPolicy = ptr.To(policyv1.UnhealthyPodEvictionPolicyType("Sometimes"))
			return p
		}(), want: []wantErr{{"spec.unhealthyPodEvictionPolicy", field.ErrorTypeNotSupported}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkErrs(t, s.Validate(t.Context(), c.pdb), c.want...)
			checkErrs(t, s.ValidateUpdate(t.Context(), c.pdb, pdb(nil, nil)), c.want...)
		})
	}
	t.Run("a stored invalid selector label value stays updatable", func(t *testing.T) {
		t.Parallel()
		old := pdb(intOrStr("1"), nil)
		old.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"not valid"}}}
		checkErrs(t, s.Validate(t.Context(), old), wantErr{"spec.selector.matchExpressions[0].values[0]", field.ErrorTypeInvalid})
		checkErrs(t, s.ValidateUpdate(t.Context(), old.DeepCopy(), old))
	})
}

func TestPDBStatus(t *testing.T) {
	t.Parallel()
	s := findResource(t, "poddisruptionbudgets").Strategy
	t.Run("create drops the status", func(t *testing.T) {
		t.Parallel()
		p := pdb(intOrStr("1"), nil)
		p.Status.DisruptionsAllowed = 3
		s.PrepareForCreate(t.Context(), p)
		if p.Status.DisruptionsAllowed != 0 {
			t.Errorf("status = %+v", p.Status)
		}
	})
	t.Run("a spec update keeps the stored status", func(t *testing.T) {
		t.Parallel()
		old := pdb(intOrStr("1"), nil)
		old.Status.ExpectedPods = 4
		p := pdb(intOrStr("2"), nil)
		s.PrepareForUpdate(t.Context(), p, old)
		if p.Status.ExpectedPods != 4 || p.Spec.MinAvailable.IntValue() != 2 {
			t.Errorf("pdb = %+v", p)
		}
	})
	t.Run("a status update keeps the stored spec", func(t *testing.T) {
		t.Parallel()
		old := pdb(intOrStr("1"), nil)
		p := pdb(intOrStr("5"), nil)
		p.Status.CurrentHealthy = 2
		s.PrepareForStatusUpdate(t.Context(), p, old)
		if p.Spec.MinAvailable.IntValue() != 1 || p.Status.CurrentHealthy != 2 {
			t.Errorf("pdb = %+v", p)
		}
	})
	t.Run("status counters may not be negative", func(t *testing.T) {
		t.Parallel()
		p := pdb(intOrStr("1"), nil)
		p.Status.DisruptionsAllowed = -1
		p.Status.ExpectedPods = -2
		p.Status.Conditions = []metav1.Condition{{Type: "DisruptionAllowed", Status: "Maybe", Reason: "x"}}
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), p, pdb(nil, nil)),
			wantErr{"status.disruptionsAllowed", field.ErrorTypeInvalid},
			wantErr{"status.expectedPods", field.ErrorTypeInvalid},
			wantErr{"status.conditions[0].status", field.ErrorTypeNotSupported},
			wantErr{"status.conditions[0].lastTransitionTime", field.ErrorTypeRequired})
	})
}

func TestPDBTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "poddisruptionbudgets")
	var names []string
	for _, col := range r.Table.Columns {
		names = append(names, col.Name)
	}
	if got := strings.Join(names, ","); got != "Name,Min Available,Max Unavailable,Allowed Disruptions,Age" {
		t.Errorf("columns = %s", got)
	}
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	p := pdb(nil, intOrStr("25%"))
	p.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Second))
	p.Status.DisruptionsAllowed = 1
	checkRow(t, r.Table.Row(p, now), []any{"web", "N/A", "25%", int64(1), "5s"})
	p.Spec = policyv1.PodDisruptionBudgetSpec{MinAvailable: intOrStr("2")}
	checkRow(t, r.Table.Row(p, now), []any{"web", "2", "N/A", int64(1), "5s"})
}
